"""Log-mel features, computed with torch, shared by training and runtime.

One frame every ``hop`` samples (20 ms at 16 kHz). Frame ``t`` is centred on
sample ``t * hop``: it sees the ``win`` samples around that point (zeros
before the start and after the end of the audio), Hann-windowed and
zero-padded to ``n_fft`` before the FFT. A signal of ``N`` samples gives
``N // hop + 1`` frames. Because every frame only reads its own samples,
:class:`MelStream` produces exactly the frames :func:`log_mel` computes
offline, whatever block sizes the audio arrives in.
"""
from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass

import numpy as np
import torch

# (lowest, highest) of each whole-number setting: a checkpoint declaring more is refused, not built
FEATURE_LIMITS = {"sample_rate": (1000, 384000), "hop": (1, 384000), "win": (1, 65536), "n_fft": (1, 65536),
                  "n_mels": (1, 1024)}
# what the settings cost together (each within its limits, extremes together would need hundreds of GB):
# mel values per second of audio (frames per second x n_mels; the default's 12 800, 4 bytes each), spectrum
# bins per second (frames per second x (n_fft // 2 + 1); the default's 51 250) and filterbank weights
# ((n_fft // 2 + 1) x n_mels; the default's 262 400)
FEATURE_BUDGET = {"mel values per second": 2 ** 17, "spectrum bins per second": 2 ** 22,
                  "filterbank weights": 2 ** 24}
CHUNK_SAMPLES = 2 ** 23  # samples of frames transformed at once (4096 frames at n_fft 2048)


@dataclass(frozen=True)
class FeatureConfig:
    """Feature settings; stored in every checkpoint and part of cache keys.

    Attributes: ``sample_rate`` (Hz), ``hop`` (samples, 320 = 20 ms),
    ``win`` (samples of audio per frame), ``n_fft`` (FFT size, >= win),
    ``n_mels`` (mel bands), ``fmin``/``fmax`` (Hz, band edges).
    """

    sample_rate: int = 16000
    hop: int = 320
    win: int = 1024
    n_fft: int = 2048
    n_mels: int = 256
    fmin: float = 30.0
    fmax: float = 8000.0

    def __post_init__(self):
        for key, (lo, hi) in FEATURE_LIMITS.items():
            v = getattr(self, key)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"feature setting {key} must be a positive integer, got {v!r}")
            if not lo <= v <= hi:
                raise ValueError(f"feature setting {key} must be from {lo} to {hi}, got {v!r}")
        if self.n_fft < self.win:
            raise ValueError(f"feature setting n_fft ({self.n_fft}) must be >= win ({self.win})")
        if self.hop > self.sample_rate:
            raise ValueError(f"feature setting hop ({self.hop}) must be at most a second (sample_rate)")
        for what, value in self.costs().items():
            if value > FEATURE_BUDGET[what]:
                raise ValueError(f"feature settings hop {self.hop}, n_fft {self.n_fft}, n_mels {self.n_mels} at "
                                 f"{self.sample_rate} Hz ask for {value:.0f} {what}, more than "
                                 f"{FEATURE_BUDGET[what]}")
        if not (isinstance(self.fmin, numbers.Real) and isinstance(self.fmax, numbers.Real)
                and 0 <= self.fmin < self.fmax <= self.sample_rate / 2):
            raise ValueError(f"feature settings need 0 <= fmin < fmax <= sample_rate / 2, "
                             f"got {self.fmin!r}, {self.fmax!r}")

    def costs(self) -> dict:
        """What these settings cost, by the names of :data:`FEATURE_BUDGET`."""
        fps, bins = self.sample_rate / self.hop, self.n_fft // 2 + 1
        return {"mel values per second": fps * self.n_mels, "spectrum bins per second": fps * bins,
                "filterbank weights": bins * self.n_mels}

    @property
    def frame_seconds(self) -> float:
        """Seconds between frames (0.02)."""
        return self.hop / self.sample_rate

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FeatureConfig:
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown feature settings: {sorted(unknown)}")
        return cls(**d)


