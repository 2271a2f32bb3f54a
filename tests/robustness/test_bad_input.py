"""Bad input at the ``svt-live`` command line: audio files, ``--eval`` references, ``--model``
checkpoints and options. Unusable input gives one line on stderr and a non-zero exit, never a
traceback; imperfect input (a file cut short, invalid or unsorted reference notes) gives a result
and a one-line warning."""
import json
import wave

import numpy as np
import pytest
import synth
import torch
from test_cli import eval_rows

from svt_live.io.annotations import load_notes

from .helpers import case, seen, svt

SONG = [[0.1 + 0.5 * i, 0.45 + 0.5 * i, 60.0 + 2 * i] for i in range(8)]  # a note every 0.5 s for 4 s
DURATION = 4.2
CODECS = {"wav": "pcm_s16le", "mp3": "libmp3lame", "flac": "flac"}


@pytest.fixture(scope="module")
def encoded(tmp_path_factory) -> dict:
    """The song as ``song.wav``, ``song.mp3`` and ``song.flac``."""
    folder = tmp_path_factory.mktemp("encoded")
    audio = synth.harmonic_tones(SONG, DURATION)
    return {ext: synth.encode(folder / f"song.{ext}", audio, codec=codec) for ext, codec in CODECS.items()}


def cut(fraction):
    return lambda data: data[:int(len(data) * fraction)]


def garble(data: bytes) -> bytes:
    """Random bytes over 5 % of the file, in its middle."""
    n, mid = len(data) // 20, len(data) // 2
    return data[:mid] + np.random.default_rng(0).bytes(n) + data[mid + n:]


def zero_frames_wav(path) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)


AUDIO = "exit 1, one-line error"
AUDIO_PART = "exit 0: notes from what decodes, a one-line warning at most"


@pytest.mark.parametrize("source, damage, rc, says", [
    case("empty file", "wav", lambda d: b"", 1, "file is empty", category="audio", expected=AUDIO),
    case("valid WAV with 0 frames", "wav", None, 1, "contains no audio samples", category="audio",
         expected=AUDIO),
    case("MP3 cut to its first 200 bytes", "mp3", lambda d: d[:200], 1, "not a readable audio file",
         category="audio", expected=AUDIO),
    case("MP3 cut in half", "mp3", cut(0.5), 0, "before the cut", category="audio", expected=AUDIO_PART),
    case("FLAC cut in half", "flac", cut(0.5), 0, "before the cut", category="audio", expected=AUDIO_PART),
    case("random bytes in the middle of an MP3", "mp3", garble, 0, "after the damage", category="audio",
         expected=AUDIO_PART + "; audio after the damage is transcribed"),
    case("random bytes in the middle of a FLAC", "flac", garble, 0, "after the damage", category="audio",
         expected=AUDIO_PART + "; audio after the damage is transcribed"),
    case("random bytes in the middle of a WAV", "wav", garble, 0, "after the damage", category="audio",
         expected=AUDIO_PART + "; audio after the damage is transcribed"),
])
def test_damaged_audio(source, damage, rc, says, encoded, note_model, tmp_path, capsys, robust):
    """``says``: the error (exit 1), or where notes must be found (exit 0)."""
    path = tmp_path / f"damaged.{source}"
    if damage is None:
        zero_frames_wav(path)
    else:
        path.write_bytes(damage(encoded[source].read_bytes()))
    code, _, lines = svt([path, "--model", note_model, "--json", tmp_path / "n.json", "-q"], capsys)
    robust(seen(code, lines))
    assert code == rc
    if rc:
        assert len(lines) == 1 and lines[0].startswith("svt-live: error: ") and says in lines[0]
        return
    assert all(line.startswith("svt-live: warning: ") for line in lines) and len(lines) <= 1
    notes = load_notes(tmp_path / "n.json", song_id="damaged")
    assert len(notes) > 0
    if says == "before the cut":
        assert notes[:, 1].max() < 0.75 * DURATION  # only the first half or so decodes
    else:  # the damage covers 50-55 % of the bytes: decoding went on after it
        assert notes[:, 0].max() > 0.58 * DURATION


