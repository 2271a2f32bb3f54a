"""benchmarks/latency.py's measures: what a recorder keeps of the port, and the NoteOn numbers."""
import numpy as np

from benchmarks.latency import number_agreement, sent_notes
from svt_live.events import NoteOff, NoteOn, PitchBend


def test_a_recorder_hears_number_plus_bend_and_keeps_the_noteon_number():
    events = [NoteOn(0.0, 60, 80, 0.02), PitchBend(0.0, 0.6, 0.02), PitchBend(0.1, 0.6, 0.12),
              NoteOff(0.5, 60, 0.0, 60.0, 0.52), NoteOn(0.5, 64, 80, 0.52), NoteOff(1.0, 64, 0.5, 64.0, 1.02)]
    heard, emitted, numbers = sent_notes(events)
    np.testing.assert_allclose(heard, [[0.0, 0.5, 60.6], [0.5, 1.0, 64.6]])  # the wheel stays where it was
    assert numbers.tolist() == [60, 64] and emitted.tolist() == [0.02, 0.52]


def test_number_agreement_counts_the_noteons_near_a_saved_onset_with_its_number():
    saved = np.array([[0.0, 0.5, 60.4], [1.0, 1.5, 62.6], [3.0, 3.5, 65.0]])
    sent = np.array([[0.02, 0.5, 60.4], [1.03, 1.5, 62.6], [2.0, 2.5, 64.0]])
    # 60 = round(60.4); 62 is not round(62.6) = 63; the third NoteOn starts no saved note
    assert number_agreement(saved, sent, np.array([60, 62, 64])) == (1, 2)
    assert number_agreement(saved, sent[:0], np.zeros(0)) == (0, 0)


def test_jack_midi_bytes_become_note_events_on_the_recordings_clock():
    from benchmarks.jack_latency import RATE, midi_events

    start = 1000  # the frame of the recording's first sample
    stamped = [(start + 480, bytes([0x90, 60, 80])),  # NoteOn 10 ms in
               (start + 960, bytes([0xE0, 0x00, 0x50])),  # bend (0x50 << 7) - 8192 = +2048: a quarter of +-2 st
               (start + 4800, bytes([0x90, 60, 0])),  # NoteOn with velocity 0 = NoteOff, 100 ms in
               (start + 9600, bytes([0x90, 62, 90])), (start + 14400, bytes([0x80, 62, 0]))]
    heard, emitted, numbers = sent_notes(midi_events(stamped, start))
    # the first note sounds unbent, then +0.5 (median 0.25); the second keeps the wheel where it was
    np.testing.assert_allclose(heard, [[0.01, 0.1, 60.25], [0.2, 0.3, 62.5]])
    np.testing.assert_allclose(emitted, [480 / RATE, 9600 / RATE])
    assert numbers.tolist() == [60, 62]


def test_jack_benchmark_finds_where_the_recording_starts_and_pairs_late_noteons():
    from benchmarks.jack_latency import LATENCY_WINDOW, lag_of, latency_pairs

    rng = np.random.default_rng(0)
    clip = rng.standard_normal(4000).astype(np.float32)
    recorded = np.concatenate([np.zeros(1234, np.float32), clip, np.zeros(500, np.float32)])
    assert lag_of(recorded, clip) == 1234
    ref = np.array([[1.0, 1.5, 60.0], [2.0, 2.5, 62.0], [3.0, 3.5, 64.0]])
    arrived = np.array([[1.04, 1.5, 60.2],  # 40 ms late: paired
                        [2.0 + LATENCY_WINDOW + 0.05, 2.6, 62.0],  # later than the window: not paired
                        [3.1, 3.5, 65.0]])  # a semitone off: not paired
    assert latency_pairs(ref, arrived) == [(0, 0)]
    assert latency_pairs(ref, arrived[:0]) == []
