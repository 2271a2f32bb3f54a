"""Multitask losses. Each returns a dict: ``total`` plus its named parts (scalars)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class LossFunc(nn.Module):
    """The course's loss for :class:`BaseCNN_mini`.

    Onset and offset: binary cross-entropy on logits ``[B, T]``; octave and
    pitch class: cross-entropy over ``[B, T, 5]`` and ``[B, T, 13]``.
    ``total`` is the plain sum of the four parts.
    """

    def forward(self, out: dict, labels: dict) -> dict:
        parts = {
            "onset": F.binary_cross_entropy_with_logits(out["onset"], labels["onset"]),
            "offset": F.binary_cross_entropy_with_logits(out["offset"], labels["offset"]),
            "octave": F.cross_entropy(out["octave"].flatten(0, 1), labels["octave"].flatten()),
            "pitch_class": F.cross_entropy(out["pitch_class"].flatten(0, 1), labels["pitch_class"].flatten()),
        }
        return {"total": sum(parts.values()), **parts}


def _widen(target: torch.Tensor, neighbour: float) -> torch.Tensor:
    """Soft event targets: 1 at the event frame, ``neighbour`` one frame either side."""
    side = F.max_pool1d(target.unsqueeze(1), 3, stride=1, padding=1).squeeze(1)
    return torch.maximum(target, neighbour * side)


class CRNNLoss(nn.Module):
    """Loss for :class:`SingingCRNN`.

    Onset/offset: BCE against targets widened to ±1 frame (0.5), positives
    weighted by ``pos_weight`` (events are ~2 % of frames); frames whose
    onset label is negative (unknown: songs without note boundaries, MIR-1K)
    are left out of both. Pitch: cross-entropy against a Gaussian
    (``sigma_bins``) around the labelled pitch bin, or the silence class on
    unvoiced frames.
    """

    def __init__(self, model, pos_weight: float = 3.0, sigma_bins: float = 1.0):
        super().__init__()
        self.lowest = model.lowest_midi
        self.bps = model.bins_per_semitone
        self.n_bins = model.n_bins
        self.pos_weight = torch.tensor(pos_weight)
        self.sigma = sigma_bins

    def pitch_target(self, pitch: torch.Tensor) -> torch.Tensor:
        """Frame pitch ``[B, T]`` (MIDI, 0 = silence) -> distribution ``[B, T, 1 + n_bins]``."""
        centre = (pitch - self.lowest) * self.bps
        bins = torch.arange(self.n_bins, device=pitch.device, dtype=pitch.dtype)
        g = torch.exp(-0.5 * ((bins - centre.unsqueeze(-1)) / self.sigma) ** 2)
        voiced = (pitch > 0) & (centre >= 0) & (centre <= self.n_bins - 1)
        g = g * voiced.unsqueeze(-1)
        g = g / g.sum(-1, keepdim=True).clamp_min(1e-8)
        silence = (~voiced).to(pitch.dtype).unsqueeze(-1)
        return torch.cat([silence, g], dim=-1)

    def forward(self, out: dict, labels: dict) -> dict:
        known = (labels["onset"] >= 0).to(out["onset"].dtype)
        target = {"onset": _widen(labels["onset"].clamp_min(0), 0.5),
                  "offset": _widen(labels["offset"].clamp_min(0), 0.5),
                  "pitch": self.pitch_target(labels["pitch"])}
        parts = _soft_target_parts(out, target, self.pos_weight.to(out["onset"].device), known)
        return {"total": sum(parts.values()), **parts}


def _soft_target_parts(out: dict, target: dict, pos_weight: torch.Tensor, known: torch.Tensor | None = None) -> dict:
    """``onset``/``offset``: BCE of the logits ``[B, T]`` against target probabilities, positives
    weighted by ``pos_weight``, averaged over the frames where ``known [B, T]`` is 1 (all when None);
    ``pitch``: cross-entropy of ``[B, T, 1 + n_bins]`` logits against a target distribution."""
    def bce(key):
        if known is None:
            return F.binary_cross_entropy_with_logits(out[key], target[key], pos_weight=pos_weight)
        each = F.binary_cross_entropy_with_logits(out[key], target[key], pos_weight=pos_weight, reduction="none")
        return (each * known).sum() / known.sum().clamp_min(1.0)

    return {
        "onset": bce("onset"),
        "offset": bce("offset"),
        "pitch": -(target["pitch"] * out["pitch"].log_softmax(-1)).sum(-1).mean(),
    }


@torch.no_grad()
def teacher_targets(teachers: list, x: torch.Tensor) -> dict:
    """Soft targets from trained :class:`SingingCRNN` teachers (eval mode) for a batch ``x [B, T, F]``:
    onset and offset probabilities ``[B, T]`` and pitch distributions ``[B, T, 1 + n_bins]``, each
    averaged over the teachers."""
    outs = [t(x) for t in teachers]
    return {
        "onset": torch.stack([torch.sigmoid(o["onset"]) for o in outs]).mean(0),
        "offset": torch.stack([torch.sigmoid(o["offset"]) for o in outs]).mean(0),
        "pitch": torch.stack([o["pitch"].softmax(-1) for o in outs]).mean(0),
    }


def distillation_loss(out: dict, soft: dict, pos_weight: float = 3.0) -> dict:
    """Loss of :class:`SingingCRNN` logits against :func:`teacher_targets`: BCE on the onset and
    offset probabilities (positives weighted as in :class:`CRNNLoss`), cross-entropy on the pitch
    distribution. Returns ``total`` and the parts ``distill_onset``, ``distill_offset``, ``distill_pitch``."""
    parts = _soft_target_parts(out, soft, torch.tensor(pos_weight, device=out["onset"].device))
    parts = {f"distill_{k}": v for k, v in parts.items()}
    return {"total": sum(parts.values()), **parts}


def loss_for(model) -> nn.Module:
    """The loss that trains ``model``."""
    return LossFunc() if model.label_scheme == "octave_pitch_class" else CRNNLoss(model)
