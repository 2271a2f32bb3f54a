"""svt_train.datasets: the MIR-ST500, SSVD, vocadito and folder layouts, on tiny synthetic copies."""
import json

import numpy as np
import pytest
from synth import encode, harmonic_tones, write_midi, write_song, write_wav

from svt_live.notes import NoteError
from svt_train.datasets import folder, load_set, mir_st500, named_set, ssvd, vocadito

NOTES = np.array([[0.1, 0.4, 60.0], [0.5, 0.8, 64.0]])


def fake_mir_st500(root):
    """``<root>/<split>/<id>/Mixture.mp3`` + one ``annotations.json`` (with an id that has no audio)."""
    ann = {}
    for split, sid, shift in (("train", "62", 0), ("train", "65", 2), ("valid", "81", 5)):
        d = root / split / sid
        d.mkdir(parents=True)
        notes = NOTES + [0, 0, shift]
        encode(d / "Mixture.mp3", harmonic_tones(notes, 1.0, sr=44100), sr=44100, codec="libmp3lame",
               stereo=True)
        ann[sid] = notes.tolist()
    ann["99"] = NOTES.tolist()  # annotated but no audio here, like ids 1-100 in the real file
    (root / "annotations.json").write_text(json.dumps(ann))
    return root


def test_mir_st500_layout(tmp_path):
    root = fake_mir_st500(tmp_path / "mir")
    train = mir_st500(root, "train")
    assert [s.id for s in train] == ["62", "65"]
    assert train[0].audio == root / "train" / "62" / "Mixture.mp3"
    np.testing.assert_array_equal(train[1].notes, NOTES + [0, 0, 2])
    assert [s.id for s in load_set({"kind": "mir_st500", "path": "mir", "split": "valid"}, tmp_path)] == ["81"]
    with pytest.raises(NoteError, match="no songs with audio and annotations"):
        mir_st500(root, "test")


def test_mir_st500_without_annotations_file(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(NoteError, match="annotations.json: no such annotation file"):
        mir_st500(tmp_path, "train")


def test_ssvd_layout_offset_and_exclude(tmp_path):
    for stem in ("1011", "364", "1072"):
        write_song(tmp_path, stem, NOTES, 1.0, ext=".flac")
    (tmp_path / "orphan.txt").write_text("0.1\t0.2\t60\n")  # no audio: skipped
    songs = ssvd(tmp_path, pitch_offset=-0.21, exclude=("364",))
    assert [s.id for s in songs] == ["1011", "1072"]
    np.testing.assert_allclose(songs[0].notes[:, 2], NOTES[:, 2] - 0.21)
    spec = {"kind": "ssvd", "path": ".", "exclude": ["364"], "pitch_offset": -0.21}
    assert [s.id for s in load_set(spec, tmp_path)] == ["1011", "1072"]


def test_ssvd_empty_folder(tmp_path):
    with pytest.raises(NoteError, match="no SSVD .flac/.txt pairs"):
        ssvd(tmp_path)


def test_vocadito_layout(tmp_path):
    write_wav(tmp_path / "vocadito_3.wav", harmonic_tones(NOTES, 1.0))
    (tmp_path / "vocadito_3_notesA1.csv").write_text("0.1,261.6255653,0.3\n")
    (tmp_path / "vocadito_3_notesA2.csv").write_text("0.1,261.6255653,0.3\n0.5,329.6275569,0.3\n")
    assert len(vocadito(tmp_path)[0].notes) == 1
    np.testing.assert_allclose(vocadito(tmp_path, "A2")[0].notes, NOTES, atol=1e-6)
    with pytest.raises(NoteError, match="no vocadito clips with A3 annotations"):
        vocadito(tmp_path, "A3")


def test_folder_reader_pairs_audio_with_same_stem_annotations(tmp_path):
    write_song(tmp_path, "a", NOTES, 1.0)                      # wav + txt
    write_song(tmp_path, "b", NOTES, 1.0, ext=".flac")
    (tmp_path / "b.txt").unlink()
    (tmp_path / "b.json").write_text(json.dumps({"b": NOTES.tolist(), "other": []}))  # json picks by stem
    encode(tmp_path / "c.mp3", harmonic_tones(NOTES, 1.0), codec="libmp3lame")
    write_midi(tmp_path / "c.mid", NOTES)
    write_wav(tmp_path / "d.wav", harmonic_tones(NOTES, 1.0))  # no annotation: skipped
    songs = folder(tmp_path)
    assert [s.id for s in songs] == ["a", "b", "c"]
    for s in songs:
        np.testing.assert_allclose(s.notes, NOTES, atol=1e-6)
    assert [s.id for s in named_set(str(tmp_path), "/nonexistent")] == ["a", "b", "c"]


def test_folder_without_pairs(tmp_path):
    write_wav(tmp_path / "d.wav", harmonic_tones(NOTES, 1.0))
    with pytest.raises(NoteError, match="no audio files with a same-stem annotation"):
        folder(tmp_path)


def test_unknown_kind_and_set_names(tmp_path):
    with pytest.raises(ValueError, match="unknown data kind 'zip'"):
        load_set({"kind": "zip", "path": "."}, tmp_path)
    with pytest.raises(ValueError, match="unknown set 'mir_tset'"):
        named_set("mir_tset", tmp_path)
