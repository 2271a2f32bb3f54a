"""Unusual but valid audio: every PCM sample format, rates from 8 to 192 kHz, 1 to 8 channels,
DC offset, clipping and silence. Each decodes to the right mono signal and transcribes with exit 0
and nothing on stderr; where the signal is the same, so are the notes (compared with the bundled
``base_cnn_mini``, which finds notes in plain synthetic tones). Degraded signals are the bundled sung
clip (vocadito #10) through the default model, which is trained on singing, not on synthetic tones."""
from pathlib import Path

import numpy as np
import pytest
import synth

from svt_live.evaluate import evaluate_notes
from svt_live.io.annotations import load_notes
from svt_live.io.audio import load_audio

from .helpers import case, seen, svt

SONG = np.array([[0.2, 0.7, 60.0], [0.9, 1.4, 64.0], [1.6, 2.2, 67.0]])
DURATION = 2.5
SAME_MODEL = "base_cnn_mini"
SAME = "exit 0, decodes to {} within its precision, notes as from 16-bit 16 kHz mono"


def transcribe(path, capsys, robust, expected=None) -> np.ndarray:
    """``svt-live path``: asserts exit 0 and a silent stderr; returns the notes. With ``expected``
    (notes from ``SAME_MODEL``), uses that model and asserts they are the same notes."""
    out = path.with_suffix(".json")
    model = ["--model", SAME_MODEL] if expected is not None else []
    rc, _, lines = svt([path, "--json", out, "-q"] + model, capsys)
    notes = load_notes(out, song_id=path.stem) if rc == 0 else np.zeros((0, 3))
    sung = int(round(evaluate_notes(SONG, notes)["COnP"][1] * len(SONG))) if len(notes) else 0
    if expected is None:
        robust(f"{seen(rc, lines)}; {len(notes)} notes, {sung} of the {len(SONG)} sung notes among them")
    else:
        robust(f"{seen(rc, lines)}; the same {len(notes)} notes as 16-bit 16 kHz mono")
    assert rc == 0 and not lines
    if expected is not None:
        assert evaluate_notes(expected, notes)["COnPOff"][2] == 1.0, (notes, expected)
    return notes


@pytest.fixture(scope="module")
def audio():
    return synth.harmonic_tones(SONG, DURATION)


@pytest.fixture(scope="module")
def expected(audio, tmp_path_factory):
    """Notes of the song as plain 16-bit 16 kHz mono, from ``SAME_MODEL``."""
    from svt_live.engine.checkpoint import load_model
    from svt_live.engine.offline import transcribe_file

    wav = synth.write_wav(tmp_path_factory.mktemp("ref") / "ref.wav", audio)
    notes, _ = transcribe_file(wav, load_model(SAME_MODEL))
    assert len(notes) >= 1
    return notes


@pytest.mark.parametrize("codec, atol", [
    case("16-bit WAV", "pcm_s16le", 2 / 32768, category="audio", expected=SAME.format("the signal")),
    case("24-bit WAV", "pcm_s24le", 2 ** -22, category="audio", expected=SAME.format("the signal")),
    case("32-bit integer WAV", "pcm_s32le", 1e-7, category="audio", expected=SAME.format("the signal")),
    case("32-bit float WAV", "pcm_f32le", 1e-7, category="audio", expected=SAME.format("the signal")),
    case("64-bit float WAV", "pcm_f64le", 1e-7, category="audio", expected=SAME.format("the signal")),
])
def test_sample_formats(codec, atol, audio, expected, tmp_path, capsys, robust):
    path = synth.encode(tmp_path / f"{codec}.wav", audio, codec=codec)
    np.testing.assert_allclose(load_audio(path), audio, atol=atol)
    transcribe(path, capsys, robust, expected)


@pytest.mark.parametrize("rate", [
    case(f"{rate / 1000:g} kHz WAV", rate, category="audio", expected=SAME.format("the signal"))
    for rate in (8000, 44100, 192000)])
def test_sample_rates(rate, audio, expected, tmp_path, capsys, robust):
    path = synth.encode(tmp_path / f"r{rate}.wav", synth.harmonic_tones(SONG, DURATION, sr=rate), sr=rate,
                        codec="pcm_s16le")
    decoded = load_audio(path)
    assert len(decoded) == len(audio)
    assert np.corrcoef(decoded, audio)[0, 1] > 0.999
    transcribe(path, capsys, robust, expected)


@pytest.mark.parametrize("channels", [
    case(f"{n}-channel WAV", n, category="audio", expected=SAME.format("the mean of the channels"))
    for n in range(1, 9)])
def test_channel_counts(channels, audio, expected, tmp_path, capsys, robust):
    gains = 1 + 0.3 * np.linspace(-1, 1, channels) if channels > 1 else np.ones(1)  # they average to 1
    path = synth.encode(tmp_path / f"c{channels}.wav", audio[:, None] * gains, codec="pcm_s16le")
    np.testing.assert_allclose(load_audio(path), audio, atol=2 / 32768)
    transcribe(path, capsys, robust, expected)


CLIP = Path(__file__).resolve().parents[2] / "svt_live" / "data" / "vocadito_10"
DIFFERENT = "exit 0, nothing on stderr, the sung onsets still found (COn F1 >= 45 %; about 60 % on the clean clip)"


@pytest.fixture(scope="module")
def sung():
    """The bundled sung clip at 16 kHz, peak 0.5."""
    a = load_audio(CLIP.with_suffix(".wav"))
    return a / np.abs(a).max() * 0.5


@pytest.mark.parametrize("signal, codec", [
    case("8-bit unsigned WAV", lambda a: a, "pcm_u8", category="audio", expected=DIFFERENT),
    case("DC offset of 0.4", lambda a: 0.5 * a + 0.4, "pcm_s16le", category="audio", expected=DIFFERENT),
    case("clipped at 10x full scale", lambda a: np.clip(10 * a, -1, 1), "pcm_s16le", category="audio",
         expected=DIFFERENT),
])
def test_degraded_signal(signal, codec, sung, tmp_path, capsys, robust):
    path = synth.encode(tmp_path / "odd.wav", signal(sung), codec=codec)
    rc, _, lines = svt([path, "--json", path.with_suffix(".json"), "-q"], capsys)
    notes = load_notes(path.with_suffix(".json"), song_id="odd") if rc == 0 else np.zeros((0, 3))
    con = evaluate_notes(load_notes(CLIP.parent / (CLIP.name + "_notesA1.csv")), notes)["COn"][2] if len(notes) else 0.0
    robust(f"{seen(rc, lines)}; {len(notes)} notes, COn F1 {100 * con:.0f} %")
    assert rc == 0 and not lines
    assert con >= 0.45


@pytest.mark.robustness("audio", "exit 0 and no notes (not an error)", case="pure silence")
def test_silence(tmp_path, capsys, robust):
    path = synth.write_wav(tmp_path / "silence.wav", np.zeros(3 * 16000, np.float32))
    rc, out, lines = svt([path], capsys)
    robust(f"{seen(rc, lines)}; stdout `{out.strip()}`")
    assert rc == 0 and not lines and out.count("\n") == 1 and "silence.wav: 0 notes" in out
