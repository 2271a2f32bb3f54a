"""Transcription networks and the registry that rebuilds them from checkpoints.

Every model maps log-mel frames ``[B, T, F]`` to per-frame logits and splits
into two stages so the streaming engine can reuse work between hops:

- ``encode(x [B, T, F]) -> h [B, T, C]``: local (convolutional) features;
  output frame ``t`` reads input frames ``t - context .. t + lookahead``.
- ``heads(h, state) -> (logits, state)``: frame-wise or causal recurrent
  part; ``state`` carries recurrent memory across calls (``None`` at start).

``posteriors(logits)`` turns logits into the four frame curves the note
decoder reads, each ``[B, T]``: ``onset`` and ``offset`` probabilities,
``voiced`` probability, and ``pitch`` in fractional MIDI.
"""
from __future__ import annotations

from svt_live.models.base_cnn_mini import BaseCNN_mini
from svt_live.models.crnn import SingingCRNN

MODELS = {"base_cnn_mini": BaseCNN_mini, "singing_crnn": SingingCRNN}


def build_model(name: str, **kwargs):
    """Instantiate registered model ``name`` with its constructor ``kwargs``."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    return MODELS[name](**kwargs)
