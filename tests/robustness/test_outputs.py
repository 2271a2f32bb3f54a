"""Outputs never destroy anything: special files are written into, never replaced; an output equal to
an input, to the ``--eval`` reference or to another output is refused before any work; rewriting keeps
the file's mode and writes through symbolic links; errors name the user's path and no temporary file
stays; every batch input gets its own key and file; one failed output or unreadable input stops
neither the batch nor ``--json``."""
import json
import os
import stat
import threading
import wave

import numpy as np
import pytest
import synth

from svt_live.io.annotations import load_notes

from .helpers import case, seen, svt

NOTES = [[0.2 + 0.5 * i, 0.6 + 0.5 * i, 60.0 + i] for i in range(4)]


@pytest.fixture
def song(tmp_path):
    return synth.write_song(tmp_path / "in", "song", NOTES, 2.5)


def leftovers(folder) -> list[str]:
    """Temporary files (``.<name>.*.tmp``) anywhere under ``folder``."""
    return [p.name for p in folder.rglob(".*.tmp")]


@pytest.mark.robustness("outputs", "exit 0; /dev/null is still a character device", case="--json /dev/null")
def test_dev_null_stays_a_device(song, note_model, capsys, robust):
    rc, _, lines = svt([song, "--model", note_model, "--json", "/dev/null", "-q"], capsys)
    robust(f"{seen(rc, lines)}; still a character device: {stat.S_ISCHR(os.stat('/dev/null').st_mode)}")
    assert rc == 0 and not lines and stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.robustness("outputs", "exit 0; the JSON is written into the FIFO, which stays a FIFO",
                        case="--json names a FIFO a reader is waiting on")
def test_fifo_output_is_written_into(song, note_model, tmp_path, capsys, robust):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    rc, _, lines = svt([song, "--model", note_model, "--json", fifo, "-q"], capsys)
    reader.join(30)
    robust(f"{seen(rc, lines)}; the reader got {len(got[0])} bytes of JSON; still a FIFO")
    assert rc == 0 and not lines and stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert "song" in json.loads(got[0])


@pytest.mark.robustness("outputs", "exit 1, one line naming /dev/full (no success reported)",
                        case="--json /dev/full (every write fails: disk full)")
def test_dev_full_is_an_error(song, note_model, capsys, robust):
    rc, _, lines = svt([song, "--model", note_model, "--json", "/dev/full", "-q"], capsys)
    robust(seen(rc, lines))
    assert rc == 1 and lines == ["svt-live: error: /dev/full: No space left on device"]


REFUSED = "exit 2 with one line before any work; the file is byte-identical"


@pytest.mark.parametrize("outputs, says", [
    case("output = the input audio", ["--json", "{song}"], "is the input", category="outputs", expected=REFUSED),
    case("output = the input audio, through a symbolic link", ["--csv", "{link}"], "is the input",
         category="outputs", expected=REFUSED),
    case("output = the --eval reference", ["--csv", "{ref}", "--eval", "{ref}"], "is the --eval reference",
         category="outputs", expected=REFUSED),
    case("two outputs on one path", ["--json", "{out}", "--midi-file", "{out}"], "both write", category="outputs",
         expected="exit 2 with one line before any work; nothing written"),
])
def test_outputs_that_would_overwrite_are_refused(outputs, says, song, note_model, tmp_path, capsys, robust):
    ref = song.with_suffix(".txt")
    (tmp_path / "link.wav").symlink_to(song)
    argv = [a.format(song=song, ref=ref, link=tmp_path / "link.wav", out=tmp_path / "out.x") for a in outputs]
    before = {p: p.read_bytes() for p in (song, ref)}
    rc, out, lines = svt([song, "--model", note_model, *argv], capsys)
    robust(seen(rc, lines))
    assert rc == 2 and len(lines) == 1 and says in lines[0] and not out
    assert all(p.read_bytes() == b for p, b in before.items())
    assert not (tmp_path / "out.x").exists()


@pytest.mark.robustness("outputs", "exit 2 before any work: the reference in the folder is intact",
                        case="batch: --midi-file writes into the --eval folder, over a same-stem .mid reference")
def test_batch_output_over_a_reference_in_a_folder(tmp_path, note_model, capsys, robust):
    a = synth.write_song(tmp_path, "a", NOTES, 2.5)
    b = synth.write_song(tmp_path, "b", NOTES, 2.5)
    refs = tmp_path / "refs"
    refs.mkdir()
    synth.write_midi(refs / "a.mid", NOTES)
    before = (refs / "a.mid").read_bytes()
    (refs / "b.txt").write_text("0.2\t0.6\t60\n")
    rc, _, lines = svt([a, b, "--model", note_model, "--eval", refs, "--midi-file", refs, "-q"], capsys)
    robust(seen(rc, lines))
    assert rc == 2 and "is the --eval reference" in lines[0]
    assert (refs / "a.mid").read_bytes() == before


