"""svt_live.engine.streaming: streamed notes equal offline notes, whatever the blocks, rate, channels or hop."""
import numpy as np
import pytest
import synth
from compare import assert_same_notes

from svt_live.engine.checkpoint import load_model
from svt_live.engine.offline import transcribe_audio, transcribe_file
from svt_live.engine.streaming import FILE_HOP, LIVE_HOP, Engine
from svt_live.evaluate import evaluate_notes
from svt_live.events import NoteOff, NoteOn

MELODY = [[0.30, 0.90, 60.0], [1.00, 1.45, 62.3], [1.60, 2.40, 64.0], [2.55, 2.80, 67.0],
          [3.00, 3.90, 65.2], [4.20, 5.00, 71.0], [5.10, 5.60, 69.0], [5.80, 6.70, 57.5]]
DURATION = 7.2


def sung(sr: int, seed: int = 0) -> np.ndarray:
    """Sung-like mono audio ``[N]`` at ``sr``: MELODY (:func:`synth.sung_tones`)."""
    return synth.sung_tones(MELODY, DURATION, sr, seed)


def random_blocks(x: np.ndarray, rng, low: int = 1, high: int = 3000):
    pos = 0
    while pos < len(x):
        n = int(rng.integers(low, high))
        yield x[pos:pos + n]
        pos += n


def run_engine(lm, blocks, sr: int, hop: float = LIVE_HOP, overlap: bool = False):
    eng = Engine(lm, sr, hop, overlap=overlap)
    events = []
    for b in blocks:
        events += eng.push(b)
    events += eng.finish()
    return eng.notes, events


@pytest.fixture(scope="module")
def lm(note_model):
    return load_model(note_model)


@pytest.fixture(scope="module")
def offline16(lm):
    audio = sung(16000)
    notes, _ = transcribe_audio(audio, lm)
    assert len(notes) >= 5, "the test model should yield notes on the melody"
    return audio, notes


@pytest.mark.parametrize("dtype", ["int16", "float32"])
def test_16k_stereo_random_blocks_equal_offline(lm, offline16, dtype, rng):
    audio, offline = offline16
    right = 0.5 * audio  # the engine averages channels: the mono mix is 0.75 * audio
    stereo = np.stack([audio, right], axis=1)
    if dtype == "int16":
        stereo = np.round(stereo * 32767).astype(np.int16)
        mono = (stereo.astype(np.float64) / 32768).mean(axis=1).astype(np.float32)
    else:
        mono = stereo.astype(np.float64).mean(axis=1).astype(np.float32)
    expected, _ = transcribe_audio(mono, lm)
    notes, _ = run_engine(lm, random_blocks(stereo, rng), 16000)
    assert_same_notes(notes, expected)
    assert len(offline) and len(notes)


def test_events_describe_the_notes(lm, offline16, rng):
    audio, offline = offline16
    notes, events = run_engine(lm, random_blocks(audio, rng), 16000)
    assert_same_notes(notes, offline)
    ons = [e for e in events if isinstance(e, NoteOn)]
    offs = [e for e in events if isinstance(e, NoteOff)]
    assert len(ons) == len(offs) == len(notes)
    np.testing.assert_array_equal([e.time for e in ons], notes[:, 0])
    np.testing.assert_array_equal([[e.onset, e.time, e.midi] for e in offs], notes)
    emitted = [e.emitted_at for e in events]
    assert emitted == sorted(emitted)
    assert all(e.emitted_at >= e.time for e in ons)
    # a note still sounding at the end closes after the last frame, up to one frame past the audio
    assert all(e.emitted_at >= e.time - 0.02 for e in offs)
    assert all(1 <= e.velocity <= 127 for e in ons)
    # every NoteOn comes before its NoteOff and notes never overlap
    order = [(type(e).__name__, e.pitch) for e in events]
    for i in range(0, len(order), 2):
        assert order[i][0] == "NoteOn" and order[i + 1] == ("NoteOff", order[i][1])


def test_hop_does_not_change_notes(lm, offline16):
    audio, offline = offline16
    for hop in (0.02, LIVE_HOP, 0.33, FILE_HOP, 60.0):
        notes, _ = run_engine(lm, [audio[i:i + 1000] for i in range(0, len(audio), 1000)], 16000, hop)
        assert_same_notes(notes, offline)


def test_file_mode_overlap_gives_the_same_notes_and_events(lm, offline16):
    """Overlap (recurrent part on a worker thread) delays events by one hop, never changes them."""
    audio, offline = offline16
    blocks = [audio[i:i + 8000] for i in range(0, len(audio), 8000)]
    plain_notes, plain_events = run_engine(lm, blocks, 16000, 1.0)
    notes, events = run_engine(lm, blocks, 16000, 1.0, overlap=True)
    assert_same_notes(notes, offline)
    assert_same_notes(notes, plain_notes)
    assert [(type(e), e.time, e.pitch) for e in events] == [(type(e), e.time, e.pitch) for e in plain_events]


