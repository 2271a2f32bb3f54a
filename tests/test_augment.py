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


def test_reverb_tail_decays_at_the_reverberation_time_and_keeps_labels():
    """One click of power in silence: the tail after it falls 60 dB over the reverberation time,
    holds the requested share of the click's power, and nothing comes before the click."""
    aug = Augment(reverb_s=(0.5, 0.5), p=1.0)
    x = torch.full((1, 100, 8), -40.0)  # near silence (natural log of power)
    x[0, 10] = 0.0
    y = {"pitch": torch.zeros(1, 100)}
    torch.manual_seed(0)
    out, labels = aug(x, y)
    assert labels is y
    assert out[0, :10].max() < -39.0  # nothing of the click before it (the floor gains its own tail, < 3 dB)
    tail_db = 10 / np.log(10) * out[0, 11:, 0].numpy()
    slope = (tail_db[20] - tail_db[0]) / 20  # dB per frame: -60 dB per 0.5 s
    assert slope == pytest.approx(-60 * 0.02 / 0.5, rel=0.02)
    wet_db = 10 * np.log10(np.exp(out[0, 11:, 0].numpy()).sum() - np.exp(-40.0) * 89)
    assert -12.1 <= wet_db <= 0.1


@pytest.mark.parametrize("bad", [(1.0, 0.2), (0.0, 1.0), (0.5,), (0.2, 0.5, 1.0)])
def test_reverb_rejects_a_bad_range(bad):
    with pytest.raises(ValueError, match="reverb_s must be"):
        Augment(reverb_s=bad)


def test_generated_band_stands_in_when_the_songs_have_no_band_alone_window():
    """Solo singing only: with ``band_share`` the mix draws generated excerpts at a random start."""
    band = np.full((2, 40, 8), 3.0, np.float16)
    aug = Augment(background_db=(0.0, 0.0), p=1.0, backgrounds=([], []), band_share=0.5, band=band)
    mixed, _ = aug(torch.full((3, 30, 8), -2.0), {})
    torch.testing.assert_close(mixed, torch.full((3, 30, 8), -2.0 + np.log(2.0)))


def test_band_share_draws_that_share_of_backgrounds_from_the_band():
    real = [song(np.zeros(30, bool), level=0.0)]
    band = np.full((1, 30, 8), 5.0, np.float32)
    aug = Augment(background_db=(0.0, 0.0), p=1.0, backgrounds=(real, instrumental_windows(real, 30)),
                  band_share=0.25, band=band)
    torch.manual_seed(0)
    picks = [float(aug._background(30)[0, 0]) for _ in range(2000)]
    assert np.mean(np.array(picks) == 5.0) == pytest.approx(0.25, abs=0.03)


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_band_share_must_be_a_probability(share):
    with pytest.raises(ValueError, match="band_share"):
        Augment(band_share=share, band=np.zeros((1, 30, 8), np.float32))
