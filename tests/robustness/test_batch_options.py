"""Option combinations and batches: conflicts refused before any work with an instruction the user can
follow, no spreadsheet formula from a file name, no silent guess (the reference scored against, the
port, the core count), no empty file taken for done work, no temporary file or worker process left
behind however the batch ends."""
import csv
import os
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest
import synth

from svt_live.engine.batch import cores, map_files
from svt_live.io.outputs import atomic_write

from .helpers import case, seen, svt

NOTES = [[0.2 + 0.5 * i, 0.6 + 0.5 * i, 60.0 + i] for i in range(4)]
ROOT = Path(__file__).resolve().parents[2]
USAGE = "exit 2 before any work, one line"


def children() -> set[int]:
    """Process ids of this process's living children (zombies count: they were not reaped)."""
    found = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found |= {int(p) for p in (task / "children").read_text().split()}
    return found


@pytest.fixture
def no_new_children():
    """Fails the test when it leaves a child process of this one behind (Python's multiprocessing
    resource tracker, one per process for good, is started first and not counted)."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    before = children()
    yield
    end = time.monotonic() + 5
    while children() - before and time.monotonic() < end:  # a terminated worker's exit takes a moment
        time.sleep(0.1)
    assert not children() - before, f"child processes left: {children() - before}"


@pytest.mark.parametrize("argv, says", [
    case("--input mic --score with --report on the --json path", ["--json", "{tmp}/a.json", "--report",
                                                                  "{tmp}/a.json"], "both write",
         category="command line", expected=USAGE + " (no microphone opened)"),
    case("--input mic --report over the --score exercise", ["--report", "{ex}"], "is the --score exercise",
         category="command line", expected=USAGE + "; the exercise intact"),
])
def test_report_is_inside_the_output_check_in_mic_mode(argv, says, tmp_path, capsys, robust):
    ex = synth.write_midi(tmp_path / "ex.mid", NOTES)
    before = ex.read_bytes()
    rc, _, lines = svt(["--input", "mic", "--score", ex, *[a.format(tmp=tmp_path, ex=ex) for a in argv]], capsys)
    robust(seen(rc, lines))
    assert rc == 2 and len(lines) == 1 and says in lines[0] and ex.read_bytes() == before


@pytest.mark.parametrize("meter", [
    case(f"--meter {m} with --musicxml and --json", m, category="command line", expected=USAGE)
    for m in ("99/4", "65/1")])
def test_extreme_meter_is_a_usage_error(meter, tmp_path, capsys, robust):
    song = synth.write_song(tmp_path, "s", NOTES, 2.5)
    rc, _, lines = svt([song, "--musicxml", tmp_path / "s.xml", "--json", tmp_path / "s.json", "--meter", meter],
                       capsys)
    robust(seen(rc, lines))
    assert rc == 2 and len(lines) == 1 and "--meter" in lines[0] and "quarter notes" in lines[0]
    assert not list(tmp_path.glob("s.*[ln]"))  # neither output written


@pytest.mark.robustness("command line", "exit 0; a 32-quarter-note bar still gives a score music21 reads",
                        case="--meter 32/4 (the longest bar allowed)")
def test_the_longest_meter_allowed_notates(note_model, tmp_path, capsys, robust):
    from music21 import converter

    song = synth.write_song(tmp_path, "s", NOTES, 2.5)
    rc, _, lines = svt([song, "--model", note_model, "--musicxml", tmp_path / "s.musicxml", "--meter", "32/4",
                        "-q"], capsys)
    robust(seen(rc, lines))
    assert rc == 0 and converter.parse(tmp_path / "s.musicxml").recurse().getElementsByClass("TimeSignature")[
        0].ratioString == "32/4"


@pytest.mark.robustness("command line", USAGE + " naming both audio files and the one reference",
                        case="--eval REFDIR with x/a.wav and y/a.wav (one REFDIR/a.txt for both)")
def test_two_inputs_never_share_one_reference(tmp_path, capsys, robust, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for folder in ("x", "y"):
        synth.write_song(tmp_path / folder, "a", NOTES, 2.5)
    (tmp_path / "refs").mkdir()
    synth.write_ssvd_txt(tmp_path / "refs" / "a.txt", NOTES)
    rc, _, lines = svt(["x/a.wav", "y/a.wav", "--eval", "refs"], capsys)
    robust(seen(rc, lines))
    assert rc == 2 and len(lines) == 1 and "x/a.wav and y/a.wav" in lines[0] and "refs/a.txt" in lines[0]


@pytest.mark.robustness("command line", "exit 0; x/a.wav scored against refs/x/a.txt, y/a.wav against refs/y/a.txt",
                        case="--eval REFDIR mirroring an input folder (songs/x/a.wav, songs/y/a.wav)")
def test_eval_folder_matches_by_relative_path(tmp_path, capsys, robust):
    for folder, shift in (("x", 0), ("y", 7)):  # y's reference is a fifth up: no note of it matches
        synth.write_song(tmp_path / "songs" / folder, "a", NOTES, 2.5)
        (tmp_path / "refs" / folder).mkdir(parents=True)
        synth.write_ssvd_txt(tmp_path / "refs" / folder / "a.txt", [[a, b, p + shift] for a, b, p in NOTES])
    rc, out, lines = svt([tmp_path / "songs", "--eval", tmp_path / "refs", "-q"], capsys)  # the shipped model
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()[:1] in (["x"], ["y"])}
    robust(f"{seen(rc, lines)}; COnP F1 x {rows['x'][6]} %, y {rows['y'][6]} %")
    assert rc == 0 and set(rows) == {"x", "y"} and float(rows["x"][6]) > 50 and float(rows["y"][6]) == 0


FORMULAS = ["=HYPERLINK(1)", "+1", "-1", "@SUM(1)", "\tx", "\rx"]


@pytest.mark.robustness("outputs", "exit 0; every file cell that starts with = + - @ tab or CR starts with ' "
                                   "(OWASP), the others as they are",
                        case="several-file --csv table of files named =HYPERLINK(1), +1, -1, @SUM(1), tab x, CR x")
def test_csv_table_cells_are_never_formulas(note_model, tmp_path, capsys, robust):
    files = [synth.write_song(tmp_path, name, NOTES, 2.5) for name in [*FORMULAS, "plain"]]
    rc, _, lines = svt([*files, "--model", note_model, "--csv", tmp_path / "all.csv", "-q"], capsys)
    with open(tmp_path / "all.csv", newline="") as f:
        cells = {row[0] for row in list(csv.reader(f))[1:]}
    robust(f"{seen(rc, lines)}; file cells {sorted(cells)}")
    assert rc == 0 and cells == {f"'{name}" for name in FORMULAS} | {"plain"}


@pytest.mark.robustness("outputs", "exit 0; out/a.wav.mid and out/a.flac.mid",
                        case="--output-dir with a folder holding a.wav and a.flac")
def test_output_dir_keeps_same_stem_inputs_apart(note_model, tmp_path, capsys, robust):
    for ext in (".wav", ".flac"):
        synth.write_song(tmp_path / "songs", "a", NOTES, 2.5, ext=ext)
    rc, _, lines = svt([tmp_path / "songs", "--model", note_model, "--output-dir", tmp_path / "out", "-q"], capsys)
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    robust(f"{seen(rc, lines)}; {written}")
    assert rc == 0 and written == ["a.flac.mid", "a.wav.mid"]


@pytest.mark.robustness("command line", USAGE + " naming the one-table rule",
                        case="--csv DIR with several inputs")
def test_csv_folder_with_several_inputs(tmp_path, capsys, robust):
    files = [synth.write_song(tmp_path, s, NOTES, 2.5) for s in "ab"]
    (tmp_path / "out").mkdir()
    rc, _, lines = svt([*files, "--csv", tmp_path / "out"], capsys)
    robust(seen(rc, lines))
    assert rc == 2 and len(lines) == 1 and "one CSV table" in lines[0]


@pytest.mark.robustness("outputs", "exit 0; the input is transcribed again and its file filled",
                        case="--skip-existing where an output is an empty (0-byte) file")
def test_skip_existing_does_not_take_an_empty_file_for_done(note_model, tmp_path, capsys, robust):
    song = synth.write_song(tmp_path / "songs", "a", NOTES, 2.5)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.mid").touch()
    rc, _, lines = svt([tmp_path / "songs", "--model", note_model, "--output-dir", tmp_path / "out",
                        "--skip-existing", "-q"], capsys)
    robust(f"{seen(rc, lines)}; a.mid holds {(tmp_path / 'out' / 'a.mid').stat().st_size} bytes")
    assert rc == 0 and not lines and (tmp_path / "out" / "a.mid").stat().st_size > 0 and song.exists()


@pytest.mark.robustness("outputs", "exit 0; one warning naming the folder; the readable files transcribed",
                        case="input folder with a subfolder that cannot be read")
def test_unreadable_subfolder_is_a_warning(note_model, tmp_path, robust):
    synth.write_song(tmp_path / "songs", "a", NOTES, 2.5)
    synth.write_song(tmp_path / "songs" / "locked", "b", NOTES, 2.5)
    (tmp_path / "songs" / "locked").chmod(0)
    # root reads any folder: drop the two capabilities that let it, as an ordinary user lacks them
    cmd = [sys.executable, "-m", "svt_live", str(tmp_path / "songs"), "--model", str(note_model), "--json",
           str(tmp_path / "n.json"), "-q"]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: every folder is readable")
        cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    finally:
        (tmp_path / "songs" / "locked").chmod(0o755)
    lines = p.stderr.strip().splitlines()
    robust(f"exit {p.returncode}; " + "; ".join(f"`{line}`" for line in lines))
    assert p.returncode == 0 and len(lines) == 1 and lines[0].startswith("svt-live: warning: ")
    assert "locked: cannot read this folder (Permission denied)" in lines[0]
    assert '"a"' in (tmp_path / "n.json").read_text()


def _slow_write(folder, item) -> None:
    """A worker writing its output slowly: the batch is interrupted while the temporary file exists."""
    def write(tmp):
        Path(tmp).write_text("partial")
        time.sleep(60)
    atomic_write(Path(folder) / f"{item}.json", write)


@pytest.mark.robustness("faults", "the batch ends within seconds; no .tmp file and no worker process left",
                        case="Ctrl-C during --jobs 2 while both workers write their outputs")
def test_interrupted_workers_leave_no_temporary_files(tmp_path, robust, no_new_children):
    def check():
        if len(list(tmp_path.glob(".*.tmp"))) == 2:
            raise KeyboardInterrupt  # what a stop request raises in the parent
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        list(map_files(_slow_write, str(tmp_path), ["a", "b"], 2, check))
    took = time.monotonic() - t0
    left = sorted(p.name for p in tmp_path.iterdir())
    robust(f"ended after {took:.0f} s; files left {left}")
    assert not left and took < 50


@pytest.mark.skipif(cores() >= 64, reason="a machine with 64 cores runs 64 workers")
@pytest.mark.robustness("load", "exit 0; one warning naming the core count; no worker process left",
                        case="--jobs 64 on a machine with fewer cores")
def test_jobs_beyond_the_cores_are_capped(note_model, tmp_path, capsys, robust, no_new_children):
    files = [synth.write_song(tmp_path, s, NOTES, 2.5) for s in "ab"]
    rc, _, lines = svt([*files, "--model", note_model, "--jobs", "64", "--json", tmp_path / "n.json", "-q"], capsys)
    robust(seen(rc, lines))
    assert rc == 0 and lines == [f"svt-live: warning: --jobs 64: this machine has {cores()} core"
                                 f"{'s' * (cores() > 1)}; running {cores()} at once"]


def tiny_wav(path, rate: int):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x10\x00")
    return path


@pytest.mark.parametrize("rate", [
    case(f"WAV of one sample at {r / 1000:g} kHz", r, category="audio", expected="exit 0; 0 notes")
    for r in (16000, 44100, 8000)])
def test_one_sample_is_no_notes_at_any_rate(rate, note_model, tmp_path, capsys, robust):
    rc, out, lines = svt([tiny_wav(tmp_path / "one.wav", rate), "--model", note_model], capsys)
    robust(f"{seen(rc, lines)}; `{out.strip()}`")
    assert rc == 0 and not lines and ": 0 notes" in out


@pytest.mark.robustness("command line", USAGE, case="--midi-out '' (empty port name)")
def test_empty_midi_port_name_is_refused(tmp_path, capsys, robust):
    rc, _, lines = svt(["--input", "mic", "--midi-out", ""], capsys)
    robust(seen(rc, lines))
    assert rc == 2 and len(lines) == 1 and "--midi-out ''" in lines[0]


@pytest.mark.parametrize("args, says", [
    case("--scale H:minor (no such key)", ["--scale", "H:minor"], "--scale takes KEY:MODE", category="command line",
         expected=USAGE),
    case("--scale D:bebop (no such mode)", ["--scale", "D:bebop"], "--scale takes KEY:MODE", category="command line",
         expected=USAGE),
    case("--hold-ms -5", ["--hold-ms", "-5"], "--hold-ms must be 0 to", category="command line", expected=USAGE),
    case("--scale without --midi-out", ["--scale", "D:minor", "--no-port"], "need --input mic --midi-out",
         category="command line", expected=USAGE)])
def test_bad_playing_aids_are_refused(args, says, capsys, robust):
    port = [] if "--no-port" in args else ["--midi-out"]
    rc, _, lines = svt(["--input", "mic", *port, *[a for a in args if a != "--no-port"]], capsys)
    robust(seen(rc, lines))
    assert rc == 2 and len(lines) == 1 and says in lines[0], lines


@pytest.mark.robustness("load", "one warning for the first block over 0.2 s late, none for the rest",
                        case="--realtime on a machine too busy to keep up (each block takes 30 ms for 20 ms)")
def test_realtime_falling_behind_warns_once(recwarn, robust):
    import numpy as np

    from svt_live.io.blocks import at_pace

    now = [0.0]

    def sleep(seconds):
        now[0] += seconds
    for _ in at_pace((np.zeros(320) for _ in range(100)), 16000, clock=lambda: now[0], sleep=sleep):
        now[0] += 0.03  # the engine's work on each 20 ms block
    said = [str(w.message) for w in recwarn]
    robust("; ".join(said))
    assert len(said) == 1 and said[0].startswith("falling behind real time: audio at 0.4 s is 0.2 s late")


@pytest.mark.robustness("outputs", "the piano rolls go to --plots; docs/*.png untouched",
                        case="python -m benchmarks.accuracy without --refresh-docs")
def test_accuracy_benchmark_leaves_the_docs_alone(note_model, tmp_path, monkeypatch, capsys, robust):
    from types import SimpleNamespace

    import numpy as np

    from benchmarks import accuracy

    song = SimpleNamespace(id="s", audio=synth.write_song(tmp_path, "s", NOTES, 2.5), notes=np.array(NOTES))
    monkeypatch.setattr(accuracy, "named_set", lambda name, root: [song])
    docs = {p: p.stat().st_mtime_ns for p in (ROOT / "docs").glob("*.png")}
    assert accuracy.main(["--sets", "one", "--models", str(note_model), "--no-streaming", "--no-peers",
                          "--no-frame-pitch", "--plots", str(tmp_path / "plots")]) == 0
    capsys.readouterr()
    robust(f"plots {sorted(p.name for p in (tmp_path / 'plots').iterdir())}; default folder "
           f"{accuracy.PLOTS.relative_to(ROOT)}")
    assert (tmp_path / "plots" / "roll_one.png").read_bytes()[:4] == b"\x89PNG"
    assert {p: p.stat().st_mtime_ns for p in (ROOT / "docs").glob("*.png")} == docs
    assert ROOT / "docs" not in (accuracy.PLOTS, *accuracy.PLOTS.parents)
