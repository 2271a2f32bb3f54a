"""Running training metrics (the course's ``Metrics``).

Accumulates, batch by batch, the mean of every loss part, frame-level onset
and offset F1 (posterior >= 0.5 against the 0/1 labels) and octave and
pitch-class accuracy over all frames (silence counts as a class). Model
agnostic: octave and pitch class are derived from the ``voiced`` and
``pitch`` posteriors. :meth:`get_value` returns the averages and empties
the buffer. With :class:`LossFunc` that is 9 values.
"""
from __future__ import annotations

from collections import defaultdict

import torch

from svt_live.models.base_cnn_mini import LOWEST_MIDI


def pitch_to_classes(voiced: torch.Tensor, pitch: torch.Tensor, threshold: float = 0.5):
    """``[B, T]`` posteriors -> (octave 0-4, pitch class 0-12) as in the label scheme."""
    m = pitch.round().long()
    v = voiced >= threshold
    pc = torch.where(v, m % 12 + 1, torch.zeros_like(m))
    inside = v & (m >= LOWEST_MIDI) & (m <= LOWEST_MIDI + 47)
    octave = torch.where(inside, (m - LOWEST_MIDI) // 12 + 1, torch.zeros_like(m))
    return octave, pc


class Metrics:
    def __init__(self):
        self.buffer = defaultdict(list)
        self._counts = defaultdict(float)

    @torch.no_grad()
    def update(self, post: dict, labels: dict, losses: dict) -> None:
        """Add one batch: ``post`` = model posteriors, ``labels`` = frame labels, ``losses`` = loss dict."""
        for k, v in losses.items():
            self.buffer[f"{k}_loss"].append(float(v))
        known = labels["onset"] >= 0  # negative: unknown boundaries (MIR-1K), left out of the event F1
        for ev in ("onset", "offset"):
            pred = (post[ev] >= 0.5) & known
            true = labels[ev] >= 0.5
            self._counts[f"{ev}_tp"] += float((pred & true).sum())
            self._counts[f"{ev}_fp"] += float((pred & ~true).sum())
            self._counts[f"{ev}_fn"] += float((~pred & true).sum())
        octave, pc = pitch_to_classes(post["voiced"], post["pitch"])
        self._counts["octave_ok"] += float((octave == labels["octave"]).sum())
        self._counts["pc_ok"] += float((pc == labels["pitch_class"]).sum())
        self._counts["frames"] += labels["octave"].numel()

    def get_value(self) -> dict:
        """Averages since the last call; empties the buffer."""
        out = {k: sum(v) / len(v) for k, v in self.buffer.items()}
        c = self._counts
        for ev in ("onset", "offset"):
            tp, fp, fn = c[f"{ev}_tp"], c[f"{ev}_fp"], c[f"{ev}_fn"]
            out[f"{ev}_f1"] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        out["octave_acc"] = c["octave_ok"] / c["frames"] if c["frames"] else 0.0
        out["pitch_class_acc"] = c["pc_ok"] / c["frames"] if c["frames"] else 0.0
        self.buffer = defaultdict(list)
        self._counts = defaultdict(float)
        return out
