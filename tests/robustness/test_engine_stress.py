"""The streaming engine under what devices and long sessions give it: random block sizes, rates,
channel counts, sample types and garbage samples (NaN, Inf, huge values), and a long stream whose
buffers must stay bounded."""
import numpy as np
import pytest
import synth
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine import sung

from svt_live.engine.checkpoint import load_model
from svt_live.engine.streaming import FILE_HOP, LIVE_HOP, Engine
from svt_live.evaluate import evaluate_notes
from svt_live.events import NoteOff, NoteOn

MELODY = [[0.1, 0.5, 60.0], [0.6, 1.1, 64.0], [1.2, 1.5, 67.0], [1.7, 2.3, 62.0]]


@pytest.fixture(scope="module")
def lm(note_model):
    return load_model(note_model)


def check_events(events: list) -> None:
    """The event contract: every NoteOff closes an open NoteOn of its pitch, a pitch never sounds
    twice at once, note times and emission times never go backwards."""
    sounding = {}
    for ev in events:
        if isinstance(ev, NoteOn):
            assert ev.pitch not in sounding, f"overlapping notes of pitch {ev.pitch}"
            sounding[ev.pitch] = ev.time
        else:
            assert isinstance(ev, NoteOff) and ev.pitch in sounding, f"NoteOff without NoteOn: {ev}"
            assert ev.onset == sounding.pop(ev.pitch) <= ev.time
    assert not sounding, "notes left open after finish()"
    on_times = [e.time for e in events if isinstance(e, NoteOn)]
    emitted = [e.emitted_at for e in events]
    assert on_times == sorted(on_times) and emitted == sorted(emitted)


def to_dtype(x: np.ndarray, dtype: str) -> np.ndarray:
    """Float samples (full scale 1.0, may hold NaN/Inf/huge values) as a device would give ``dtype``."""
    if np.dtype(dtype).kind == "f":
        with np.errstate(over="ignore"):
            return x.astype(dtype)
    info = np.iinfo(dtype)
    mid, half = (info.max + info.min + 1) / 2, (info.max - info.min + 1) / 2
    scaled = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0) * half + mid
    return np.clip(scaled, info.min, info.max).astype(dtype)


GARBAGE = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "huge": 3e38, "tiny": 1e-30, "silence": 0.0,
           "full scale": 1.0}


@pytest.mark.robustness("engine", "never raises; every NoteOff follows its NoteOn; no overlapping notes of a "
                                  "pitch; NoteOn times and emission times never go backwards",
                        case="property test: random rates (8-192 kHz), 1-8 channels, sample types, block sizes, "
                             "hops, NaN/Inf/huge/silent stretches")
def test_engine_contract_holds_for_any_stream(lm, robust):
    notes_seen = []

    @settings(max_examples=20, deadline=None, derandomize=True, database=None,  # fixed seed, no example database
              suppress_health_check=list(HealthCheck))
    @given(rate=st.integers(8000, 192000), channels=st.integers(1, 8),
           dtype=st.sampled_from(["float32", "float64", "float16", "int16", "int32", "uint8"]),
           hop=st.sampled_from([0.01, LIVE_HOP, 0.3, FILE_HOP]), seconds=st.floats(0.0, 2.5),
           garbage=st.lists(st.tuples(st.sampled_from(sorted(GARBAGE)), st.floats(0, 1), st.floats(0, 0.3)),
                            max_size=3),
           block_sizes=st.lists(st.integers(1, 6000), min_size=1, max_size=8))
    def check(rate, channels, dtype, hop, seconds, garbage, block_sizes):
        x = synth.harmonic_tones(MELODY, 2.5, sr=rate)[:int(seconds * rate)].astype(np.float64)
        for kind, start, length in garbage:
            a = int(start * len(x))
            x[a:a + int(length * len(x))] = GARBAGE[kind]
        x = to_dtype(x[:, None] * np.linspace(1.0, 0.5, channels), dtype)
        eng, events, pos, i = Engine(lm, rate, hop), [], 0, 0
        while pos < len(x):
            n = block_sizes[i % len(block_sizes)]
            events += eng.push(x[pos:pos + n] if channels > 1 or i % 2 else x[pos:pos + n, 0])  # [n] or [n, c]
            pos, i = pos + n, i + 1
        events += eng.finish()
        check_events(events)
        assert np.isfinite(eng.notes).all() and len(events) == 2 * len(eng.notes)
        notes_seen.append(len(eng.notes))

    check()
    robust(f"{len(notes_seen)} random streams, a third or more with notes; contract held in all")
    assert sum(n > 0 for n in notes_seen) >= len(notes_seen) / 3, "the test model should give notes"


