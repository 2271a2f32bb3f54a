"""The real data in ../shared/data (skipped when absent): every annotation reads cleanly."""
import warnings

import numpy as np

from svt_live.io.annotations import load_json_notes
from svt_live.io.audio import load_audio
from svt_train.datasets import load_set, named_set

SPLITS = {"train": 12, "valid": 4, "test": 3, "example": 1}


def check_notes(notes):
    assert notes.ndim == 2 and notes.shape[1] == 3 and len(notes) > 0
    assert np.all(np.diff(notes[:, 0]) >= 0)
    assert np.all(notes[:, 1] > notes[:, 0])
    assert np.all((notes[:, 2] >= 21) & (notes[:, 2] <= 108))


def test_mir_st500_mini_all_twenty_songs(shared_data):
    root = shared_data / "mir_st500_mini"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the course file is clean: no dropped or unsorted notes
        annotations = load_json_notes(root / "annotations.json")
    assert set(annotations) == {str(i) for i in range(1, 101)}
    ids = []
    for split, count in SPLITS.items():
        songs = load_set({"kind": "mir_st500", "path": "mir_st500_mini", "split": split}, shared_data)
        assert len(songs) == count, split
        for s in songs:
            assert s.audio.name == "Mixture.mp3" and s.audio.stat().st_size > 100_000
            check_notes(s.notes)
            np.testing.assert_array_equal(s.notes, annotations[s.id])
            assert np.all(s.notes[:, 2] == np.round(s.notes[:, 2]))  # integer MIDI
        ids += [s.id for s in songs]
    assert len(set(ids)) == 20


def test_ssvd_annotations_and_a_couple_of_recordings(shared_data):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train = named_set("ssvd_train", shared_data)
        dev = named_set("ssvd_dev", shared_data)
    # the README's impossible pitches (20.0, 119.3 MIDI) are dropped, and nothing else is
    messages = [str(w.message) for w in caught]
    assert messages and all("(pitch out of range: " in m and m.count(":") == 2 for m in messages), messages
    assert len(train) == 67 and len(dev) == 26
    for s in train + dev:
        check_notes(s.notes)
        assert np.any(s.notes[:, 2] != np.round(s.notes[:, 2]))  # measured, fractional pitch
    for s in (train[0], dev[0]):
        audio = load_audio(s.audio)
        assert 0.05 < np.abs(audio).max() <= 1.0
        assert s.notes[-1, 1] <= len(audio) / 16000 + 0.5  # notes lie within the recording


def test_vocadito_both_annotators(shared_data):
    a1, a2 = (named_set("vocadito", shared_data)[0].notes,
              load_set({"kind": "vocadito", "path": "vocadito", "annotator": "A2"}, shared_data)[0].notes)
    check_notes(a1)
    check_notes(a2)
    for notes, name in ((a1, "A1"), (a2, "A2")):
        lines = (shared_data / "vocadito" / f"vocadito_10_notes{name}.csv").read_text().split()
        assert len(notes) == len(lines)  # every note is valid


def test_bundled_vocadito_copy_matches_shared(shared_data):
    from pathlib import Path

    import svt_live
    bundled = Path(svt_live.__file__).parent / "data"
    assert (bundled / "vocadito_10.wav").read_bytes() == (shared_data / "vocadito" / "vocadito_10.wav").read_bytes()


def test_ssvd_dev_pitches_re_measured_from_the_sung_f0(shared_data):
    """The data README: SSVD's pitches sit about +21 cents above the sung f0 (13-36 cents by file)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dev, sung = named_set("ssvd_dev", shared_data), named_set("ssvd_dev_f0", shared_data)
    assert [s.id for s in dev] == [s.id for s in sung]
    moved = np.concatenate([b.notes[:, 2] - a.notes[:, 2] for a, b in zip(dev, sung)])
    for a, b in zip(dev, sung):
        np.testing.assert_array_equal(a.notes[:, :2], b.notes[:, :2])
    assert -0.3 < np.median(moved) < -0.1 and np.all(np.abs(moved) <= 1.001)