GOOD = SONG[:4]
ANN = "exit 1, one-line error"


def dropped(why: str) -> str:
    return f"exit 0; the note is dropped with a one-line warning ({why}); scores as without it"


@pytest.mark.parametrize("content, rc, says", [
    case("malformed JSON", '{"song": [[0.1, 0.45, 60]', 1, "malformed JSON", category="annotations",
         expected=ANN),
    case("JSON of several songs, none named after the audio", json.dumps({"x": GOOD, "y": GOOD}), 1,
         "no song", category="annotations", expected=ANN + " naming the missing song"),
    case("note rows of two numbers", json.dumps({"song": [[0.1, 0.45]]}), 1, "notes must be rows",
         category="annotations", expected=ANN),
    case("onset after offset", json.dumps({"song": GOOD + [[3.0, 2.9, 60]]}), 0, "onset not before offset: 1",
         category="annotations", expected=dropped("onset not before offset")),
    case("negative times", json.dumps({"song": GOOD + [[-0.5, 0.05, 60]]}), 0, "negative time: 1",
         category="annotations", expected=dropped("negative time")),
    case("NaN onset", json.dumps({"song": GOOD + [[float("nan"), 3.0, 60]]}), 0, "not finite: 1",
         category="annotations", expected=dropped("not finite")),
    case("pitches outside MIDI", json.dumps({"song": GOOD + [[3.0, 3.2, 200], [3.3, 3.4, -3]]}), 0,
         "pitch out of range: 2", category="annotations", expected=dropped("pitch out of range")),
    case("unsorted notes", json.dumps({"song": GOOD[::-1]}), 0, "not sorted by onset; sorted them",
         category="annotations", expected="exit 0; sorted with a one-line warning; scores as if sorted"),
    case("empty note list", json.dumps({"song": []}), 0, None, category="annotations",
         expected="exit 0; scores of 0, no error"),
])
def test_bad_reference(content, rc, says, encoded, note_model, tmp_path, capsys, robust):
    ref = tmp_path / "ref.json"
    ref.write_text(content)
    code, out, lines = svt([encoded["wav"], "--model", note_model, "--eval", ref, "-q"], capsys)
    robust(seen(code, lines))
    assert code == rc
    if rc:
        assert len(lines) == 1 and lines[0].startswith("svt-live: error: ") and says in lines[0]
        return
    if says is None:
        assert not lines and all(v == 0 for v in eval_rows(out)["song"])
        return
    assert len(lines) == 1 and lines[0].startswith("svt-live: warning: ") and "ref.json[song]: " in lines[0]
    assert says in lines[0]
    ref.write_text(json.dumps({"song": GOOD}))
    _, clean_out, _ = svt([encoded["wav"], "--model", note_model, "--eval", ref, "-q"], capsys)
    assert eval_rows(out) == eval_rows(clean_out)


def rewritten(source, path, **changes):
    """A copy of checkpoint ``source`` at ``path`` with some top-level entries changed."""
    ck = torch.load(source, weights_only=True)
    for key, value in changes.items():
        ck[key] = {**ck[key], **value} if isinstance(value, dict) else value
    torch.save(ck, path)


CKPT = "exit 1, one-line error with the reason"


