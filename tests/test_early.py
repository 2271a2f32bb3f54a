"""The live port's early decoder on hand-made posteriors: when NoteOns go out, corrections, order."""
from __future__ import annotations

import numpy as np
import pytest
from compare import assert_same_notes

from svt_live.engine.decode import DecodeParams
from svt_live.engine.early import ONSET_LEAD_FRAMES, EarlyNoteDecoder
from svt_live.events import NoteOff, NoteOn, PitchBend

FS = 0.02
PARAMS = DecodeParams(onset_threshold=0.5, offset_threshold=0.8, voiced_threshold=0.5, silence_frames=2)


def posteriors(notes, n_frames: int, rng=None, jitter: float = 0.0) -> dict:
    """Frames ``[n]`` for notes ``(first frame, last frame, [pitch per frame] or pitch)``: an onset
    spike on the first frame, voiced frames at the pitches, silence elsewhere."""
    post = {k: np.zeros(n_frames) for k in ("onset", "offset", "voiced", "pitch")}
    for first, last, pitch in notes:
        post["onset"][first] = 0.9
        post["voiced"][first:last + 1] = 0.9
        post["pitch"][first:last + 1] = pitch
    if jitter:
        post["pitch"] += rng.normal(0, jitter, n_frames)
    return post


def decode(post: dict, **kwargs) -> tuple[list, EarlyNoteDecoder]:
    """Push frame by frame as live mode does, stamping each frame's events with its stream time."""
    dec = EarlyNoteDecoder(PARAMS, FS, **kwargs)
    events = []
    for t in range(len(post["onset"])):
        events += dec.push({k: v[t:t + 1] for k, v in post.items()}, now=(t + 1) * FS)
    return events + dec.flush(now=len(post["onset"]) * FS), dec


def check_stream(events: list) -> None:
    """Event times never go back, no event precedes its emission, every NoteOn is closed by the
    NoteOff of its number before another NoteOn, and nothing is left sounding."""
    sounding = None
    last = 0.0
    for ev in events:
        assert ev.time >= last - 1e-9 and ev.time <= ev.emitted_at + 1e-9, ev
        last = ev.time
        if isinstance(ev, NoteOn):
            assert sounding is None, f"{ev} while {sounding} sounds"
            sounding = ev.pitch
        elif isinstance(ev, NoteOff):
            assert sounding == ev.pitch, ev
            sounding = None
    assert sounding is None


def test_note_on_on_the_first_voiced_frame_stamped_at_the_onset():
    events, dec = decode(posteriors([(5, 30, 62.2)], 40))
    on = events[0]
    assert isinstance(on, NoteOn) and on.pitch == 62
    assert on.time == pytest.approx((5 + ONSET_LEAD_FRAMES) * FS) and on.emitted_at == pytest.approx(6 * FS)
    assert dec.notes.tolist() == [[pytest.approx(0.12), pytest.approx(0.62), 62.0]]
    check_stream(events)


def test_confirm_frames_delay_the_note_on_but_not_its_time():
    post = posteriors([(5, 30, 62.2)], 40)
    post["onset"][5] = 0.6  # above the threshold (0.5), below the sure onset
    on = decode(post, confirm_frames=3, sure_onset=0.8)[0][0]
    assert on.time == pytest.approx((5 + ONSET_LEAD_FRAMES) * FS) and on.emitted_at == pytest.approx(8 * FS)
    post["onset"][5] = 0.85  # a sure onset: its first voiced frame is enough
    on = decode(post, confirm_frames=3, sure_onset=0.8)[0][0]
    assert on.time == pytest.approx((5 + ONSET_LEAD_FRAMES) * FS) and on.emitted_at == pytest.approx(6 * FS)