@pytest.mark.robustness("outputs", "exit 0; the mode stays 0600; the link stays a link and its target holds "
                                   "the new notes; no temporary file",
                        case="rewriting a 0600 output through a symbolic link")
def test_rewrite_keeps_mode_and_writes_through_links(song, note_model, tmp_path, capsys, robust):
    target = tmp_path / "real.json"
    target.write_text("{}\n")
    target.chmod(0o600)
    (tmp_path / "link.json").symlink_to(target)
    rc, _, lines = svt([song, "--model", note_model, "--json", tmp_path / "link.json", "-q"], capsys)
    mode = stat.S_IMODE(target.stat().st_mode)
    robust(f"{seen(rc, lines)}; mode {mode:o}; link intact: {(tmp_path / 'link.json').is_symlink()}")
    assert rc == 0 and mode == 0o600 and (tmp_path / "link.json").is_symlink()
    assert len(load_notes(target, song_id="song")) > 0
    assert not leftovers(tmp_path)


@pytest.mark.robustness("outputs", "exit 1, one line naming the path given (not a temporary file)",
                        case="--json inside a path that is a regular file")
def test_errors_name_the_users_path(song, note_model, tmp_path, capsys, robust):
    (tmp_path / "file").write_text("x")
    rc, _, lines = svt([song, "--model", note_model, "--json", tmp_path / "file" / "n.json", "-q"], capsys)
    robust(seen(rc, lines))
    assert rc == 1 and len(lines) == 1 and lines[0].startswith(f"svt-live: error: {tmp_path / 'file' / 'n.json'}: ")


@pytest.mark.parametrize("names, keys", [
    case("same stem, two formats (a.wav a.flac)", ["d/a.wav", "d/a.flac"], ["a.wav", "a.flac"],
         category="outputs", expected="exit 0; one JSON song and one MIDI file per input"),
    case("same name in two folders (x/a.wav y/a.wav)", ["x/a.wav", "y/a.wav"], ["x", "y"],
         category="outputs", expected="exit 0; one JSON song and one MIDI file per input"),
    case("the same file twice", ["d/a.wav", "d/a.wav"], ["a", "a-2"],
         category="outputs", expected="exit 0; one JSON song and one MIDI file per input"),
])
def test_batch_inputs_get_their_own_keys(names, keys, note_model, tmp_path, capsys, robust, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths, as typed
    for name in set(names):
        synth.write_song(tmp_path / os.path.dirname(name), os.path.basename(name).split(".")[0], NOTES, 2.5,
                         ext="." + name.split(".")[-1])
    rc, _, lines = svt([*names, "--model", note_model, "--json", "all.json", "--midi-file", "mid", "-q"], capsys)
    songs = json.loads((tmp_path / "all.json").read_text())
    written = sorted(p.name for p in (tmp_path / "mid").iterdir())
    robust(f"{seen(rc, lines)}; JSON songs {sorted(songs)}; MIDI files {written}")
    assert rc == 0 and sorted(songs) == sorted(keys)
    assert written == sorted(f"{k}.mid" for k in keys)


@pytest.mark.robustness("outputs", "exit 1; one line for the failed output; the other files and --json written",
                        case="batch: one input's MIDI file cannot be written")
def test_one_failed_output_stops_neither_the_batch_nor_json(note_model, tmp_path, capsys, robust):
    files = [synth.write_song(tmp_path, s, NOTES, 2.5) for s in ("a", "b", "c")]
    (tmp_path / "mid" / "b.mid").mkdir(parents=True)  # b's MIDI file cannot replace a folder
    rc, _, lines = svt([*files, "--model", note_model, "--json", tmp_path / "all.json", "--midi-file",
                        tmp_path / "mid", "-q"], capsys)
    robust(seen(rc, lines))
    assert rc == 1 and len(lines) == 1 and "b.mid" in lines[0]
    assert sorted(json.loads((tmp_path / "all.json").read_text())) == ["a", "b", "c"]
    assert (tmp_path / "mid" / "a.mid").is_file() and (tmp_path / "mid" / "c.mid").is_file()
    assert not leftovers(tmp_path)


def many_channels(path, channels: int):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.random.default_rng(0).standard_normal((16000, channels)) * 3000).astype("<i2").tobytes())
    return path


@pytest.mark.parametrize("channels", [
    case(f"{n}-channel WAV in a batch", n, category="audio", expected="exit 1; one line for it; the other "
                                                                       "files transcribed and in --json")
    for n in (65, 255)])
def test_too_many_channels_is_one_line_and_the_batch_goes_on(channels, note_model, tmp_path, capsys, robust):
    wide = many_channels(tmp_path / "wide.wav", channels)
    good = synth.write_song(tmp_path, "good", NOTES, 2.5)
    rc, _, lines = svt([wide, good, "--model", note_model, "--json", tmp_path / "all.json", "-q"], capsys)
    robust(seen(rc, lines))
    assert rc == 1 and len(lines) == 1 and "wide.wav" in lines[0] and f"{channels}-channel" in lines[0]
    assert list(json.loads((tmp_path / "all.json").read_text())) == ["good"]
