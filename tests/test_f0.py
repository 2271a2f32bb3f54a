"""svt_train.f0: note pitches re-measured from the sung fundamental, on synthetic harmonic tones."""
import numpy as np
import pytest
from synth import harmonic_tones, write_song, write_ssvd_txt

from svt_train.datasets import load_set
from svt_train.f0 import note_offsets

SUNG = np.array([[0.1, 0.6, 47.0], [0.7, 1.2, 59.6], [1.3, 1.8, 71.2]])  # low, middle and high voice


@pytest.mark.parametrize("sharp", [0.0, 0.3, 0.75, -0.4])
def test_note_offsets_find_the_sung_pitch_under_a_misplaced_annotation(sharp):
    audio = harmonic_tones(SUNG, 2.0, sr=16000, harmonics=8)
    annotated = SUNG + [0, 0, sharp]
    np.testing.assert_allclose(note_offsets(annotated, audio), -sharp, atol=0.06)


def test_overlapping_notes_are_measured_on_their_own_frames():
    audio = harmonic_tones([[0.1, 0.5, 60.0], [0.5, 1.0, 64.3]], 1.2, sr=16000, harmonics=8)
    annotated = np.array([[0.1, 0.7, 60.2], [0.5, 1.0, 64.0]])  # the first runs into the second
    np.testing.assert_allclose(note_offsets(annotated, audio), [-0.2, 0.3], atol=0.06)


def test_pitch_from_f0_in_a_data_spec(tmp_path):
    write_song(tmp_path, "1011", SUNG, 2.0, ext=".flac")
    write_ssvd_txt(tmp_path / "1011.txt", SUNG + [0, 0, 0.5])  # annotated half a semitone sharp
    plain = load_set({"kind": "ssvd", "path": "."}, tmp_path)[0]
    sung = load_set({"kind": "ssvd", "path": ".", "pitch_from_f0": True}, tmp_path)[0]
    np.testing.assert_allclose(plain.notes[:, 2], SUNG[:, 2] + 0.5)
    np.testing.assert_allclose(sung.notes[:, 2], SUNG[:, 2], atol=0.06)
    np.testing.assert_array_equal(sung.notes[:, :2], plain.notes[:, :2])
    with pytest.raises(ValueError, match="pitch_from_f0 must be true or false"):
        load_set({"kind": "ssvd", "path": ".", "pitch_from_f0": "yes"}, tmp_path)