def _hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(cfg: FeatureConfig) -> torch.Tensor:
    """Triangular HTK-mel filters, area-normalised. Shape ``[n_fft//2+1, n_mels]``."""
    freqs = np.linspace(0.0, cfg.sample_rate / 2, cfg.n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(cfg.fmin), _hz_to_mel(cfg.fmax), cfg.n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (centre - lower)
    falling = (upper - freqs[None, :]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= 2.0 / (upper - lower)
    return torch.from_numpy(weights.T.astype(np.float32))


def audio_frames(x: torch.Tensor, cfg: FeatureConfig) -> torch.Tensor:
    """Mono samples ``[N]`` -> the ``[N // hop + 1, win]`` sample frames features see: frame ``t`` centred
    on sample ``t * hop``, zeros beyond both ends (a view, no copy of the audio)."""
    half = cfg.win // 2
    padded = torch.nn.functional.pad(x, (half, half + cfg.hop))
    return padded.unfold(0, cfg.win, cfg.hop)[:x.shape[0] // cfg.hop + 1]


class MelExtractor:
    """Holds the window and filterbank for one :class:`FeatureConfig` and device."""

    def __init__(self, cfg: FeatureConfig = FeatureConfig(), device: str | torch.device = "cpu"):
        if cfg.n_fft < cfg.win:
            raise ValueError("n_fft must be >= win")
        self.cfg = cfg
        self.device = torch.device(device)
        self.window = torch.hann_window(cfg.win, periodic=True, device=self.device)
        self.filters = mel_filterbank(cfg).to(self.device)

    def frames_to_mel(self, frames: torch.Tensor) -> torch.Tensor:
        """Windowed log-mel of raw sample frames ``[T, win]`` -> ``[T, n_mels]``."""
        spec = torch.fft.rfft(frames * self.window, n=self.cfg.n_fft)
        power = spec.real.square() + spec.imag.square()
        return torch.log(power @ self.filters + 1e-8)

    def __call__(self, audio: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Log-mel of a whole signal.

        ``audio``: mono samples ``[N]`` at ``cfg.sample_rate``.
        Returns ``[N // hop + 1, n_mels]`` float32 on ``self.device``.
        """
        x = torch.as_tensor(np.asarray(audio, dtype=np.float32)).to(self.device)
        if x.ndim != 1:
            raise ValueError(f"expected mono audio [N], got shape {tuple(x.shape)}")
        frames = audio_frames(x, self.cfg)
        n_frames = frames.shape[0]
        out = []
        step = max(1, min(4096, CHUNK_SAMPLES // self.cfg.n_fft))  # bounded memory on hour-long input
        for start in range(0, n_frames, step):
            out.append(self.frames_to_mel(frames[start:start + step]))
        return torch.cat(out) if out else torch.zeros(0, self.cfg.n_mels, device=self.device)


def log_mel(audio: np.ndarray, cfg: FeatureConfig = FeatureConfig(), device: str = "cpu") -> torch.Tensor:
    """Log-mel features ``[T, n_mels]`` of mono ``audio [N]`` at ``cfg.sample_rate``."""
    return MelExtractor(cfg, device)(audio)


class MelStream:
    """Incremental :func:`log_mel`: push sample blocks, get the frames they complete.

    Frame ``t`` is emitted once samples up to ``t * hop + win // 2`` have
    arrived; :meth:`flush` pads the end with zeros and emits the rest, so the
    concatenated output equals ``log_mel`` of the whole signal. Memory is
    bounded: only the last ``win`` samples are kept.
    """

    def __init__(self, extractor: MelExtractor):
        self.extractor = extractor
        cfg = extractor.cfg
        self._buf = np.zeros(cfg.win // 2, dtype=np.float32)  # left zero padding
        self._buf_start = -(cfg.win // 2)  # stream sample index of _buf[0]
        self.n_samples = 0
        self.n_frames = 0

    def _emit(self, upto_frame: int) -> torch.Tensor:
        cfg = self.extractor.cfg
        half = cfg.win // 2
        n = upto_frame - self.n_frames
        if n <= 0:
            return torch.zeros(0, cfg.n_mels, device=self.extractor.device)
        first = self.n_frames * cfg.hop - half - self._buf_start
        x = torch.from_numpy(self._buf).to(self.extractor.device)
        frames = x[first:first + (n - 1) * cfg.hop + cfg.win].unfold(0, cfg.win, cfg.hop)
        self.n_frames = upto_frame
        keep_from = self.n_frames * cfg.hop - half - self._buf_start
        self._buf = self._buf[keep_from:]
        self._buf_start += keep_from
        return self.extractor.frames_to_mel(frames)

    def push(self, samples: np.ndarray) -> torch.Tensor:
        """Add mono samples ``[n]``; return the newly complete frames ``[k, n_mels]``."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self._buf = np.concatenate([self._buf, samples])
        self.n_samples += samples.shape[0]
        cfg = self.extractor.cfg
        # frame t is complete when n_samples >= t*hop + win//2
        ready = max(0, (self.n_samples - cfg.win // 2) // cfg.hop + 1)
        return self._emit(min(ready, self.n_samples // cfg.hop + 1))

    def flush(self) -> torch.Tensor:
        """Zero-pad the end and return the remaining frames (total ``N // hop + 1``)."""
        cfg = self.extractor.cfg
        self._buf = np.concatenate([self._buf, np.zeros(cfg.win, dtype=np.float32)])
        return self._emit(self.n_samples // cfg.hop + 1)
