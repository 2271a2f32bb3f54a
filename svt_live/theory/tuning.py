"""Global tuning: how far a singer sits from A4 = 440 Hz, and MIDI notes rounded against it.

Conventions: pitch in fractional MIDI numbers (69.0 = A4 = 440 Hz); a tuning
is an offset in cents from equal temperament at A4 = 440 Hz, in
``[-50, 50)``, or equivalently a reference frequency
``A4 = 440 * 2 ** (cents / 1200)`` Hz. Rounding a note against a tuning
gives the MIDI note ``round(midi - cents / 100)``; what is left over is the
note's bend.
"""
from __future__ import annotations

import math

import numpy as np

A4_HZ = 440.0


def midi_to_hz(midi) -> np.ndarray:
    """Frequency in Hz of fractional MIDI numbers (69.0 = A4 = 440 Hz).

    Examples
    --------
    >>> midi_to_hz([69.0, 57.0]).tolist()
    [440.0, 220.0]
    """
    return A4_HZ * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def hz_to_midi(hz) -> np.ndarray:
    """Fractional MIDI numbers of frequencies in Hz; 0 Hz gives ``-inf``, a negative one ``nan``.

    Examples
    --------
    >>> hz_to_midi([440.0, 261.6256]).round(3).tolist()
    [69.0, 60.0]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return 69.0 + 12.0 * np.log2(np.asarray(hz, dtype=np.float64) / A4_HZ)


def estimate_tuning_cents(notes) -> float:
    """The singer's global tuning from fractional note pitches, in cents.

    Each note's deviation from its nearest semitone is an angle on the
    circle (100 cents = one turn); the estimate is the circular mean of
    those angles weighted by note duration, so deviations of +49 and -49
    cents average to +-50, not 0.

    Parameters
    ----------
    notes : array_like, shape (n, 3)
        ``(onset_s, offset_s, midi)`` rows.

    Returns
    -------
    float
        Cents in ``[-50, 50)``; 0.0 for no notes.

    Examples
    --------
    >>> round(estimate_tuning_cents([[0, 1, 60.1], [1, 2, 62.14], [2, 3, 64.12]]), 1)
    12.0
    >>> round(estimate_tuning_cents([[0, 1, 60.49], [1, 2, 61.51]]), 1)
    -50.0
    """
    arr = np.asarray(notes, dtype=np.float64).reshape(-1, 3)
    if not len(arr):
        return 0.0
    weight = np.maximum(arr[:, 1] - arr[:, 0], 0.0)
    if weight.sum() <= 0:
        weight = np.ones(len(arr))
    angle = 2 * np.pi * (arr[:, 2] - np.round(arr[:, 2]))
    mean = math.atan2(float((weight * np.sin(angle)).sum()), float((weight * np.cos(angle)).sum()))
    cents = 100.0 * mean / (2 * np.pi)
    return -50.0 if cents >= 50.0 - 1e-9 else float(cents)


def cents_to_hz(cents: float) -> float:
    """A4 frequency of a tuning: ``440 * 2 ** (cents / 1200)``.

    >>> round(cents_to_hz(-12.0), 1)
    437.0
    """
    return A4_HZ * 2.0 ** (cents / 1200.0)


def hz_to_cents(a4_hz: float) -> float:
    """Cents from A4 = 440 Hz of a reference frequency (e.g. ``--tuning 442``).

    >>> round(hz_to_cents(442.0), 2)
    7.85
    """
    if not (a4_hz > 0 and math.isfinite(a4_hz)):
        raise ValueError(f"reference frequency must be a positive number of Hz, got {a4_hz}")
    return 1200.0 * math.log2(a4_hz / A4_HZ)


def round_to_tuning(midi, cents: float = 0.0) -> np.ndarray:
    """MIDI note numbers of fractional pitches sung against a tuning.

    Parameters
    ----------
    midi : array_like
        Fractional MIDI pitches.
    cents : float
        The tuning (cents from A4 = 440 Hz).

    Returns
    -------
    numpy.ndarray of int
        ``round(midi - cents / 100)``, same shape as ``midi``.

    Examples
    --------
    >>> round_to_tuning([60.4, 60.6, 61.0], cents=-20).tolist()
    [61, 61, 61]
    >>> round_to_tuning([60.4, 60.6, 61.0]).tolist()
    [60, 61, 61]
    """
    return np.round(np.asarray(midi, dtype=np.float64) - cents / 100.0).astype(np.int64)


def describe_tuning(cents: float) -> str:
    """One line for the user.

    >>> describe_tuning(-11.8)
    'A4 = 437 Hz, -12 cents'
    """
    return f"A4 = {cents_to_hz(cents):.0f} Hz, {cents:+.0f} cents"


def parse_tuning(text: str) -> str | float:
    """``--tuning``: ``'auto'`` or a reference in Hz (``'440'``, ``'442.5'``) -> ``'auto'`` or cents.

    >>> parse_tuning("auto"), parse_tuning("440")
    ('auto', 0.0)
    """
    if text.strip().lower() == "auto":
        return "auto"
    try:
        hz = float(text)
    except ValueError:
        raise ValueError(f"--tuning takes auto or a reference in Hz such as 440, got {text!r}") from None
    if not 400.0 <= hz <= 480.0:
        raise ValueError(f"--tuning {text}: give A4 in Hz between 400 and 480")
    return hz_to_cents(hz)
