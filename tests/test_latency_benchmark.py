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
