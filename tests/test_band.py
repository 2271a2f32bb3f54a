"""svt_train.band: generated accompaniment for background mixing."""
import numpy as np
import pytest

from svt_live.engine.features import FeatureConfig
from svt_train.band import _fit, _tone, band_audio, band_backgrounds


def test_band_audio_is_reproducible_finite_and_normalised():
    a = band_audio(np.random.default_rng(3), 2.0)
    b = band_audio(np.random.default_rng(3), 2.0)
    c = band_audio(np.random.default_rng(4), 2.0)
    assert a.dtype == np.float32 and a.shape == (32000,)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.isfinite(a).all() and np.abs(a).max() == pytest.approx(0.9, abs=1e-6)


def test_tone_has_its_fundamental_and_a_struck_tone_decays():
    sr, f0 = 16000, 220.0
    x = _tone(f0, sr, sr, np.random.default_rng(0), tilt=2.0, decay_s=0.3, attack_s=0.005)
    spec = np.abs(np.fft.rfft(x[:4000] * np.hanning(4000)))
    assert np.fft.rfftfreq(4000, 1 / sr)[spec.argmax()] == pytest.approx(f0, abs=4)
    assert np.abs(x[-4000:]).max() < 0.1 * np.abs(x[:4000]).max()
    held = _tone(f0, sr, sr, np.random.default_rng(0), tilt=2.0, decay_s=np.inf, attack_s=0.005)
    assert np.abs(held[8000:12000]).max() == pytest.approx(np.abs(held[2000:6000]).max(), rel=0.2)


@pytest.mark.parametrize("m, lo, hi, want", [(30, 45, 76, 54), (90, 45, 76, 66), (60, 48, 72, 60)])
def test_fit_moves_by_octaves_into_the_range(m, lo, hi, want):
    assert _fit(m, lo, hi) == want


def test_band_backgrounds_are_log_mel_and_cached(tmp_path):
    cfg = FeatureConfig(n_mels=32)
    mels = band_backgrounds(2, 1.0, cfg, seed=1, cache_dir=tmp_path)
    assert mels.shape == (2, 51, 32) and mels.dtype == np.float16 and np.isfinite(mels).all()
    assert len(list(tmp_path.glob("*.band.npy"))) == 1
    again = band_backgrounds(2, 1.0, cfg, seed=1, cache_dir=tmp_path)
    assert np.array_equal(again, mels)
    assert not np.array_equal(band_backgrounds(2, 1.0, cfg, seed=2), mels)
