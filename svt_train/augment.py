"""Data augmentation on log-mel batches (cheap, done per batch on the fly).

- gain: add ``U(-gain_db, +gain_db)`` dB to the whole segment
- noise: mix in stationary noise at ``U(noise_db)`` dB relative to the
  segment's mean power, in the power domain (``log(exp(x) + n)``)
- freq_mask: zero (to the segment minimum) one random band of up to
  ``freq_mask`` mel bins with probability 0.5

Labels are unchanged by all three.
"""
from __future__ import annotations

import math

import torch


class Augment:
    def __init__(self, gain_db: float = 0.0, noise_db: tuple = (), freq_mask: int = 0, p: float = 0.5):
        self.gain = gain_db * math.log(10) / 10  # dB -> natural log of power
        self.noise_db = tuple(noise_db)
        self.freq_mask = int(freq_mask)
        self.p = p

    def __call__(self, x: torch.Tensor, y: dict) -> tuple[torch.Tensor, dict]:
        """``x [B, T, F]`` log-mel power -> augmented copy, labels untouched."""
        b = x.shape[0]
        x = x.clone()
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
