"""svt_live.engine.features: frame count, mel placement of a tone, streaming == offline."""
import numpy as np
import pytest
import torch
from synth import harmonic_tones

from svt_live.engine.features import (
    FeatureConfig,
    MelExtractor,
    MelStream,
    _hz_to_mel,
    _mel_to_hz,
    log_mel,
    mel_filterbank,
)

CFG = FeatureConfig()


@pytest.mark.parametrize("n", [0, 1, 319, 320, 321, 1000, 16000, 16321])
def test_frame_count_and_bins(n):
    mel = log_mel(np.zeros(n, np.float32))
    assert mel.shape == (n // 320 + 1, 256)
    assert mel.dtype == torch.float32
    assert torch.isfinite(mel).all()


def test_rejects_stereo_array():
    with pytest.raises(ValueError, match="mono"):
        log_mel(np.zeros((2, 1000), np.float32))


def centre_frequencies(cfg=CFG):
    edges = _mel_to_hz(np.linspace(_hz_to_mel(cfg.fmin), _hz_to_mel(cfg.fmax), cfg.n_mels + 2))
    return edges[1:-1]


def test_filterbank_peaks_at_its_centre_frequencies():
    fb = mel_filterbank(CFG).numpy()  # [n_fft//2+1, n_mels]
    assert fb.shape == (CFG.n_fft // 2 + 1, CFG.n_mels)
    freqs = np.linspace(0, CFG.sample_rate / 2, CFG.n_fft // 2 + 1)
    centres = centre_frequencies()
    bin_hz = freqs[1]
    for k in (40, 100, 200, 250):
        assert abs(freqs[fb[:, k].argmax()] - centres[k]) <= bin_hz / 2 + 1e-6


@pytest.mark.parametrize("hz", [150.0, 220.0, 440.0, 1000.0, 3000.0, 5000.0])
def test_sine_lands_in_the_mel_bin_centred_nearest_to_it(hz):
    t = np.arange(16000) / 16000
    mel = log_mel((0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32))
    loudest = int(mel[10:-10].mean(0).argmax())  # away from the zero-padded edges
    nearest = int(np.abs(centre_frequencies() - hz).argmin())
    assert loudest == nearest
    # and the loudest band is far above a band an octave away
    far = int(np.abs(centre_frequencies() - hz * 2.5).argmin())
    assert mel[10:-10, loudest].mean() > mel[10:-10, far].mean() + 5


def test_silence_frames_are_at_the_floor_and_tone_frames_above():
    audio = harmonic_tones([[0.5, 1.0, 69.0]], 1.5)
    mel = log_mel(audio)
    floor = np.log(1e-8)
    assert mel[5].max().item() == pytest.approx(floor, abs=1e-3)  # 0.1 s: silence, window far from the tone
    assert mel[37].max().item() > floor + 10  # 0.74 s: inside the note


def test_mel_stream_random_blocks_equal_offline(rng):
    audio = rng.standard_normal(16000 + 123).astype(np.float32) * 0.1
    offline = log_mel(audio)
    stream = MelStream(MelExtractor(CFG))
    parts, pos = [], 0
    while pos < len(audio):
        n = int(rng.choice([0, 1, 7, 160, 319, 320, 321, 1000, 2500]))
        parts.append(stream.push(audio[pos:pos + n]))
        pos += n
    parts.append(stream.flush())
    online = torch.cat(parts)
    assert online.shape == offline.shape
    torch.testing.assert_close(online, offline, rtol=1e-5, atol=1e-4)
    assert stream.n_frames == len(audio) // 320 + 1


def test_mel_stream_emits_frames_as_soon_as_complete():
    stream = MelStream(MelExtractor(CFG))
    assert stream.push(np.zeros(511, np.float32)).shape[0] == 0  # frame 0 needs samples up to 512
    assert stream.push(np.zeros(1, np.float32)).shape[0] == 1
    assert stream.push(np.zeros(319, np.float32)).shape[0] == 0
    assert stream.push(np.zeros(1, np.float32)).shape[0] == 1  # frame 1 complete at 320 + 512


def test_feature_config_round_trip_and_unknown_keys():
    cfg = FeatureConfig(n_mels=128, fmin=50.0)
    assert FeatureConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.frame_seconds == pytest.approx(0.02)
    with pytest.raises(ValueError, match="unknown feature settings"):
        FeatureConfig.from_dict({"n_mel": 128})
