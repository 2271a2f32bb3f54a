"""svt_train.labels: notes -> 20 ms frame labels -> notes, and the course label values."""
import numpy as np
import pytest

from svt_train.labels import LABEL_KEYS, frames_to_notes, notes_to_frames

FS = 0.02


def test_round_trip_on_grid_is_exact():
    notes = np.array([[0.10, 0.50, 60.0], [0.50, 0.86, 62.0], [1.00, 1.40, 71.0], [2.02, 2.10, 45.0]])
    labels = notes_to_frames(notes, n_frames=150)
    back = frames_to_notes(labels)
    np.testing.assert_allclose(back, notes, atol=1e-9)


def test_round_trip_snaps_times_to_grid_and_keeps_fractional_pitch():
    notes = np.array([[0.113, 0.487, 60.3], [0.71, 1.009, 67.8]])
    back = frames_to_notes(notes_to_frames(notes, 100))
    np.testing.assert_allclose(back[:, :2], np.round(notes[:, :2] / FS) * FS, atol=1e-9)
    np.testing.assert_allclose(back[:, 2], notes[:, 2], rtol=0, atol=1e-5)


def test_note_reaching_the_end_closes_at_the_last_frame():
    labels = notes_to_frames(np.array([[0.2, 5.0, 64.0]]), n_frames=50)
    assert labels["offset"].sum() == 0  # offset frame past the end: no offset label
    np.testing.assert_allclose(frames_to_notes(labels), [[0.2, 1.0, 64.0]], atol=1e-9)


def test_label_arrays_shapes_and_frame_coverage():
    labels = notes_to_frames(np.array([[0.1, 0.3, 60.0]]), n_frames=20)
    assert set(labels) == set(LABEL_KEYS)
    assert all(v.shape == (20,) for v in labels.values())
    assert np.flatnonzero(labels["onset"]).tolist() == [5]
    assert np.flatnonzero(labels["offset"]).tolist() == [15]
    assert np.flatnonzero(labels["pitch"]).tolist() == list(range(5, 15))  # onset frame .. offset frame - 1


@pytest.mark.parametrize("midi, octave, pitch_class", [
    (35, 0, 12),   # B1: below the course range
    (36, 1, 1),    # C2: lowest in range
    (47, 1, 12),
    (48, 2, 1),
    (60, 3, 1),    # C4
    (69, 3, 10),   # A4
    (71, 3, 12),
    (72, 4, 1),
    (83, 4, 12),   # B5: highest in range
    (84, 0, 1),    # C6: above
    (61.4, 3, 2),  # rounds to C#4
    (61.6, 3, 3),  # rounds to D4
])
def test_course_label_values(midi, octave, pitch_class):
    labels = notes_to_frames(np.array([[0.1, 0.2, midi]]), n_frames=20)
    assert labels["octave"][5] == octave
    assert labels["pitch_class"][5] == pitch_class
    assert labels["pitch"][5] == pytest.approx(midi)
    # silence everywhere else
    assert labels["octave"][:5].sum() == labels["pitch_class"][:5].sum() == 0
    assert labels["pitch_class"][10:].sum() == 0


def test_overlapping_notes_later_one_wins():
    labels = notes_to_frames(np.array([[0.0, 0.4, 60.0], [0.2, 0.6, 64.0]]), n_frames=40)
    assert labels["pitch"][5] == 60 and labels["pitch"][10] == 64 and labels["pitch"][19] == 64
    assert labels["pitch"][30] == 0


def test_note_starting_after_the_end_is_ignored():
    labels = notes_to_frames(np.array([[3.0, 3.5, 60.0]]), n_frames=20)
    assert all(v.sum() == 0 for v in labels.values())
