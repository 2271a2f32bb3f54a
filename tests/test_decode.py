"""svt_live.engine.decode: hand-built posterior curves -> expected notes and events."""
import numpy as np
import pytest

from svt_live.engine.decode import DecodeParams, NoteDecoder, decode_notes
from svt_live.events import NoteOff, NoteOn

FS = 0.02


def curves(T: int) -> dict:
    return {k: np.zeros(T) for k in ("onset", "offset", "voiced", "pitch")}


def voiced_note(post, start, end, midi):
    post["voiced"][start:end] = 1.0
    post["pitch"][start:end] = midi


@pytest.mark.parametrize("onset, start", [
    ({3: 0.3, 4: 0.7, 5: 0.9, 6: 0.6, 7: 0.2}, 5),  # a peak
    ({5: 0.8, 6: 0.8, 7: 0.8}, 7),                  # a plateau: one onset, at its last frame
])
def test_onset_peak_starts_note_and_silence_ends_it(onset, start):
    p = curves(40)
    p["onset"][list(onset)] = list(onset.values())
    voiced_note(p, 3, 20, 64.0)
    np.testing.assert_allclose(decode_notes(p), [[start * FS, 20 * FS, 64.0]])


def test_onset_below_threshold_or_not_a_peak_starts_nothing():
    p = curves(40)
    p["onset"][5] = 0.45
    voiced_note(p, 5, 30, 60.0)
    assert decode_notes(p).shape == (0, 3)
    assert len(decode_notes(p, DecodeParams(onset_threshold=0.4))) == 1


def test_offset_threshold_ends_note():
    p = curves(40)
    p["onset"][2] = 1.0
    voiced_note(p, 2, 40, 62.0)
    p["offset"][15] = 0.6
    np.testing.assert_allclose(decode_notes(p), [[2 * FS, 15 * FS, 62.0]])
    # a higher threshold ignores it; the note then runs to the end of the stream
    np.testing.assert_allclose(decode_notes(p, DecodeParams(offset_threshold=0.7)), [[2 * FS, 40 * FS, 62.0]])


def test_silence_closes_at_first_unvoiced_frame_but_one_gap_frame_does_not():
    p = curves(50)
    p["onset"][2] = 1.0
    voiced_note(p, 2, 30, 67.0)
    p["voiced"][10] = 0.0  # one unvoiced frame < silence_frames (2)
    np.testing.assert_allclose(decode_notes(p), [[2 * FS, 30 * FS, 67.0]])
    np.testing.assert_allclose(decode_notes(p, DecodeParams(silence_frames=1)), [[2 * FS, 10 * FS, 67.0]])


def test_next_onset_closes_the_sounding_note():
    p = curves(40)
    p["onset"][[2, 12]] = 1.0
    voiced_note(p, 2, 12, 60.0)
    voiced_note(p, 12, 25, 65.0)
    np.testing.assert_allclose(decode_notes(p), [[2 * FS, 12 * FS, 60.0], [12 * FS, 25 * FS, 65.0]])


def test_min_note_frames_drops_short_notes():
    p = curves(40)
    p["onset"][[2, 20]] = 1.0
    voiced_note(p, 2, 4, 60.0)    # 2 voiced frames
    voiced_note(p, 20, 23, 62.0)  # 3 voiced frames
    np.testing.assert_allclose(decode_notes(p, DecodeParams(min_note_frames=3)), [[20 * FS, 23 * FS, 62.0]])
    assert len(decode_notes(p, DecodeParams(min_note_frames=2))) == 2
    assert len(decode_notes(p, DecodeParams(min_note_frames=4))) == 0


def test_final_pitch_is_the_low_median_of_voiced_frames():
    p = curves(30)
    p["onset"][1] = 1.0
    voiced_note(p, 1, 7, 0.0)
    p["pitch"][1:7] = [60.0, 60.4, 59.9, 71.0, 60.2, 60.1]  # one outlier frame
    notes = decode_notes(p)
    assert notes.shape == (1, 3)
    assert notes[0, 2] == pytest.approx(60.1)  # low median of the six values
    p["voiced"][4] = 0.0  # unvoiced frames don't vote (outlier gone; 5 left)
    assert decode_notes(p)[0, 2] == pytest.approx(60.1)


def test_note_open_at_end_of_stream_closes_there():
    p = curves(25)
    p["onset"][20] = 1.0
    voiced_note(p, 20, 25, 55.0)
    np.testing.assert_allclose(decode_notes(p), [[20 * FS, 25 * FS, 55.0]])