def test_a_wrong_provisional_pitch_is_retriggered_and_never_hangs():
    pitch = np.full(26, 64.0)
    pitch[:2] = 61.0  # a scoop from below: the first frames are a minor third flat
    events, dec = decode(posteriors([(5, 30, pitch)], 40), correct_frames=2)
    ons = [e for e in events if isinstance(e, NoteOn)]
    assert [e.pitch for e in ons] == [61, 64]
    assert dec.n_corrections == 1
    check_stream(events)
    assert dec.notes[:, 2].tolist() == [61.0, 64.0]
    assert dec.notes[0, 1] == pytest.approx(dec.notes[1, 0])  # the retrigger replaces, nothing overlaps


def test_with_bends_a_pitch_within_the_bend_range_is_bent_not_retriggered():
    pitch = np.full(26, 64.0)
    pitch[:2] = 62.6  # a scoop within the wheel's 2 semitones
    events, dec = decode(posteriors([(5, 30, pitch)], 40), bends=True)
    assert [e.pitch for e in events if isinstance(e, NoteOn)] == [63] and dec.n_corrections == 0
    assert [e for e in events if isinstance(e, PitchBend)][-1].semitones == pytest.approx(1.0)
    far = np.full(26, 67.0)
    far[:2] = 62.6  # a fourth away: past the wheel, retriggered
    events, dec = decode(posteriors([(5, 30, far)], 40), bends=True)
    assert [e.pitch for e in events if isinstance(e, NoteOn)] == [63, 67] and dec.n_corrections == 1


def test_a_repeated_onset_while_the_posterior_stays_high_starts_a_new_note():
    post = posteriors([(5, 20, 60.0), (21, 40, 62.0)], 50)
    post["onset"][5:23] = 0.6  # never below the threshold (0.5) from the first onset on...
    post["onset"][[5, 21]] = 0.9  # ...but rising again at the second
    events, dec = decode(post)
    assert [e.pitch for e in events if isinstance(e, NoteOn)] == [60, 62]
    check_stream(events)


def test_a_steady_note_with_pitch_noise_is_not_corrected(rng):
    events, dec = decode(posteriors([(3, 60, 57.1), (70, 110, 59.8)], 120, rng, jitter=0.15))
    assert dec.n_corrections == 0 and [e.pitch for e in events if isinstance(e, NoteOn)] == [57, 60]
    check_stream(events)


def test_onsets_close_the_previous_note_and_silence_ends_notes():
    events, dec = decode(posteriors([(2, 20, 60.0), (21, 40, 62.0), (60, 70, 65.0)], 90))
    check_stream(events)
    assert dec.notes[:, :2].round(2).tolist() == [[0.06, 0.42], [0.44, 0.82], [1.22, 1.42]]


def test_an_onset_without_voice_sends_nothing():
    post = posteriors([], 30)
    post["onset"][10] = 0.9
    events, dec = decode(post)
    assert events == [] and len(dec.notes) == 0


def test_pitch_bends_follow_the_contour_in_time_order():
    contour = 60.0 + 0.3 * np.sin(np.arange(31) / 3.0)  # vibrato
    events, _ = decode(posteriors([(5, 35, contour)], 45), bends=True)
    check_stream([e for e in events if not isinstance(e, PitchBend)])
    bends = [e for e in events if isinstance(e, PitchBend)]
    assert len(bends) > 10
    assert isinstance(events[0], PitchBend) and isinstance(events[1], NoteOn)  # the note starts bent
    assert all(b.time >= a.time for a, b in zip(events, events[1:]))
    assert max(abs(b.semitones) for b in bends) == pytest.approx(0.3, abs=0.02)


def decode_refined(post: dict, refined: dict, delay: int, **kwargs) -> tuple[list, EarlyNoteDecoder]:
    """:func:`decode` with frame ``t`` of ``refined`` handed to :meth:`EarlyNoteDecoder.refine` after
    live frame ``t + delay`` (the accurate network commits its frames later)."""
    dec = EarlyNoteDecoder(PARAMS, FS, **kwargs)
    events, n = [], len(post["onset"])
    for t in range(n):
        events += dec.push({k: v[t:t + 1] for k, v in post.items()}, now=(t + 1) * FS)
        if t >= delay:
            events += dec.refine(t - delay, {k: v[t - delay:t - delay + 1] for k, v in refined.items()},
                                 now=(t + 1) * FS)
    return events + dec.flush(now=n * FS), dec


