"""The pure functions of benchmarks/onset_timing.py on hand-made notes and posteriors."""
import numpy as np

from benchmarks.onset_timing import onset_errors, peak_centroids, shifted


def test_onset_errors_are_signed_and_keep_only_notes_found_within_the_window():
    ref = np.array([[1.0, 1.5, 60.0], [2.0, 2.5, 62.0], [3.0, 3.5, 64.0]])
    est = np.array([[1.04, 1.5, 60.0], [1.94, 2.4, 62.0], [3.3, 3.6, 64.0]])
    np.testing.assert_allclose(onset_errors(ref, est), [0.04, -0.06])
    assert onset_errors(ref, np.zeros((0, 3))).size == 0


def test_shift_moves_both_times_and_never_below_zero():
    notes = np.array([[0.01, 0.5, 60.0], [1.0, 1.2, 61.5]])
    np.testing.assert_allclose(shifted(notes, -0.02), [[0.0, 0.48, 60.0], [0.98, 1.18, 61.5]])


def test_centroid_leans_towards_the_heavier_side_of_the_peak():
    onset = np.zeros(20)
    onset[8:12] = [0.1, 0.6, 0.9, 0.3]  # peak at frame 10, more mass before it than after
    notes = np.array([[0.2, 0.4, 60.0]])
    t = peak_centroids(notes, onset, 0.02)[0, 0] / 0.02
    assert 9.0 < t < 10.0  # frame 8 (0.1 < 30 % of 0.9) is left out
    np.testing.assert_allclose(t, (9 * 0.6 + 10 * 0.9 + 11 * 0.3) / 1.8)
    lone = np.zeros(20)
    lone[10] = 0.9
    assert peak_centroids(notes, lone, 0.02)[0, 0] == 0.2
