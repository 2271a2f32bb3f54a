"""Teachers' posteriors cached per training song (svt_train.teacher): computed once from the clean
audio with the teacher's own features, reused, and frame-aligned with the student's labels."""
import numpy as np
import pytest
import torch
from synth import tiny_training_setup

from svt_live.engine.checkpoint import load_model
from svt_live.engine.features import FeatureConfig
from svt_train.fit import prepare
from svt_train.loader import batches, segment
from svt_train.teacher import align_frames, attach_soft_targets, soft_targets

LIVE = FeatureConfig(win=640)  # the live network's features; the bundled singing_crnn reads a 1024-sample window


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("teacher")
    tiny_training_setup(root, model="singing_crnn")
    teacher = load_model("singing_crnn")
    assert teacher.features != LIVE and teacher.features.hop == LIVE.hop
    # the three songs and a tape-speed copy of each, 4 semitones up
    songs, cached, _, _ = prepare([{"kind": "folder", "path": "train"}], LIVE, str(root), root / "cache", "train",
                                  [4])
    computed, read = attach_soft_targets(songs, cached, [teacher], ["singing_crnn"], root / "cache")
    return root, teacher, songs, cached, computed, read


def test_a_teacher_with_other_features_gives_soft_targets_that_line_up_with_the_labels(setup):
    root, teacher, songs, cached, computed, read = setup
    assert (computed, read) == (6, 0)
    assert len(list((root / "cache").glob("*.soft.npy"))) == 6
    for song, c in zip(songs, cached):
        (soft,) = c.soft
        assert soft.shape == (len(c.labels["pitch"]), 3 + teacher.model.n_bins) == (c.mel.shape[0], 273)
        probs = soft[:, 2:].astype(np.float64)
        assert np.allclose(probs.sum(1), 1.0, atol=0.02)
        pitch = c.labels["pitch"]
        voiced = pitch > 0
        heard = 1.0 - probs[:, 0] > 0.5
        bins = probs[:, 1:].argmax(1)
        midi = teacher.model.lowest_midi + bins / teacher.model.bins_per_semitone
        # the copies' soft targets come from the copies' audio: their pitch is the labels', 4 semitones up
        assert (voiced & heard).sum() >= 10 and np.median(np.abs(midi - pitch)[voiced & heard]) < 0.5, song.id
        if song.speed == 1:  # frame by frame, the teacher hears a note where the labels give one
            assert (heard == voiced).mean() > 0.9, song.id
            # shifted by two frames, the teacher's voicing agrees less often: the grid is the labels'
            assert (np.roll(heard, 2) == voiced).mean() < (heard == voiced).mean() - 0.02


def test_teacher_posteriors_are_computed_once_and_read_back(setup, monkeypatch):
    root, teacher, songs, cached, _, _ = setup

    def fail(*args, **kwargs):
        raise AssertionError("the teacher ran again")

    monkeypatch.setattr("svt_train.teacher.frame_posteriors", fail)
    again = [type(c)(c.id, c.mel, c.labels) for c in cached]
    assert attach_soft_targets(songs, again, [teacher], ["singing_crnn"], root / "cache") == (0, 6)
    for c, d in zip(cached, again):
        assert np.array_equal(c.soft[0], d.soft[0])


def test_a_corrupt_entry_is_rebuilt(setup, tmp_path):
    root, teacher, songs, cached, _, _ = setup
    fresh = [type(c)(c.id, c.mel, c.labels) for c in cached[:1]]
    attach_soft_targets(songs[:1], fresh, [teacher], ["singing_crnn"], tmp_path)
    (entry,) = tmp_path.glob("*.soft.npy")
    data = entry.read_bytes()
    entry.unlink()  # a new file: the one read above stays memory-mapped
    entry.write_bytes(data[:200])
    again = [type(c)(c.id, c.mel, c.labels) for c in cached[:1]]
    with pytest.warns(UserWarning, match="corrupt; rebuilding it"):
        assert attach_soft_targets(songs[:1], again, [teacher], ["singing_crnn"], tmp_path) == (1, 0)
    assert np.array_equal(again[0].soft[0], fresh[0].soft[0])


def test_soft_targets_are_sliced_with_the_segment_and_padded_with_silence(setup):
    _, teacher, songs, cached, _, _ = setup
    c = cached[0]
    n = c.mel.shape[0]
    mel, labels = segment(c, n - 20, 50)
    assert labels["soft"].shape == (50, 273)
    assert np.array_equal(labels["soft"][:20], np.asarray(c.soft[0][n - 20:], np.float32))
    assert (labels["soft"][20:, 2] == 1).all() and (labels["soft"][20:, [0, 1, 3]] == 0).all()
    x, y = next(batches(cached, [(0, 10), (3, 0)], batch_size=2, segment_frames=50))
    assert y["soft"].shape == (2, 50, 273) and y["soft"].dtype == torch.float32
    target = soft_targets(y["soft"])
    assert target["pitch"].shape == (2, 50, 1 + teacher.model.n_bins)
    assert torch.equal(target["onset"][1], torch.from_numpy(np.asarray(cached[3].soft[0][:50, 0], np.float32)))


def test_frame_counts_are_padded_or_cropped_by_one_frame_at_most():
    soft = np.arange(12, dtype=np.float16).reshape(4, 3)
    assert np.array_equal(align_frames(soft, 3), soft[:3])
    assert np.array_equal(align_frames(soft, 5), np.concatenate([soft, soft[-1:]]))
    assert np.array_equal(align_frames(soft, 4), soft)
    for n in (2, 6):
        with pytest.raises(ValueError, match="not the same frame grid"):
            align_frames(soft, n)


def test_the_cache_key_follows_the_teachers_weights_not_its_decoding(tmp_path):
    from dataclasses import replace

    from svt_live.engine.checkpoint import save_checkpoint
    from svt_train.teacher import teacher_digest

    lm = load_model("singing_crnn")
    digest = teacher_digest(lm)
    save_checkpoint(tmp_path / "retuned.pt", lm.model, {}, lm.features,
                    replace(lm.decoding, onset_threshold=lm.decoding.onset_threshold / 2), {"epoch": 3})
    assert teacher_digest(load_model(tmp_path / "retuned.pt")) == digest  # a final tuning rewrote the file
    windowed = load_model("singing_crnn")
    windowed.model.window = 100
    assert teacher_digest(windowed) != digest
    with torch.no_grad():
        lm.model.pitch_head.bias[5] += 1e-3
    assert teacher_digest(lm) != digest