def test_refined_frames_take_over_the_bends_and_the_settled_pitch():
    live, exact = posteriors([(5, 30, 60.4)], 40), posteriors([(5, 30, 61.3)], 40)  # live 60.4, truth 61.3
    events, dec = decode_refined(live, exact, delay=3, bends=True)
    assert [e.pitch for e in events if isinstance(e, NoteOn)] == [60] and dec.n_corrections == 0
    bends = [e for e in events if isinstance(e, PitchBend)]
    assert bends[0].semitones == pytest.approx(0.4) and bends[-1].semitones == pytest.approx(1.3)
    assert bends[-1].time == pytest.approx(9 * FS)  # the refined frame 6 arrives with live frame 9
    assert all(b.time >= a.time for a, b in zip(events, events[1:]))
    check_stream([e for e in events if not isinstance(e, PitchBend)])


def test_a_refined_pitch_past_the_tolerance_retriggers_and_never_hangs():
    live, exact = posteriors([(5, 30, 60.2), (34, 45, 64.0)], 50), posteriors([(5, 30, 62.0), (34, 45, 64.0)], 50)
    events, dec = decode_refined(live, exact, delay=2, correct_frames=2)  # no bends: 0.7 semitone tolerance
    assert [e.pitch for e in events if isinstance(e, NoteOn)] == [60, 62, 64] and dec.n_corrections == 1
    check_stream(events)
    assert dec.notes[:, 2].tolist() == [60.0, 62.0, 64.0]
    assert dec.notes[0, 1] == pytest.approx(dec.notes[1, 0]) and dec.notes[0, 1] <= 10 * FS


def test_refined_frames_outside_the_sounding_note_change_nothing():
    live = posteriors([(5, 20, 60.0)], 30)
    exact = posteriors([(5, 20, 63.0)], 30)
    plain, _ = decode(live, bends=True)
    late, _ = decode_refined(live, exact, delay=17, bends=True)  # every refined frame arrives after the note
    assert late == plain
    dec = EarlyNoteDecoder(PARAMS, FS)
    assert dec.refine(0, exact) == []  # nothing sounds yet


def test_bad_settings_are_refused():
    from svt_live.engine.lowlatency import LowLatencyEngine

    with pytest.raises(ValueError, match="accurate_hops"):
        LowLatencyEngine(None, None, accurate_hops=0)
    with pytest.raises(ValueError, match="confirm_frames"):
        EarlyNoteDecoder(PARAMS, FS, confirm_frames=0)


# ---- the live path end to end: bundled live network and default model on sung-like tones -----------

SUNG = [(0.30, 0.80, 60.0), (1.00, 1.45, 64.0), (1.45, 1.90, 67.0), (2.20, 2.80, 57.0), (3.00, 3.50, 69.0),
        (3.70, 4.40, 62.0)]  # (onset s, offset s, MIDI): gaps, a legato pair, low and high voices
LATENCY_BOUND = 0.090  # s: the p95 target of live mode (docs/low-latency.md)


def stream_take(notes, **kwargs) -> tuple:
    """``sung_tones`` of ``notes`` streamed in 10 ms blocks through live mode's engine (``kwargs``: its
    settings); returns the audio, the accurate model, the engine and every event."""
    from synth import sung_tones

    from svt_live.engine.checkpoint import load_model
    from svt_live.engine.lowlatency import LowLatencyEngine, load_live_model

    audio = sung_tones(notes, 4.8, seed=3)
    lm = load_model("singing_crnn" if kwargs.get("refine") else None)  # refining needs a causal network
    eng = LowLatencyEngine(lm, load_live_model(), 16000, **kwargs)
    events = []
    for i in range(0, len(audio), 160):
        events += eng.push(audio[i:i + 160])
    return audio, lm, eng, events + eng.finish()


