"""``svt-live`` batches and musician outputs: folders, --output-dir, --jobs, --skip-existing, one CSV for
several files, key and tuning, MIDI and MusicXML read back with mido and music21, --realtime pacing."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest
from compare import JSON_TOL, assert_same_notes

from svt_live.commands.cli import main
from svt_live.engine.batch import expand_inputs
from svt_live.engine.stop import StopRequest
from svt_live.io.annotations import load_notes
from svt_live.io.blocks import at_pace

CLIP = Path(__file__).resolve().parents[1] / "svt_live" / "data" / "vocadito_10.wav"



@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    """A folder ``songs/`` with ``a.wav``, ``live/b.wav`` (the bundled clip cut in two) and a text file."""
    import synth

    from svt_live.io.audio import load_audio

    root = tmp_path_factory.mktemp("batch") / "songs"
    (root / "live").mkdir(parents=True)
    audio = load_audio(CLIP)
    synth.write_wav(root / "a.wav", audio[:len(audio) // 2])
    synth.write_wav(root / "live" / "b.wav", audio[len(audio) // 2:])
    (root / "notes.txt").write_text("not audio\n")
    return root


def run(argv, capsys):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_folder_expands_recursively_by_extension(songs):
    assert [i.rel.as_posix() for i in expand_inputs([songs])] == ["a.wav", "live/b.wav"]
    assert expand_inputs([songs / "a.wav"])[0].rel is None
    (songs.parent / "empty").mkdir(exist_ok=True)
    with pytest.raises(ValueError, match="no audio files"):
        expand_inputs([songs.parent / "empty"])


def test_output_dir_keeps_layout_and_every_kind_reads_back(songs, note_model, tmp_path, capsys):
    music21 = pytest.importorskip("music21")
    out = tmp_path / "out"
    rc, text, err = run([songs, "--model", note_model, "--output-dir", out, "--midi-file", "--musicxml", "--csv",
                         "--json", "--bpm", "90", "--meter", "3/4", "--pitch-bends"], capsys)
    assert rc == 0, err
    for rel in ("a", "live/b"):
        for ext in (".mid", ".musicxml", ".csv", ".json"):
            assert (out / f"{rel}{ext}").is_file(), f"{rel}{ext}"
    mid = mido.MidiFile(out / "live" / "b.mid")
    meta = {m.type: m for m in mid.tracks[0] if m.is_meta}
    assert meta["track_name"].name and mido.tempo2bpm(meta["set_tempo"].tempo) == pytest.approx(90)
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (3, 4)
    assert any(m.type == "pitchwheel" for m in mid.tracks[0])
    notes = json.loads((out / "live" / "b.json").read_text())["b"]
    assert len([m for m in mid.tracks[0] if m.type == "note_on"]) == len(notes) > 0
    velocities = {m.velocity for m in mid.tracks[0] if m.type == "note_on"}
    assert velocities != {80}  # the decoder's velocities, not a constant
    part = music21.converter.parse(str(out / "a.musicxml")).parts[0]
    assert part.recurse().getElementsByClass("MetronomeMark")[0].number == 90
    assert all((n.getOffsetInHierarchy(part) * 4) % 1 == 0 for n in part.recurse().notes)
    assert "key " in text and "A4 = " in text and " cents" in text


def test_jobs_give_the_same_notes_and_skip_existing_skips(songs, note_model, tmp_path, capsys):
    one, two = tmp_path / "one", tmp_path / "two"
    assert run([songs, "--model", note_model, "--output-dir", one, "--json", "-q"], capsys)[0] == 0
    assert run([songs, "--model", note_model, "--output-dir", two, "--json", "-q", "--jobs", "2"], capsys)[0] == 0
    for rel in ("a.json", "live/b.json"):  # workers may run other thread counts: the same notes, not bytes
        assert_same_notes(load_notes(two / rel), load_notes(one / rel), **JSON_TOL)
    before = (two / "a.json").stat().st_mtime_ns
    rc, text, err = run([songs, "--model", note_model, "--output-dir", two, "--json", "--skip-existing"], capsys)
    assert rc == 0 and err.count("skipped, its outputs exist") == 2 and text == ""
    assert (two / "a.json").stat().st_mtime_ns == before


def test_files_sharing_a_name_get_their_own_output(songs, note_model, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.wav").write_bytes((songs / "a.wav").read_bytes())
    rc, _, err = run([songs / "a.wav", other / "a.wav", "--model", note_model, "--output-dir", tmp_path / "o",
                      "-q"], capsys)
    assert rc == 0, err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["other.mid", "songs.mid"]


def test_several_inputs_go_into_one_csv_with_a_file_column(songs, note_model, tmp_path, capsys):
    path = tmp_path / "all.csv"
    rc, _, err = run([songs / "a.wav", songs / "live" / "b.wav", "--model", note_model, "--csv", path, "-q"], capsys)
    assert rc == 0, err
    assert path.is_file()
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["file", "onset", "offset", "midi"]
    assert {r[0] for r in rows[1:]} == {"a", "b"}


@pytest.mark.parametrize("argv, message", [
    (["--output-dir", "o", "--midi-file", "x.mid"], "with --output-dir give --midi-file without a path"),
    (["--midi-file"], "--midi-file needs a PATH"),
    (["--quantize", "1/5"], "--quantize takes 1/4, 1/8, 1/16 or 1/32"),
    (["--meter", "four"], "--meter takes"),
    (["--key", "H"], "--key takes"),
    (["--tuning", "1000"], "--tuning 1000: give A4 in Hz between 400 and 480"),
    (["--bpm", "0"], "--bpm must be between 20 and 400"),
    (["--jobs", "0"], "--jobs must be between 1 and 64"),
    (["--midi-out"], "--midi-out with files needs --realtime"),
])
def test_bad_options_are_one_line_usage_errors(argv, message, songs, capsys):
    rc, _, err = run([songs / "a.wav", *argv], capsys)
    assert rc == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_empty_folder_is_a_usage_error(tmp_path, capsys):
    rc, _, err = run([tmp_path], capsys)
    assert rc == 2 and "no audio files in this folder" in err


def test_tuning_moves_the_midi_notes_and_the_sung_tuning_is_printed(note_model, capsys, tmp_path):
    """--tuning 440 rounds at 440 Hz, --tuning 466.16 (a semitone up) one note number lower, --tuning auto
    at the printed estimate; the sung tuning is printed whatever the reference."""
    from svt_live.theory.tuning import estimate_tuning_cents, round_to_tuning

    numbers = {}
    for ref in ("440", "466.16", "auto"):
        rc, text, err = run([CLIP, "--model", note_model, "--tuning", ref, "--json", tmp_path / f"{ref}.json",
                             "--midi-file", tmp_path / f"{ref}.mid"], capsys)
        assert rc == 0, err
        assert "sung at A4 = " in text and " cents" in text
        mid = mido.MidiFile(tmp_path / f"{ref}.mid")
        numbers[ref] = [m.note for m in mid.tracks[0] if m.type == "note_on"]
    notes = np.array(json.loads((tmp_path / "440.json").read_text())["vocadito_10"])
    assert numbers["440"] == np.round(notes[:, 2]).astype(int).tolist()
    assert numbers["466.16"] == [n - 1 for n in numbers["440"]]
    assert numbers["auto"] == round_to_tuning(notes[:, 2], estimate_tuning_cents(notes)).tolist()


def test_help_does_not_import_music21_or_torch():
    code = ("import sys\nfrom svt_live.commands.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('music21' in sys.modules, 'torch' in sys.modules, file=sys.stderr)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.stderr.strip().endswith("False False"), res.stderr


def test_realtime_pacing_follows_the_audio_clock():
    """Blocks are released at their time in the song: 50 blocks of 20 ms take 1 s of (fake) clock."""
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s
    blocks = list(at_pace((np.zeros(320) for _ in range(50)), 16000, clock=lambda: now[0], sleep=sleep))
    assert len(blocks) == 50 and now[0] == pytest.approx(0.98) and len(slept) == 49
    with StopRequest() as stop:
        stop.signal = 2  # as a Ctrl-C sets it
        assert list(at_pace((np.zeros(320) for _ in range(50)), 16000, stop)) == []


def test_realtime_plays_a_file_to_a_real_midi_port_at_its_pace(jack_server, note_model, tmp_path, capsys,
                                                               monkeypatch):
    """``--midi-out PORT --realtime``: a synth's input port (JACK) gets every note, spread over the song's
    length, and the MIDI file written alongside holds the same notes."""
    import time

    import synth

    from svt_live.io.annotations import load_midi_notes
    from svt_live.io.audio import load_audio

    rtmidi = pytest.importorskip("rtmidi")
    monkeypatch.setenv("SVT_MIDI_API", "jack")
    clip = synth.write_wav(tmp_path / "clip.wav", load_audio(CLIP)[:3 * 16000])
    synth_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"realtime-synth-{os.getpid()}")
    synth_in.open_virtual_port("Synth In")
    got, t = [], 0.0
    try:
        t0 = time.monotonic()
        rc, text, err = run([clip, "--model", note_model, "--midi-out", "synth in", "--realtime",
                             "--midi-file", tmp_path / "take.mid"], capsys)
        took = time.monotonic() - t0
        time.sleep(0.2)
        while (msg := synth_in.get_message()) is not None:  # (bytes, seconds since the previous message)
            t += msg[1]
            got.append((t, msg[0]))
    finally:
        synth_in.close_port()
        synth_in.delete()
    assert rc == 0, err
    notes = load_midi_notes(tmp_path / "take.mid")
    ons = [(t, m) for t, m in got if m[0] & 0xF0 == 0x90 and m[2] > 0]
    assert len(ons) == len(notes) > 0, [m for _, m in got]
    assert took >= 2.5  # 3 s of audio at its own pace
    assert ons[-1][0] - ons[0][0] >= 0.5 * (notes[-1, 0] - notes[0, 0])
    assert got[-1][1][:2] == [0xB0, 123]  # all notes off at the end


def test_jobs_end_quietly_as_a_user_runs_them(songs, note_model, tmp_path):
    """``--jobs 2`` as a command: the workers end on their own, so nothing is printed from their exit
    (a SIGTERM in the middle of it printed an ignored SystemExit traceback after every batch)."""
    p = subprocess.run([sys.executable, "-m", "svt_live", str(songs), "--model", str(note_model), "--output-dir",
                        str(tmp_path / "o"), "--json", "-q", "--jobs", "2"], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr
    assert sorted(q.relative_to(tmp_path / "o").as_posix() for q in (tmp_path / "o").rglob("*.json")) == \
        ["a.json", "live/b.json"]
