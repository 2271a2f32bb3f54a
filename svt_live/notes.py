"""Notes: the interchange unit of svt-live.

A note is ``(onset, offset, pitch)``: onset and offset in seconds from the
start of the audio, pitch in (possibly fractional) MIDI numbers. A list of
notes is held as a float array ``[n, 3]`` sorted by onset, exactly the rows
of the MIR-ST500 ``annotations.json`` format.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

MIDI_MIN, MIDI_MAX = 21.0, 108.0  # sane range for a sung note (piano range)
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


class NoteError(ValueError):
    """Annotations that cannot be used (wrong shape, no valid notes...)."""


@dataclass
class ValidationReport:
    """What :func:`validate_notes` dropped or fixed, counted by reason."""

    kept: int = 0
    not_finite: int = 0
    negative_time: int = 0
    onset_not_before_offset: int = 0
    pitch_out_of_range: int = 0
    was_unsorted: bool = False

    @property
    def dropped(self) -> int:
        return self.not_finite + self.negative_time + self.onset_not_before_offset + self.pitch_out_of_range

    def summary(self) -> str:
        parts = [f"{k.replace('_', ' ')}: {v}" for k, v in self.__dict__.items()
                 if k not in ("kept", "was_unsorted") and v]
        return ", ".join(parts)


def validate_notes(notes, source: str = "notes", warn: bool = True) -> tuple[np.ndarray, ValidationReport]:
    """Check and clean a note list.

    ``notes``: anything convertible to a float array ``[n, 3]`` of
    ``(onset_s, offset_s, midi)``. Notes with non-finite values, negative
    times, ``onset >= offset`` or a pitch outside MIDI 21-108 are dropped;
    unsorted notes are sorted. Each drop or fix is counted and, with
    ``warn``, reported in one warning naming ``source``.
    Returns ``(notes [m, 3] float64 sorted by onset, report)``.
    Raises :class:`NoteError` if ``notes`` has the wrong shape.
    """
    try:
        arr = np.asarray(notes, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise NoteError(f"{source}: notes must be rows of [onset, offset, pitch] numbers ({exc})") from None
    if arr.size == 0:
        arr = arr.reshape(0, 3)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise NoteError(f"{source}: notes must be rows of [onset, offset, pitch], got shape {arr.shape}")
    rep = ValidationReport()
    finite = np.isfinite(arr).all(axis=1)
    rep.not_finite = int((~finite).sum())
    arr = arr[finite]
    neg = (arr[:, 0] < 0) | (arr[:, 1] < 0)
    rep.negative_time = int(neg.sum())
    arr = arr[~neg]
    bad_order = arr[:, 0] >= arr[:, 1]
    rep.onset_not_before_offset = int(bad_order.sum())
    arr = arr[~bad_order]
    bad_pitch = (arr[:, 2] < MIDI_MIN) | (arr[:, 2] > MIDI_MAX)
    rep.pitch_out_of_range = int(bad_pitch.sum())
    arr = arr[~bad_pitch]
    order = np.argsort(arr[:, 0], kind="stable")
    rep.was_unsorted = bool((order != np.arange(len(order))).any())
    arr = arr[order]
    rep.kept = len(arr)
    if warn and rep.dropped:
        warnings.warn(f"{source}: dropped {rep.dropped} invalid note(s) ({rep.summary()})", stacklevel=2)
    if warn and rep.was_unsorted:
        warnings.warn(f"{source}: notes were not sorted by onset; sorted them", stacklevel=2)
    return arr, rep


def note_name(midi: float) -> str:
    """Name of the nearest equal-tempered note, e.g. ``69.2 -> 'A4'``."""
    m = int(round(midi))
    return f"{NOTE_NAMES[m % 12]}{m // 12 - 1}"


def format_notes(notes: np.ndarray) -> str:
    """Human-readable table: onset, offset, MIDI (2 decimals), name."""
    lines = [f"{'onset':>8} {'offset':>8} {'midi':>6}  name"]
    for on, off, p in notes:
        lines.append(f"{on:8.3f} {off:8.3f} {p:6.2f}  {note_name(p)}")
    return "\n".join(lines)