@pytest.mark.parametrize("make, says", [
    case("truncated file", lambda src, p: p.write_bytes(src.read_bytes()[:src.stat().st_size // 2]),
         "not a readable checkpoint", category="checkpoints", expected=CKPT),
    case("text file named .pt", lambda src, p: p.write_text("not weights\n"), "not a readable checkpoint",
         category="checkpoints", expected=CKPT),
    case("another program's PyTorch file", lambda src, p: torch.save({"weights": torch.zeros(3)}, p),
         "not an svt-live checkpoint", category="checkpoints", expected=CKPT),
    case("newer checkpoint version", lambda src, p: rewritten(src, p, version=2),
         "checkpoint version 2 is not supported", category="checkpoints", expected=CKPT),
    case("model built for 128 mel bands, features of 256",
         lambda src, p: rewritten(src, p, model={"kwargs": {"channels": (8, 8, 8), "hidden": 48, "n_mels": 128}}),
         "model expects 128 mel bands, features give 256", category="checkpoints", expected=CKPT),
    case("unknown feature setting", lambda src, p: rewritten(src, p, features={"hop_ms": 20}),
         "unknown feature settings: ['hop_ms']", category="checkpoints", expected=CKPT),
    case("FFT shorter than its window", lambda src, p: rewritten(src, p, features={"n_fft": 512}),
         "n_fft (512) must be >= win (1024)", category="checkpoints", expected=CKPT),
    case("hop of 0 samples", lambda src, p: rewritten(src, p, features={"hop": 0}),
         "hop must be a positive integer", category="checkpoints", expected=CKPT),
    case("decoding threshold that is not a number",
         lambda src, p: rewritten(src, p, decoding={"onset_threshold": "high"}),
         "onset_threshold must be a finite number", category="checkpoints", expected=CKPT),
    case("weights of a bigger model", lambda src, p: rewritten(src, p, model={"kwargs": {"hidden": 64}}),
         "size mismatch", category="checkpoints", expected=CKPT),
])
def test_bad_checkpoint(make, says, encoded, note_model, tmp_path, capsys, robust):
    path = tmp_path / "model.pt"
    make(note_model, path)
    code, _, lines = svt(["--model", path, encoded["wav"]], capsys)
    robust(seen(code, lines))
    assert code == 1 and len(lines) == 1 and lines[0].startswith("svt-live: error: ") and "model.pt: " in lines[0]
    assert says in lines[0]


USAGE = "exit 2, one-line usage error"


@pytest.mark.parametrize("argv, rc, says", [
    case("no audio files", [], 2, "give audio files, or --input mic", category="command line", expected=USAGE),
    case("--eval with --input mic", ["--input", "mic", "--eval", "ref.json"], 2, "--eval and --plot work on files",
         category="command line", expected=USAGE),
    case("--seconds without --input mic", ["{song}", "--seconds", "5"], 2, "need --input mic",
         category="command line", expected=USAGE),
    case("--hop nan", ["{song}", "--hop", "nan"], 2, "--hop must be a positive number", category="command line",
         expected=USAGE),
    case("--hop 0", ["{song}", "--hop", "0"], 2, "--hop must be a positive number", category="command line",
         expected=USAGE),
    case("--onset-tolerance -0.05", ["{song}", "--onset-tolerance=-0.05"], 2, "--onset-tolerance must be a positive",
         category="command line", expected=USAGE),
    case("--hop abc", ["{song}", "--hop", "abc"], 2, "invalid float value: 'abc'", category="command line",
         expected=USAGE),
    case("--input tape", ["--input", "tape"], 2, "invalid choice: 'tape'", category="command line",
         expected=USAGE),
    case("--device bogus", ["{song}", "--device", "bogus"], 2, "--device 'bogus'", category="command line",
         expected=USAGE),
    case("--device cuda:9", ["{song}", "--device", "cuda:9"], 2, "CUDA device(s) available",
         category="command line", expected=USAGE),
    case("--json names a directory", ["{song}", "--json", "{tmp}"], 1, "Is a directory", category="command line",
         expected="exit 1, one-line error naming the path"),
])
def test_bad_options(argv, rc, says, encoded, note_model, tmp_path, capsys, robust):
    argv = [a.format(song=encoded["wav"], tmp=tmp_path) for a in argv]
    code, _, lines = svt([*argv, "--model", note_model], capsys)
    robust(seen(code, lines))
    assert code == rc and len(lines) == 1 and lines[0].startswith("svt-live: error: ") and says in lines[0]
    assert not list(tmp_path.iterdir())  # no output, no temporary file left
