"""Offline transcription: audio -> features -> posteriors -> notes."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .audio import load_audio
from .checkpoint import LoadedModel
from .decode import decode_notes
from .features import MelExtractor
from .inference import frame_posteriors


def transcribe_audio(audio: np.ndarray, lm: LoadedModel) -> tuple[np.ndarray, dict]:
    """Transcribe mono ``audio [N]`` at ``lm.features.sample_rate``.

    Returns ``(notes [n, 3] (onset s, offset s, MIDI), posteriors)`` where
    ``posteriors`` holds the frame curves ``onset``, ``offset``, ``voiced``,
    ``pitch``, each ``[T]`` with ``T = N // hop + 1``.
    """
    device = next(lm.model.parameters()).device
    mel = MelExtractor(lm.features, device)(audio)
    post = frame_posteriors(lm, mel)
    return decode_notes(post, lm.decoding, lm.features.frame_seconds), post


def transcribe_file(path: str | Path, lm: LoadedModel) -> tuple[np.ndarray, dict]:
    """Decode an audio file (any format PyAV reads) and transcribe it."""
    return transcribe_audio(load_audio(path, lm.features.sample_rate), lm)
