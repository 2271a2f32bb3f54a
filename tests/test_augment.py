"""svt_train.augment: batch augmentation on log-mel, including mixing in note-free (band-only) windows."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from svt_train.augment import Augment, instrumental_windows


def song(voiced: np.ndarray, level: float) -> SimpleNamespace:
    """A cached-song stand-in: log-mel ``[T, 8]`` at ``level`` and a pitch label per frame."""
    mel = np.full((len(voiced), 8), level, np.float32)
    return SimpleNamespace(mel=mel, labels={"pitch": np.where(voiced, 60.0, 0.0).astype(np.float32)})


def test_instrumental_windows_are_exactly_the_note_free_ones():
    voiced = np.zeros(100, bool)
    voiced[40:50] = True
    windows = instrumental_windows([song(voiced, 0.0)], length=20, step=5)
    assert windows == [(0, 0), (0, 5), (0, 10), (0, 15), (0, 20), (0, 50), (0, 55), (0, 60), (0, 65),
                       (0, 70), (0, 75), (0, 80)]


def test_background_mix_adds_power_at_the_requested_level_and_keeps_labels():
    bands = [song(np.zeros(60, bool), level=3.0)]
    aug = Augment(background_db=(0.0, 0.0), p=1.0, backgrounds=(bands, instrumental_windows(bands, 30)))
    x = torch.full((4, 30, 8), -2.0)
    y = {"pitch": torch.ones(4, 30)}
    mixed, labels = aug(x, y)
    assert labels is y and torch.equal(x, torch.full((4, 30, 8), -2.0))  # input untouched
    # 0 dB relative to the segment's mean power: the power doubles, log-power rises by log 2
    torch.testing.assert_close(mixed, torch.full((4, 30, 8), -2.0 + np.log(2.0)))


def test_background_mix_needs_a_note_free_window():
    busy = [song(np.ones(60, bool), 0.0)]
    with pytest.raises(ValueError, match="no note-free window"):
        Augment(background_db=(-10.0, 0.0), backgrounds=(busy, instrumental_windows(busy, 30)))