def run(lm, blocks) -> tuple[np.ndarray, list]:
    eng, events = Engine(lm, 16000, LIVE_HOP), []
    for b in blocks:
        events += eng.push(b)
    events += eng.finish()
    check_events(events)
    return eng.notes, events


def blocks_with(audio: np.ndarray, at: float, burst: np.ndarray) -> list:
    """10 ms blocks of ``audio`` with ``burst`` in place of the audio from ``at`` seconds."""
    x = audio.copy()
    a = int(at * 16000)
    x[a:a + len(burst)] = burst
    return [x[i:i + 160] for i in range(0, len(x), 160)]


@pytest.mark.robustness("engine", "NaN/Inf samples count as silence: notes identical to zeros in their place",
                        case="NaN and Inf samples pushed mid-stream (as from a device)")
def test_nan_and_inf_from_a_device(lm, robust):
    audio = sung(16000)
    burst = np.tile(np.array([np.nan, np.inf, -np.inf, 0.5], np.float32), 2000)  # 0.5 s
    garbage, _ = run(lm, blocks_with(audio, 2.0, burst))
    zeros, _ = run(lm, blocks_with(audio, 2.0, np.where(np.isfinite(burst), burst, 0).astype(np.float32)))
    robust(f"{len(garbage)} notes, identical to the stream with zeros in place")
    assert len(garbage) >= 5
    np.testing.assert_array_equal(garbage, zeros)


@pytest.mark.robustness("engine", "no exception; the model recovers: notes after the burst as with silence there",
                        case="burst of huge sample values (1e20) mid-stream")
def test_huge_samples_do_not_poison_the_model(lm, robust):
    audio = sung(16000)
    burst = np.full(8000, 1e20, np.float32)
    noisy, _ = run(lm, blocks_with(audio, 1.0, burst))
    quiet, _ = run(lm, blocks_with(audio, 1.0, np.zeros_like(burst)))
    after = lambda notes: notes[notes[:, 0] >= 2.0]  # noqa: E731  (a second after the burst)
    f1 = evaluate_notes(after(quiet), after(noisy))["COnPOff"][2]
    robust(f"{len(after(noisy))} notes after the burst, COnPOff F1 {f1:.2f} against silence in its place")
    assert len(after(quiet)) >= 5 and f1 >= 0.9


@pytest.mark.robustness("load", "engine buffers stay bounded (no growth with stream length)",
                        case="43 s live stream: 44.1 kHz stereo file fed in 10 ms blocks at ~10x real time")
def test_long_stream_keeps_buffers_bounded(lm, tmp_path, robust):
    from svt_live.io.audio import iter_audio

    stereo = np.stack([sung(44100, seed=2), 0.7 * sung(44100, seed=3)], axis=1)
    path = synth.encode(tmp_path / "take.wav", stereo, sr=44100, codec="pcm_s16le")
    eng = Engine(lm, 44100, LIVE_HOP)
    sizes, notes = [], 0
    for _ in range(6):  # 6 x 7.2 s, as one stream: what a device would deliver, only faster
        for block in iter_audio(path, 44100, block_seconds=0.01):
            notes += sum(isinstance(e, NoteOn) for e in eng.push(block))
            sizes.append((eng.mel._buf.size, eng.post._buf.shape[0], eng._n_pending, len(eng.decoder._frames)))
    eng.finish()
    sizes = np.array(sizes)
    first, last = sizes[:len(sizes) // 2].max(axis=0), sizes[len(sizes) // 2:].max(axis=0)
    cfg = lm.features
    robust(f"{eng.stream_time:.0f} s, {notes} notes; largest buffers: {last[0]} samples of mel input, "
           f"{last[1]} model frames, {last[2]} pending samples, {last[3]} decoder frames")
    assert eng.stream_time > 40 and notes > 50
    assert (last <= first).all(), "buffers grew with the stream's length"
    assert last[0] <= cfg.win + eng.hop + cfg.hop and last[2] < eng.hop
    assert last[1] <= lm.model.context + lm.lookahead + eng.hop // cfg.hop + 1 and last[3] <= 1
