"""Key estimation from notes (Krumhansl-Schmuckler with the Krumhansl-Kessler profiles).

Conventions: a key is ``(tonic pitch class 0-11 with C = 0, mode 'major' or
'minor')``; notes are ``(onset_s, offset_s, midi)`` rows whose MIDI numbers
are rounded (against a tuning, see :mod:`svt_live.tuning`) before counting.
Each pitch class is weighted by the total duration of its notes, and the
key is the one whose rotated profile correlates best with that histogram.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tuning import round_to_tuning

MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# Tonic names as key signatures spell them: the fewest accidentals (F# major / Eb minor by convention).
MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")


@dataclass(frozen=True)
class Key:
    """An estimated key: ``tonic`` pitch class (C = 0), ``mode`` and its correlation ``score`` (-1..1)."""

    tonic: int
    mode: str
    score: float = 0.0

    @property
    def name(self) -> str:
        """E.g. ``'G major'``, ``'F# minor'``."""
        return f"{(MAJOR_NAMES if self.mode == 'major' else MINOR_NAMES)[self.tonic]} {self.mode}"

    @property
    def sharps(self) -> int:
        """Key-signature accidentals: sharps positive, flats negative (G major 1, F major -1)."""
        major_tonic = self.tonic if self.mode == "major" else (self.tonic + 3) % 12
        fifths = (major_tonic * 7) % 12  # steps round the circle of fifths from C
        if fifths == 6:  # F# major (6 sharps) but Eb minor (6 flats), as the names spell them
            return 6 if self.mode == "major" else -6
        return fifths - 12 if fifths > 6 else fifths

    @property
    def midi_name(self) -> str:
        """The key as a MIDI ``key_signature`` meta message names it: ``'G'``, ``'F#m'``."""
        return self.name.split()[0] + ("m" if self.mode == "minor" else "")


def pitch_class_weights(notes, tuning_cents: float = 0.0) -> np.ndarray:
    """Total duration (s) of the notes of each pitch class ``[12]``, C first."""
    arr = np.asarray(notes, dtype=np.float64).reshape(-1, 3)
    pcs = round_to_tuning(arr[:, 2], tuning_cents) % 12
    return np.bincount(pcs, weights=np.maximum(arr[:, 1] - arr[:, 0], 0.0), minlength=12)


def estimate_key(notes, tuning_cents: float = 0.0) -> Key | None:
    """The key that best explains the notes, or ``None`` without notes.

    Parameters
    ----------
    notes : array_like, shape (n, 3)
        ``(onset_s, offset_s, midi)`` rows.
    tuning_cents : float
        Tuning the pitches are rounded against.

    Returns
    -------
    Key or None

    Examples
    --------
    >>> scale = [55, 57, 59, 60, 62, 64, 66, 67, 62, 59, 55]  # G major, up and back to G
    >>> estimate_key([[i, i + 1, p] for i, p in enumerate(scale)]).name
    'G major'
    >>> estimate_key([]) is None
    True
    """
    weights = pitch_class_weights(notes, tuning_cents)
    if weights.sum() <= 0 or np.count_nonzero(weights) < 2:
        return None if weights.sum() <= 0 else Key(int(np.argmax(weights)), "major", 1.0)
    best = None
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            r = float(np.corrcoef(weights, np.roll(profile, tonic))[0, 1])
            if best is None or r > best.score:
                best = Key(tonic, mode, r)
    return best