@pytest.fixture(scope="module")
def live_take():
    """:data:`SUNG` through live mode's default settings."""
    return stream_take(SUNG)


def test_sung_tones_get_their_note_on_within_the_bound(live_take):
    _, _, eng, events = live_take
    ons = [e for e in events if isinstance(e, NoteOn)]
    for onset, _, _midi in SUNG:
        first = [e for e in ons if abs(e.time - onset) <= 0.05 + 1e-9]  # mir_eval's onset tolerance
        assert first, f"no NoteOn near {onset} s: {ons}"
        assert first[0].emitted_at - onset <= LATENCY_BOUND + 1e-9, first[0]
    sent = eng.live_notes  # the right number sounds for at least half of each note, whatever the first guess
    for onset, offset, midi in SUNG:
        inside = sent[(sent[:, 0] < offset) & (sent[:, 1] > onset)]
        right = inside[inside[:, 2] == midi]
        assert (np.minimum(right[:, 1], offset) - np.maximum(right[:, 0], onset)).sum() >= 0.5 * (offset - onset)


def test_live_events_never_go_back_and_never_hang(live_take):
    _, _, _, events = live_take
    check_stream(events)
    assert all(b.emitted_at >= a.emitted_at for a, b in zip(events, events[1:]))


@pytest.fixture(scope="module")
def refined_take():
    """:data:`SUNG` 40 cents sharp through live mode with pitch bends, refined by the accurate network
    called every other hop."""
    return stream_take([(on, off, midi + 0.4) for on, off, midi in SUNG], bends=True, accurate_hops=2, refine=True)


def test_a_refined_take_sounds_as_the_files_in_order(refined_take):
    from benchmarks.latency import sent_notes
    from svt_live.engine.offline import transcribe_audio

    audio, _, eng, events = refined_take
    check_stream([e for e in events if not isinstance(e, PitchBend)])
    assert all(b.time >= a.time and b.emitted_at >= a.emitted_at for a, b in zip(events, events[1:]))
    # two frames per accurate call: the same notes up to float rounding of the batched frames
    assert_same_notes(eng.notes, transcribe_audio(audio, eng.accurate.lm)[0])
    heard = sent_notes(events)[0]  # number plus the median bend while it sounds
    assert len(eng.notes) >= len(SUNG) - 1
    for onset, _, pitch in eng.notes:  # each accurate note sounds on the port at the accurate pitch
        near = heard[np.abs(heard[:, 0] - onset) <= 0.05 + 1e-9]
        assert len(near) and abs(near[0, 2] - pitch) <= 0.1, (onset, pitch, near)


def test_the_port_gets_the_same_events_whatever_the_block_size(refined_take):
    from svt_live.engine.lowlatency import LowLatencyEngine, load_live_model

    audio, lm, eng, events = refined_take
    again = LowLatencyEngine(lm, load_live_model(), 16000, bends=True, accurate_hops=2, refine=True)
    stereo = np.c_[audio, audio]
    mixed = [e for i in range(0, len(audio), 1234) for e in again.push(stereo[i:i + 1234])] + again.finish()
    assert [(type(e), e.time, getattr(e, "pitch", None), getattr(e, "semitones", None)) for e in mixed] == \
        [(type(e), e.time, getattr(e, "pitch", None), getattr(e, "semitones", None)) for e in events]
    with pytest.raises(ValueError, match="blocks must be"):
        LowLatencyEngine(lm, load_live_model(), 16000).push(np.zeros((2, 2, 2)))


def test_the_files_of_a_live_take_are_file_mode_notes(live_take):
    from svt_live.engine.offline import transcribe_audio

    audio, lm, eng, _ = live_take
    assert_same_notes(eng.notes, transcribe_audio(audio, lm)[0])
    assert len(eng.velocities) == len(eng.notes)
