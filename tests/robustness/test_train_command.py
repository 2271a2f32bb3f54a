"""``svt-train``'s own options: numbers out of range are usage errors (one line, exit 2), a run folder
holding another run is not overwritten unless asked (``--overwrite``), and no path or value it echoes
reaches the terminal as raw control characters."""
import pytest
import synth

from svt_train.cli import MAX_THREADS, cores
from svt_train.cli import main as train_main

from .helpers import case

ESC = "\x1b]0;owned\x07\x1b[2J"  # sets the terminal's title, clears the screen


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("command")
    return root, synth.tiny_training_setup(root)


def train(argv, capsys) -> tuple[int, str, list[str]]:
    """``svt-train argv`` in-process: ``(exit status, stdout, stderr lines)``; stderr holds no traceback
    and no raw escape character."""
    rc = train_main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    assert "\x1b" not in err and "\x07" not in err and "\x1b" not in out, (out, err)
    return rc, out, [line for line in err.splitlines() if line.strip()]


def seen(rc, lines) -> str:
    return f"exit {rc}" + "".join(f"; `{line}`" for line in lines)


USAGE = "exit 2, one-line usage error naming the option and its range"


@pytest.mark.parametrize("option, value", [
    case("--epochs -1", "--epochs", "-1", category="command line", expected=USAGE),
    case("--epochs 10^9", "--epochs", "1000000000", category="command line", expected=USAGE),
    case("--threads -5", "--threads", "-5", category="command line", expected=USAGE),
    case("--threads 0", "--threads", "0", category="command line", expected=USAGE),
    case("--threads 100000", "--threads", "100000", category="command line", expected=USAGE),
    case("--threads that is not a number", "--threads", "four", category="command line", expected=USAGE),
])
def test_numbers_out_of_range(option, value, tiny, tmp_path, capsys, robust):
    root, config = tiny
    rc, _, lines = train(["fit", config, "--out", tmp_path / "run", option, value], capsys)
    robust(seen(rc, lines))
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("svt-train: error: ") and option in lines[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.robustness("command line", "one warning: the cores are used instead; the run goes on",
                        case="--threads 1024 on a machine of fewer cores")
def test_threads_beyond_the_cores_are_capped(tiny, tmp_path, capsys, robust):
    root, config = tiny
    if cores() >= MAX_THREADS:
        pytest.skip(f"this machine has {cores()} cores")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "history.json").write_text("[]")  # the run then stops at the folder check
    rc, _, lines = train(["fit", config, "--out", tmp_path / "run", "--threads", MAX_THREADS], capsys)
    robust(f"`{lines[0]}`")
    assert lines[0] == (f"svt-train: warning: --threads {MAX_THREADS}: this machine gives {cores()} cores; "
                        f"using {cores()}")


def finished_run(folder):
    """A folder holding a finished run's files (their bytes stand for a real run's)."""
    folder.mkdir()
    for name in ("best.pt", "last.pt", "history.json", "curves.png"):
        (folder / name).write_bytes(f"the {name} of an earlier run".encode())
    return {p.name: p.read_bytes() for p in folder.iterdir()}


KEPT = "exit 2, one line naming the folder and --overwrite; every file of the run unchanged"


@pytest.mark.parametrize("flags", [
    case("fit into a folder holding a finished run (was overwritten silently)", [], category="command line",
         expected=KEPT),
    case("fit --resume into a folder holding a run's best.pt but no last.pt", ["--resume"], category="command line",
         expected=KEPT),
])
def test_a_run_is_not_overwritten_unless_asked(flags, tiny, tmp_path, capsys, robust):
    root, config = tiny
    before = finished_run(tmp_path / "run")
    if flags:
        (tmp_path / "run" / "last.pt").unlink()
        del before["last.pt"]
    rc, _, lines = train(["fit", config, "--out", tmp_path / "run", "--cache", tmp_path / "cache", *flags], capsys)
    robust(seen(rc, lines))
    assert rc == 2 and len(lines) == 1 and "run: holds a run already" in lines[0] and "--overwrite" in lines[0]
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()} == before
    assert not (tmp_path / "cache").exists()


ESCAPED = "the control characters shown as \\x1b, \\x07 escapes; nothing raw reaches the terminal"


@pytest.mark.parametrize("where", [
    case("config path holding terminal escapes (missing file)", "config", category="command line",
         expected=ESCAPED),
    case("--out holding terminal escapes (a run already there)", "out", category="command line", expected=ESCAPED),
    case("config's data folder holding terminal escapes (missing)", "data", category="command line",
         expected=ESCAPED),
])
def test_escapes_in_messages(where, tiny, tmp_path, capsys, robust):
    root, config = tiny
    out = tmp_path / f"run{ESC}" if where == "out" else tmp_path / "run"
    if where == "out":
        finished_run(out)
    if where == "config":
        config = tmp_path / f"{ESC}.toml"
    if where == "data":
        toml_escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in ESC)
        (tmp_path / "c.toml").write_text(config.read_text().replace('path = "train"', f'path = "train{toml_escaped}"'))
        config = tmp_path / "c.toml"
    rc, _, lines = train(["fit", config, "--out", out, "--cache", tmp_path / "cache"], capsys)
    robust(seen(rc, lines))
    assert rc == 2 and len(lines) == 1 and "\\x1b]0;owned\\x07\\x1b[2J" in lines[0]


@pytest.mark.robustness("command line", ESCAPED, case="svt-train eval --json to a path holding terminal escapes")
def test_escapes_in_what_eval_prints(note_model, tmp_path, capsys, robust):
    synth.write_song(tmp_path / "set", "s", [[0.2, 0.6, 60.0], [0.8, 1.2, 62.0]], 1.5)
    rc, out, lines = train(["eval", note_model, "--set", tmp_path / "set", "--json", tmp_path / f"p{ESC}.json",
                            "--device", "cpu"], capsys)
    line = next(line for line in out.splitlines() if "written to" in line)
    robust(f"exit {rc}; stdout `{line}`")
    assert rc == 0 and (tmp_path / f"p{ESC}.json").exists() and "\\x1b]0;owned\\x07\\x1b[2J" in line
