"""``BaseCNN_mini``: the course assignment's network, exactly as specified."""
from __future__ import annotations

import torch
from torch import nn

OCTAVE_CLASSES = 5  # 0 = silence / out of range, 1-4 = MIDI 36-47, 48-59, 60-71, 72-83
PITCH_CLASSES = 13  # 0 = silence, 1-12 = C..B
LOWEST_MIDI = 36


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())


class BaseCNN_mini(nn.Module):
    """Three 3x3 convs (16, 32, 64 channels; BN + ReLU), feature-axis max
    pooling before the 2nd and 3rd conv, a 256-d position-wise feed-forward
    layer and four heads: onset ``[B, T]``, offset ``[B, T]``, octave
    ``[B, T, 5]``, pitch class ``[B, T, 13]`` (logits, no final activation).
    """

    label_scheme = "octave_pitch_class"

    def __init__(self, n_mels: int = 256, hidden: int = 256):
        super().__init__()
        self.n_mels = n_mels
        self.conv1 = _conv(1, 16)
        self.conv2 = _conv(16, 32)
        self.conv3 = _conv(32, 64)
        self.pool = nn.MaxPool2d((1, 2))
        self.ff = nn.Sequential(nn.Linear(64 * (n_mels // 4), hidden), nn.ReLU())
        self.onset_head = nn.Linear(hidden, 1)
        self.offset_head = nn.Linear(hidden, 1)
        self.octave_head = nn.Linear(hidden, OCTAVE_CLASSES)
        self.pitch_class_head = nn.Linear(hidden, PITCH_CLASSES)

    context = 3  # three 3-frame convs
    lookahead = 3

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, T, n_mels]`` -> ``[B, T, 64 * n_mels / 4]``."""
        h = self.conv1(x.unsqueeze(1))
        h = self.conv2(self.pool(h))
        h = self.conv3(self.pool(h))  # [B, 64, T, n_mels/4]
        return h.permute(0, 2, 1, 3).flatten(2)

    def heads(self, h: torch.Tensor, state=None):
        z = self.ff(h)
        logits = {
            "onset": self.onset_head(z).squeeze(-1),
            "offset": self.offset_head(z).squeeze(-1),
            "octave": self.octave_head(z),
            "pitch_class": self.pitch_class_head(z),
        }
        return logits, state

    def forward(self, x: torch.Tensor) -> dict:
        """Log-mel ``[B, T, n_mels]`` -> dict of logits (see class docstring)."""
        return self.heads(self.encode(x))[0]

    @staticmethod
    def posteriors(logits: dict) -> dict:
        """Logits -> ``onset``, ``offset``, ``voiced``, ``pitch`` (MIDI), each ``[B, T]``.

        ``voiced`` = 1 - P(pitch class = silence); ``pitch`` = 36 + 12 *
        (most likely octave 1-4, minus 1) + (most likely pitch class 1-12, minus 1).
        """
        pc = logits["pitch_class"].softmax(-1)
        octave = logits["octave"][..., 1:].argmax(-1)
        pitch_class = pc[..., 1:].argmax(-1)
        return {
            "onset": torch.sigmoid(logits["onset"]),
            "offset": torch.sigmoid(logits["offset"]),
            "voiced": 1.0 - pc[..., 0],
            "pitch": (LOWEST_MIDI + 12 * octave + pitch_class).float(),
        }
