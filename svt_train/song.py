"""``Song``: one annotated recording, as every data reader returns it (:mod:`svt_train.datasets`,
:mod:`svt_train.mir1k`) and the feature cache reads it (:mod:`svt_train.cache`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Song:
    """One annotated recording: ``notes [n, 3]`` (onset s, offset s, MIDI).

    ``speed``: the audio is played ``speed`` times as fast as recorded (a
    tape-speed copy, see :func:`speed_variant`); 1 = as recorded.
    ``contour``: frame pitch ``[n, 2]`` (time s, MIDI, 0 = unvoiced) for songs without note
    boundaries (MIR-1K): it gives the pitch labels, and onsets and offsets are unknown.
    ``stems``: (voice gain, band gain) of a two-channel voice / band recording (MIR-1K); None: the
    channels averaged.
    """

    id: str
    audio: Path
    notes: np.ndarray = field(repr=False)
    speed: float = 1.0
    contour: np.ndarray | None = field(default=None, repr=False)
    stems: tuple | None = None
