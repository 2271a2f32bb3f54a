"""svt_train.loader: epoch plans (with and without pitch-shifted copies) and batches."""
import math

import numpy as np

from svt_train.cache import CachedSong
from svt_train.loader import batches, epoch_plan


def song(n_frames: int) -> CachedSong:
    labels = {k: np.zeros(n_frames, np.float32) for k in ("onset", "offset", "pitch")}
    labels.update({k: np.zeros(n_frames, np.int64) for k in ("octave", "pitch_class")})
    return CachedSong("x", np.zeros((n_frames, 4), np.float16), labels)


def test_plan_covers_each_song_about_once():
    songs = [song(600), song(100), song(251)]
    plan = epoch_plan(songs, 250, np.random.default_rng(0))
    counts = np.bincount([i for i, _ in plan], minlength=3)
    assert counts.tolist() == [3, 1, 2]
    assert all(0 <= st <= max(0, songs[i].mel.shape[0] - 250) for i, st in plan)


def test_plan_with_copies_draws_about_p_of_segments_from_them_within_their_length():
    # two songs, each with two copies (as fit's prepare() orders them: originals, then copies)
    songs = [song(2500), song(5000), song(2200), song(2800), song(4400), song(5600)]
    variants = {0: [2, 3], 1: [4, 5]}
    rng = np.random.default_rng(0)
    plans = [epoch_plan(songs, 250, rng, variants, p_variant=0.5) for _ in range(20)]
    drawn = [i for plan in plans for i, _ in plan]
    assert all(len(plan) == math.ceil(2500 / 250) + math.ceil(5000 / 250) for plan in plans)
    from_copies = np.mean([i >= 2 for i in drawn])
    assert 0.4 < from_copies < 0.6
    # a song's segments come only from it or its own copies, in proportion to its length
    assert 0.3 < np.mean([i in (0, 2, 3) for i in drawn]) < 0.37
    assert all(0 <= st <= songs[i].mel.shape[0] - 250 for plan in plans for i, st in plan)
    assert set(drawn) == set(range(6))


def test_batches_shapes_and_padding():
    songs = [song(300), song(100)]
    x, y = next(batches(songs, [(0, 100), (1, 0)], batch_size=2, segment_frames=250))
    assert tuple(x.shape) == (2, 250, 4)
    assert all(tuple(v.shape) == (2, 250) for v in y.values())
