"""A lead sheet from a performance: tempo, meter, bars, key and note values inferred from the notes.

Conventions: notes are ``(onset_s, offset_s, midi)`` rows sorted by onset
(monophonic). The tempo, beats, meter and downbeat come from
:func:`svt_live.theory.rhythm.infer_rhythm`, the key from
:func:`svt_live.theory.key.estimate_key`; each can be given instead (``None`` means
inferred). The score itself is built by
:func:`svt_live.io.musicxml.score_from_positions`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from svt_live.theory.key import Key, estimate_key
from svt_live.theory.rhythm import Rhythm, infer_rhythm
from svt_live.theory.tuning import round_to_tuning


@dataclass(frozen=True)
class LeadSheet:
    """The inferred notation of a take: its :class:`~svt_live.theory.rhythm.Rhythm`, key and MIDI note numbers."""

    rhythm: Rhythm
    key: Key | None
    numbers: np.ndarray

    @property
    def qpm(self) -> float:
        """Mean tempo, quarter notes per minute."""
        return self.rhythm.qpm

    @property
    def meter(self) -> tuple[int, int]:
        """Time signature."""
        return self.rhythm.meter


def infer_lead_sheet(notes, *, bpm: float | None = None, meter: tuple[int, int] | None = None,
                     key: Key | None = None, tuning_cents: float = 0.0) -> LeadSheet:
    """Tempo, beats, meter, key and note values of a sung take.

    Parameters
    ----------
    notes : array_like, shape (n, 3)
        ``(onset_s, offset_s, midi)`` rows sorted by onset.
    bpm : float, optional
        Quarter notes per minute, held constant (inferred when ``None``).
    meter : (int, int), optional
        Time signature (inferred when ``None``).
    key : Key, optional
        Key (inferred when ``None``).
    tuning_cents : float
        Tuning the pitches are rounded against.

    Returns
    -------
    LeadSheet

    Examples
    --------
    >>> beat = 60 / 100  # "Frere Jacques" in F at 100 BPM, 4/4
    >>> tune = [(65, 1), (67, 1), (69, 1), (65, 1)] * 2 + [(69, 1), (70, 1), (72, 2)] * 2
    >>> rows, t = [], 0.3
    >>> for midi, beats in tune:
    ...     rows.append([t, t + beats * beat * 0.9, midi]); t += beats * beat
    >>> sheet = infer_lead_sheet(rows)
    >>> sheet.meter, round(sheet.qpm), sheet.key.name
    ((4, 4), 100, 'F major')
    """
    arr = np.asarray(notes, dtype=np.float64).reshape(-1, 3)
    if len(arr) and not np.all(np.diff(arr[:, 0]) >= 0):
        arr = arr[np.argsort(arr[:, 0], kind="stable")]
    rhythm = infer_rhythm(arr, bpm=bpm, meter=meter)
    return LeadSheet(rhythm, key if key is not None else estimate_key(arr, tuning_cents),
                     np.clip(round_to_tuning(arr[:, 2], tuning_cents), 0, 127))
