"""Data augmentation on log-mel batches (cheap, done per batch on the fly).

- gain: add ``U(-gain_db, +gain_db)`` dB to the whole segment
- noise: mix in stationary noise at ``U(noise_db)`` dB relative to the
  segment's mean power, in the power domain (``log(exp(x) + n)``)
- freq_mask: zero (to the segment minimum) one random band of up to
  ``freq_mask`` mel bins with probability 0.5
- reverb: with probability 0.5, add a diffuse tail: each frame's power
  spreads over the following frames, decaying exponentially with a
  reverberation time (-60 dB) of ``U(reverb_s)`` seconds, at ``U(-12, 0)``
  dB relative to the dry signal (a power-domain model of a room, applied to
  the whole segment, before background mixing)
- background: with probability 0.5, mix in an accompaniment-only excerpt
  (a window of a training song with no annotated note, see
  :func:`instrumental_windows`) at ``U(background_db)`` dB relative to the
  segment's mean power, in the power domain (``logaddexp``): solo singing
  learns to stand out from a band. With ``band_share``, that share of the
  backgrounds comes from generated band excerpts instead (``band``, from
  :func:`svt_train.band.band_backgrounds`), at a random start

Labels are unchanged by all five.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .cache import CachedSong


def instrumental_windows(songs: list[CachedSong], length: int, step: int = 25) -> list[tuple[int, int]]:
    """``(song index, start frame)`` of every ``length``-frame window (every ``step`` frames) without
    an annotated note: in songs with accompaniment these are the band alone (intros, interludes)."""
    out = []
    for i, s in enumerate(songs):
        voiced = np.concatenate([[0], np.cumsum(np.asarray(s.labels["pitch"]) > 0)])  # voiced frames before t
        n = len(voiced) - 1
        out += [(i, st) for st in range(0, n - length + 1, step) if voiced[st + length] == voiced[st]]
    return out


class Augment:
    """Batch augmentation; ``backgrounds``: log-mel windows to mix in, as ``(songs, windows)`` from
    :func:`instrumental_windows`; ``band``: generated excerpts ``[n, T, F]`` drawn with probability
    ``band_share`` (one of the two is needed when ``background_db`` is set)."""

    def __init__(self, gain_db: float = 0.0, noise_db: tuple = (), freq_mask: int = 0, p: float = 0.5,
                 background_db: tuple = (), backgrounds: tuple | None = None, reverb_s: tuple = (),
                 band_share: float = 0.0, band: np.ndarray | None = None, frame_seconds: float = 0.02):
        self.gain = gain_db * math.log(10) / 10  # dB -> natural log of power
        self.noise_db = tuple(noise_db)
        self.freq_mask = int(freq_mask)
        self.p = p
        self.background_db = tuple(background_db)
        if not 0 <= band_share <= 1:
            raise ValueError(f"band_share must be a probability in [0, 1], got {band_share!r}")
        self.band_share = float(band_share) if band is not None and len(band) else 0.0
        self.band = band
        has_real = bool(backgrounds and backgrounds[1])
        if self.background_db and not has_real and self.band_share == 0:
            raise ValueError("background_db is set but the training songs have no note-free window to mix in "
                             "(set band_share to mix generated band excerpts instead)")
        if not has_real and self.band_share:
            self.band_share = 1.0
        self.backgrounds = backgrounds
        self.reverb_s = tuple(reverb_s)
        if self.reverb_s and not (len(self.reverb_s) == 2 and 0 < self.reverb_s[0] <= self.reverb_s[1]):
            raise ValueError(f"reverb_s must be [shortest, longest] reverberation times in seconds, got {reverb_s!r}")
        self.frame_seconds = frame_seconds

    def _reverb(self, x: torch.Tensor, rt60: float, wet_db: float) -> torch.Tensor:
        """``x [T, F]`` log power -> with an exponential tail of ``rt60`` s at ``wet_db`` dB."""
        decay_db = 60.0 * self.frame_seconds / rt60  # power decay per frame
        k = torch.arange(1, int(math.ceil(60.0 / decay_db)) + 1, dtype=x.dtype)
        tail = 10 ** (-decay_db * k / 10)
        tail = tail * (10 ** (wet_db / 10) / tail.sum())  # whole tail: wet_db relative to the dry frame
        power = x.exp().T.unsqueeze(1)  # [F, 1, T]
        kernel = torch.cat([tail.flip(0), torch.zeros(1, dtype=x.dtype)]).view(1, 1, -1)  # no dry tap
        wet = torch.nn.functional.conv1d(torch.nn.functional.pad(power, (len(tail), 0)), kernel)
        return torch.logaddexp(x, wet.squeeze(1).T.clamp_min(1e-30).log())

    def _background(self, length: int) -> torch.Tensor:
        if self.band_share and torch.rand(()) < self.band_share:
            clip = self.band[int(torch.randint(len(self.band), ()))]
            start = int(torch.randint(clip.shape[0] - length + 1, ()))
            return torch.from_numpy(np.asarray(clip[start:start + length], dtype=np.float32))
        songs, windows = self.backgrounds
        i, start = windows[int(torch.randint(len(windows), ()))]
        return torch.from_numpy(np.asarray(songs[i].mel[start:start + length], dtype=np.float32))

    def __call__(self, x: torch.Tensor, y: dict) -> tuple[torch.Tensor, dict]:
        """``x [B, T, F]`` log-mel power -> augmented copy, labels untouched."""
        b = x.shape[0]
        x = x.clone()
        if self.reverb_s:
            lo, hi = self.reverb_s
            for i in range(b):
                if torch.rand(()) < self.p:
                    x[i] = self._reverb(x[i], lo + (hi - lo) * float(torch.rand(())), -12.0 * float(torch.rand(())))
        if self.background_db:
            lo, hi = self.background_db
            for i in range(b):
                if torch.rand(()) < self.p:
                    bg = self._background(x.shape[1])
                    level = (lo + (hi - lo) * torch.rand(())) * math.log(10) / 10
                    shift = x[i].exp().mean().log() - bg.exp().mean().log() + level
                    x[i] = torch.logaddexp(x[i], bg + shift)
        if self.gain:
            x += (torch.rand(b, 1, 1) * 2 - 1) * self.gain
        if self.noise_db:
            lo, hi = self.noise_db
            use = (torch.rand(b, 1, 1) < self.p).float()
            level_db = lo + (hi - lo) * torch.rand(b, 1, 1)
            mean_power = x.exp().mean(dim=(1, 2), keepdim=True)
            noise = mean_power * 10 ** (level_db / 10) * use
            x = torch.log(x.exp() + noise * (0.5 + torch.rand_like(x)))
        if self.freq_mask:
            for i in range(b):
                if torch.rand(()) < self.p:
                    w = int(torch.randint(1, self.freq_mask + 1, ()))
                    f0 = int(torch.randint(0, x.shape[2] - w, ()))
                    x[i, :, f0:f0 + w] = x[i].min()
        return x, y
