"""``svt-live`` file mode: outputs, --eval against every reference format, and one-line errors."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import synth

from svt_live.commands.cli import main
from svt_live.engine.checkpoint import DEFAULT_MODEL, bundled_models, load_model
from svt_live.engine.offline import transcribe_file
from svt_live.io.annotations import load_midi_notes, load_notes, write_json
from svt_live.io.midifile import write_midi_file

DATA = Path(__file__).resolve().parents[1] / "svt_live" / "data"
REF = [[0.2, 0.6, 60.0], [0.7, 1.1, 64.0], [1.2, 1.8, 67.0], [1.9, 2.3, 62.0]]



@pytest.fixture(scope="module")
def song(tmp_path_factory):
    """A harmonic-tone song ``song.wav`` with its notes as ``song.txt`` (SSVD format)."""
    return synth.write_song(tmp_path_factory.mktemp("song"), "song", REF, 2.6)


def run(argv, capsys) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("svt-live: error: ")
    return lines[0]


def test_outputs(song, note_model, tmp_path, capsys):
    out = {k: tmp_path / "out" / f"n.{k}" for k in ("json", "csv", "mid", "png")}
    rc, text, err = run([song, "--model", note_model, "--json", out["json"], "--csv", out["csv"],
                         "--midi-file", out["mid"], "--plot", out["png"]], capsys)
    assert rc == 0, err
    expected, _ = transcribe_file(song, load_model(note_model))
    assert len(expected) > 0 and f"{song}: {len(expected)} notes" in text
    notes = load_notes(out["json"], song_id="song")
    assert json.loads(out["json"].read_text()).keys() == {"song"}
    np.testing.assert_allclose(notes[:, :2], expected[:, :2], atol=1e-4)  # JSON keeps 0.1 ms, 0.01 MIDI
    np.testing.assert_allclose(notes[:, 2], expected[:, 2], atol=0.006)
    np.testing.assert_array_equal(load_notes(out["csv"]), notes)
    assert out["csv"].read_text().startswith("onset,offset,midi\n")
    mid = load_midi_notes(out["mid"])
    np.testing.assert_allclose(mid[:, :2], notes[:, :2], atol=1e-3)
    assert out["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def eval_rows(text: str) -> dict:
    """Rows of the --eval table: ``{name: [9 numbers]}``."""
    rows = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 10 and all(p.replace(".", "").isdigit() for p in parts[1:]):
            rows[parts[0]] = [float(p) for p in parts[1:]]
    return rows


def test_eval_ssvd_txt_and_midi_reference_agree(song, note_model, tmp_path, capsys):
    rc, text, err = run([song, "--model", note_model, "--eval", song.with_suffix(".txt")], capsys)
    assert rc == 0, err
    from_txt = eval_rows(text)
    assert list(from_txt) == ["song"]
    write_midi_file(tmp_path / "ref.mid", np.array(REF))
    rc, text, _ = run([song, "--model", note_model, "--eval", tmp_path / "ref.mid"], capsys)
    assert rc == 0 and eval_rows(text) == from_txt


def test_eval_vocadito_csv(capsys):
    rc, text, err = run([DATA / "vocadito_10.wav", "--eval", DATA / "vocadito_10_notesA1.csv", "-q"], capsys)
    assert rc == 0, err
    assert "COnP" in text and list(eval_rows(text)) == ["vocadito_10"]


def test_min_note_frames_overrides_the_models_shortest_note(tmp_path, capsys):
    notes = {}
    for n in (1, None, 10):
        out = tmp_path / f"{n}.json"
        rc, _, err = run([DATA / "vocadito_10.wav", "--json", out, "-q"] + (["--min-note-frames", n] if n else []),
                         capsys)
        assert rc == 0, err
        notes[n] = load_notes(out, song_id="vocadito_10")
    assert len(notes[1]) >= len(notes[None]) > len(notes[10]) > 0
    assert (notes[10][:, 1] - notes[10][:, 0]).min() >= 10 * 0.02 - 1e-6  # 10 voiced frames at least


def test_eval_mir_st500_json_by_folder_name_and_song_id(song, note_model, tmp_path, capsys):
    ann = tmp_path / "annotations.json"
    write_json(ann, {"62": np.array(REF), "65": np.array(REF[:2]), "7": np.array(REF[1:])})
    audio = []
    for sid in ("62", "65"):
        (tmp_path / "valid" / sid).mkdir(parents=True)
        audio.append(tmp_path / "valid" / sid / "Mixture.wav")
        audio[-1].write_bytes(song.read_bytes())
    rc, text, err = run([*audio, "--model", note_model, "--eval", ann, "-q"], capsys)
    assert rc == 0, err
    rows = eval_rows(text)
    assert list(rows) == ["62", "65", "mean/song", "pooled"]  # same stems: rows named by folder
    # the same audio against 4 reference notes (song 62) and 2 (song 65): precision halves
    assert rows["65"][3] == pytest.approx(rows["62"][3] / 2, abs=0.1)
    rc, text, _ = run([audio[0], "--model", note_model, "--eval", ann, "--song-id", "65", "-q"], capsys)
    assert rc == 0 and eval_rows(text)["62"] == rows["65"]  # alone or among others: the folder's id
    assert run([audio[1], "--model", note_model, "--json", tmp_path / "one.json", "-q"], capsys)[0] == 0
    assert list(json.loads((tmp_path / "one.json").read_text())) == ["65"]
    rc, _, err = run([audio[0], "--model", note_model, "--eval", ann, "--song-id", "404"], capsys)
    assert rc == 1 and "no song '404'" in one_line_error(err)


def test_several_files_give_rows_mean_and_pooled(note_model, tmp_path, capsys):
    refs = tmp_path / "refs"
    files = [synth.write_song(tmp_path / "audio", f"s{i}", np.array(REF) + [0, 0, i], 2.6) for i in range(3)]
    refs.mkdir()
    for f in files:
        f.with_suffix(".txt").rename(refs / f"{f.stem}.txt")
    rc, text, err = run([*files, "--model", note_model, "--eval", refs, "--json", tmp_path / "all.json",
                         "--csv", tmp_path / "all.csv", "--midi-file", tmp_path / "mid", "-q"], capsys)
    assert rc == 0, err
    assert list(eval_rows(text)) == ["s0", "s1", "s2", "mean/song", "pooled"]
    assert set(json.loads((tmp_path / "all.json").read_text())) == {"s0", "s1", "s2"}
    assert {row.split(",")[0] for row in (tmp_path / "all.csv").read_text().splitlines()} == {"file", "s0", "s1", "s2"}
    assert sorted(p.name for p in (tmp_path / "mid").iterdir()) == ["s0.mid", "s1.mid", "s2.mid"]


@pytest.mark.parametrize("case", ["missing file", "text as wav", "malformed annotation", "unknown flag",
                                  "mic with files", "bad model", "missing reference", "no shortest note"])
def test_bad_input_is_one_line_error(case, song, tmp_path, capsys):
    fake = tmp_path / "notes.wav"
    fake.write_text("this is not audio\n" * 50)
    bad_txt = tmp_path / "bad.txt"
    bad_txt.write_text("0.1\t0.5\t60\n0.6\tseventy\t62\n")
    argv, code, says = {
        "missing file": ([tmp_path / "nope.wav"], 1, "no such file"),
        "text as wav": ([fake], 1, "not a readable audio file"),
        "malformed annotation": ([song, "--eval", bad_txt], 1, "not numbers"),
        "unknown flag": ([song, "--frobnicate"], 2, "unrecognized arguments: --frobnicate"),
        "mic with files": (["--input", "mic", song], 2, "--input mic takes no audio files"),
        "bad model": ([song, "--model", tmp_path / "nope.pt"], 1, "no such checkpoint"),
        "missing reference": ([song, "--eval", tmp_path / "nope.csv"], 1, "no such annotation file"),
        "no shortest note": ([song, "--min-note-frames", 0], 2, "--min-note-frames must be 1 or more, got 0"),
    }[case]
    rc, _, err = run(argv, capsys)
    assert rc == code
    assert says in one_line_error(err)


def test_entry_point_error_has_no_traceback(tmp_path):
    """The command as a user runs it, in its own process."""
    p = subprocess.run([sys.executable, "-m", "svt_live.commands.cli", str(tmp_path / "nope.wav")], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 1
    assert "no such file" in one_line_error(p.stderr)


def test_listings(capsys):
    assert main(["--list-models"]) == 0
    assert main(["--list-midi-ports"]) == 0
    assert main(["--list-devices"]) == 0
    out = capsys.readouterr().out
    models = {line.split()[0]: line for line in out.splitlines() if line.split()[:1] in ([m] for m in bundled_models())}
    assert set(models) == set(bundled_models()) and models[DEFAULT_MODEL].split()[1] == "default"


@pytest.mark.parametrize("command", ["svt-live", "svt-train", "svt-gui"])
def test_version_and_plain_text_help(command):
    """Every command answers --version; its help shows no reStructuredText markup."""
    exe = Path(sys.executable).parent / command
    p = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == f"{command} 0.1.0", p.stderr
    p = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "usage:" in p.stdout, p.stderr
    assert "``" not in p.stdout and "::" not in p.stdout, p.stdout


def test_help_and_usage_errors_do_not_import_torch():
    """`svt-live --help` and a usage error answer before torch (about 2 s) is imported."""
    code = ("import sys\nfrom svt_live.commands.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert main(['--plot-span', '1', '2', 'a.wav']) == 2\n"
            "print(sorted(m for m in ('torch', 'av', 'mido', 'sounddevice', 'matplotlib') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[-1] == "[]"
    assert "--plot-span needs --plot" in p.stderr


def test_one_wrote_line_per_output_and_q_silences_them(song, note_model, tmp_path, capsys):
    out = [tmp_path / "n.json", tmp_path / "n.csv", tmp_path / "n.mid", tmp_path / "n.png"]
    argv = [song, "--model", note_model, "--json", out[0], "--csv", out[1], "--midi-file", out[2], "--plot", out[3]]
    rc, _, err = run(argv, capsys)
    assert rc == 0, err
    assert sorted(line for line in err.splitlines() if line.startswith("wrote ")) == sorted(f"wrote {p}" for p in out)
    rc, text, err = run([*argv, "-q"], capsys)
    assert rc == 0 and "wrote" not in err and text == ""


def test_plot_covers_the_whole_take_or_the_span(song, note_model, tmp_path, capsys):
    import doctest

    from matplotlib.image import imread

    import svt_live.io.plot
    assert doctest.testmod(svt_live.io.plot).failed == 0
    whole, part = tmp_path / "whole.png", tmp_path / "part.png"
    assert run([song, "--model", note_model, "--plot", whole, "-q"], capsys)[0] == 0
    assert run([song, "--model", note_model, "--plot", part, "--plot-span", "0.5", "1.0", "-q"], capsys)[0] == 0
    assert imread(whole).shape[:2] == imread(part).shape[:2]  # both 14 in wide: a short song
    assert whole.read_bytes() != part.read_bytes()
    for argv, message in ((["--plot-span", "1", "2"], "--plot-span needs --plot"),
                          (["--plot", tmp_path / "x.png", "--plot-span", "2", "1"], "need 0 <= START < END")):
        rc, _, err = run([song, *argv], capsys)
        assert rc == 2 and message in one_line_error(err)