def random_posteriors(rng, T=400):
    def smooth(x):
        return np.convolve(x, np.ones(3) / 3, mode="same")
    p = {
        "onset": smooth(rng.random(T) ** 3 * 1.5).clip(0, 1),
        "offset": smooth(rng.random(T) ** 3 * 1.5).clip(0, 1),
        "voiced": (smooth(rng.random(T)) > 0.35).astype(float),
        "pitch": 60 + np.cumsum(rng.normal(0, 0.3, T)),
    }
    return p


@pytest.mark.parametrize("params", [DecodeParams(), DecodeParams(0.3, 0.7, 0.5, 3, 1),
                                    DecodeParams(0.6, 1.01, 0.5, 1, 4)])
def test_frame_by_frame_equals_offline(params, rng):
    p = random_posteriors(rng)
    offline = decode_notes(p, params)
    assert len(offline) > 5
    dec = NoteDecoder(params)
    events = []
    for t in range(len(p["onset"])):
        events += dec.push({k: v[t:t + 1] for k, v in p.items()}, now=t * FS)
    events += dec.flush(now=len(p["onset"]) * FS)
    np.testing.assert_array_equal(dec.notes, offline)
    check_events_pair_up(events, offline)


def check_events_pair_up(events, notes):
    ons = [e for e in events if isinstance(e, NoteOn)]
    offs = [e for e in events if isinstance(e, NoteOff)]
    assert len(ons) == len(offs) == len(notes)
    sounding = None
    for e in events:
        if isinstance(e, NoteOn):
            assert sounding is None  # monophonic: no NoteOn while a note sounds
            sounding = e
            assert 1 <= e.velocity <= 127
        else:
            assert sounding is not None and e.pitch == sounding.pitch and e.onset == sounding.time
            assert e.time > e.onset
            assert e.emitted_at >= sounding.emitted_at
            sounding = None
    np.testing.assert_allclose([[e.onset, e.time, e.midi] for e in offs], notes)


def test_events_are_stamped_with_stream_time_and_latency_is_small():
    p = curves(40)
    p["onset"][5] = 1.0
    voiced_note(p, 5, 20, 64.0)
    dec = NoteDecoder()
    events = []
    for t in range(40):
        events += dec.push({k: v[t:t + 1] for k, v in p.items()}, now=(t + 1) * FS)
    events += dec.flush(now=40 * FS)
    on, off = events
    assert isinstance(on, NoteOn) and on.time == pytest.approx(5 * FS) and on.pitch == 64
    assert on.emitted_at == pytest.approx(8 * FS)  # 2 voiced frames + 1 frame of peak context
    assert isinstance(off, NoteOff) and off.time == pytest.approx(20 * FS)
    assert off.emitted_at == pytest.approx(23 * FS)  # second unvoiced frame (21) decided when frame 22 arrives


def test_decode_params_round_trip_ignores_unknown_keys():
    d = DecodeParams(0.3, 0.4, 0.6, 3, 5).to_dict()
    assert DecodeParams.from_dict(d | {"future_setting": 1}) == DecodeParams(0.3, 0.4, 0.6, 3, 5)


def test_note_on_pitch_skips_the_onset_frame_transient():
    p = curves(20)
    p["onset"][2] = 1.0
    voiced_note(p, 2, 10, 48.0)
    p["pitch"][2] = 60.0  # an octave-up transient on the onset frame
    dec = NoteDecoder(DecodeParams(min_note_frames=2), FS)
    events = dec.push(p) + dec.flush()
    assert [e.pitch for e in events if isinstance(e, NoteOn)] == [48]
    assert dec.notes[0, 2] == pytest.approx(48.0)


def test_tune_decoding_keeps_fixed_settings():
    """A fixed setting (the minimum note length, for live latency) is never changed by the search."""
    from svt_train.tune import tune_decoding

    t = np.arange(200) * 0.02
    voiced = ((t % 0.5) < 0.3).astype(np.float32)  # 0.3 s notes every 0.5 s
    onset = np.zeros(200, np.float32)
    onset[(np.arange(200) % 25) == 0] = 0.9
    post = {"onset": onset, "offset": np.zeros(200, np.float32), "voiced": voiced,
            "pitch": np.full(200, 60.0, np.float32)}
    ref = np.array([[s, s + 0.3, 60.0] for s in np.arange(0, 4.0, 0.5)])
    songs = {"s": (ref, post)}
    free, f_free = tune_decoding(songs, DecodeParams(min_note_frames=16))
    assert free.min_note_frames in (1, 2, 3, 4) and f_free > 0.99  # the sweep shortens it
    held, f_held = tune_decoding(songs, DecodeParams(min_note_frames=16), fixed={"min_note_frames": 16})
    assert held.min_note_frames == 16 and f_held == 0.0  # 0.3 s notes are shorter than 16 frames