@pytest.fixture(scope="module")
def audio44(tmp_path_factory):
    """The melody at 44.1 kHz: stereo float32 ``[N, 2]`` and a 16-bit stereo WAV of it."""
    mono = sung(44100, seed=1)
    stereo = np.stack([mono, 0.8 * mono], axis=1)
    path = tmp_path_factory.mktemp("a44") / "sung44.wav"
    synth.encode(path, stereo.mean(axis=1), sr=44100, codec="pcm_s16le", stereo=True)
    return stereo, path


def test_44k_stereo_blocks_match_file_mode(lm, audio44, rng):
    """Engine at 44.1 kHz vs offline transcription of the same audio as a WAV file.

    Both resample with swresample but in different set-ups (mono after
    mixing vs per channel), so samples differ by rounding: notes may differ
    at the edge of a threshold, not more.
    """
    stereo, path = audio44
    expected, _ = transcribe_file(path, lm)
    assert len(expected) >= 5
    for blocks in (random_blocks(stereo, rng),  # float32
                   random_blocks(np.round(stereo * 32767).astype(np.int16), rng, 100, 5000)):
        notes, _ = run_engine(lm, blocks, 44100)
        assert evaluate_notes(expected, notes)["COnPOff"][2] >= 0.9
        assert abs(len(notes) - len(expected)) <= 1


def test_44k_block_size_independent(lm, audio44, rng):
    stereo, _ = audio44
    whole, _ = run_engine(lm, [stereo], 44100)
    notes, _ = run_engine(lm, random_blocks(stereo, rng, 1, 800), 44100)
    assert len(whole) >= 5
    assert_same_notes(notes, whole)


def test_finish_is_final(lm):
    eng = Engine(lm, 16000)
    eng.push(np.zeros(800, np.float32))
    eng.finish()
    assert eng.finish() == []
    with pytest.raises(RuntimeError):
        eng.push(np.zeros(10, np.float32))


def test_driver_stops_between_blocks_and_closes_the_sounding_note(lm, offline16):
    """svt_live.engine.driver.Driver: a stop request after 3 s of blocks ends the stream there; finish closes the
    note sounding at the cut, and the sinks got exactly the events the engine returned."""
    from svt_live.engine.driver import Driver

    x = sung(16000)
    blocks = [x[i:i + 1600] for i in range(0, len(x), 1600)]
    read, pushes, seen = [], [], []
    eng = Engine(lm, 16000, LIVE_HOP)
    Driver(eng, [seen.extend, pushes.append], stop=lambda: len(pushes) == 30).run(
        read.append(b) or b for b in blocks)
    assert len(read) == 31 and len(pushes) == 31  # the 31st block was read, then refused; pushes + finish
    notes, events = run_engine(lm, blocks[:30], 16000)
    assert_same_notes(eng.notes, notes)
    assert seen == events and isinstance(seen[-1], NoteOff) and eng.notes[-1, 1] <= 3.0 + 1e-6


@pytest.fixture(scope="module")
def bi_lm(lm):
    """The note model made non-causal: its weights, a reverse GRU direction that counts, 0.8 s windows."""
    import torch

    from svt_live.engine.checkpoint import LoadedModel
    from svt_live.models import build_model

    torch.manual_seed(1)
    model = build_model("singing_crnn", channels=(8, 8, 8), hidden=48, bidirectional=True, window=40,
                        window_context=10).eval()
    model.load_state_dict(lm.model.state_dict(), strict=False)
    with torch.no_grad():
        model.merge.weight[:, 48:].normal_(std=0.1)
    return LoadedModel(model, lm.features, lm.decoding, {}, "bi")


def test_bidirectional_model_streams_the_offline_notes_whatever_the_blocks_and_hop(bi_lm, rng):
    audio = sung(16000)
    offline, _ = transcribe_audio(audio, bi_lm)
    assert len(offline) >= 5
    for hop, overlap in ((LIVE_HOP, False), (0.33, False), (FILE_HOP, True)):
        eng = Engine(bi_lm, 16000, hop, overlap=overlap)
        before = []
        for b in random_blocks(audio, rng):
            before += eng.push(b)
        # frames are committed a window and its right context late; finish() commits the rest
        assert before and eng.post.n_done < eng.post.n_in
        after = eng.finish()
        assert eng.post.n_done == eng.post.n_in
        assert after and len([e for e in before + after if isinstance(e, NoteOn)]) == len(offline)
        assert_same_notes(eng.notes, offline)
