"""Pitch bends: the cents a MIDI note number cannot hold, as pitch-wheel messages.

Conventions (the MIDI 1.0 specification's):

- a pitch-wheel value is signed, ``-8192 .. 8191``, 0 = no bend (mido's
  ``pitchwheel`` ``pitch`` field; on the wire ``value + 8192`` as 7-bit LSB
  then MSB after status byte ``0xE0 | channel``);
- the bend range is set per channel with registered parameter (RPN) 0:
  CC 101 = 0, CC 100 = 0, CC 6 = semitones, CC 38 = cents, then the null
  RPN (CC 101 = 127, CC 100 = 127) so later data entries change nothing;
- a bend in semitones maps linearly onto the wheel: ``+range`` -> 8191
  (8192 rounded into range), ``-range`` -> -8192.

Both the MIDI-file writer (:mod:`svt_live.io.midifile`) and the live port (:mod:`svt_live.io.midiport`) use these.
"""
from __future__ import annotations

import numpy as np

BEND_RANGE_SEMITONES = 2  # the General MIDI default range; written explicitly by RPN anyway
WHEEL_MAX = 8191
WHEEL_MIN = -8192
PITCHWHEEL = 0xE0
CONTROL_CHANGE = 0xB0
MIN_STEP_CENTS = 3.0  # contour bends closer than this to the last one sent are dropped


def bend_value(semitones: float, bend_range: float = BEND_RANGE_SEMITONES) -> int:
    """Pitch-wheel value for a bend of ``semitones`` (clipped to the range).

    Parameters
    ----------
    semitones : float
        Bend away from the sounding MIDI note, in semitones (0.25 = 25 cents up).
    bend_range : float
        Semitones at full wheel deflection (as set by :func:`bend_range_controls`).

    Returns
    -------
    int
        Wheel value in ``-8192 .. 8191``.

    Examples
    --------
    >>> bend_value(0.0), bend_value(1.0), bend_value(-2.0), bend_value(5.0)
    (0, 4096, -8192, 8191)
    """
    if not bend_range > 0:
        raise ValueError(f"bend range must be positive, got {bend_range}")
    return int(np.clip(round(semitones / bend_range * 8192), WHEEL_MIN, WHEEL_MAX))


def bend_range_controls(bend_range: float = BEND_RANGE_SEMITONES) -> list[tuple[int, int]]:
    """Control changes ``[(controller, value), ...]`` that set the bend range by RPN 0.

    Examples
    --------
    >>> bend_range_controls(2)
    [(101, 0), (100, 0), (6, 2), (38, 0), (101, 127), (100, 127)]
    >>> bend_range_controls(0.5)
    [(101, 0), (100, 0), (6, 0), (38, 50), (101, 127), (100, 127)]
    """
    cents_total = int(round(bend_range * 100))
    if not 0 < cents_total <= 127 * 100 + 99:
        raise ValueError(f"bend range must be in (0, 127.99] semitones, got {bend_range}")
    semis, cents = divmod(cents_total, 100)
    return [(101, 0), (100, 0), (6, semis), (38, cents), (101, 127), (100, 127)]


def pitchwheel_bytes(value: int, channel: int = 0) -> list[int]:
    """Raw MIDI bytes of one pitch-wheel message (for a live port).

    Examples
    --------
    >>> pitchwheel_bytes(0), pitchwheel_bytes(-8192, channel=1), pitchwheel_bytes(8191)
    ([224, 0, 64], [225, 0, 0], [224, 127, 127])
    """
    raw = int(np.clip(value, WHEEL_MIN, WHEEL_MAX)) + 8192
    return [PITCHWHEEL | (channel & 0x0F), raw & 0x7F, raw >> 7]


def bend_range_bytes(bend_range: float = BEND_RANGE_SEMITONES, channel: int = 0) -> list[list[int]]:
    """Raw MIDI messages (control changes) that set the bend range on ``channel``."""
    return [[CONTROL_CHANGE | (channel & 0x0F), c, v] for c, v in bend_range_controls(bend_range)]


def contour_bends(times_s, midi_contour, note_midi: int, bend_range: float = BEND_RANGE_SEMITONES,
                  min_step_cents: float = MIN_STEP_CENTS) -> list[tuple[float, int]]:
    """A sung contour as pitch-wheel steps around the note it sounds as.

    Parameters
    ----------
    times_s : array_like, shape (n,)
        Time of each contour point, seconds, increasing.
    midi_contour : array_like, shape (n,)
        Fractional MIDI pitch at each point (NaN points are skipped).
    note_midi : int
        The MIDI note number the note is played as.
    bend_range : float
        Semitones at full wheel deflection.
    min_step_cents : float
        A point is kept only when it moves the bend at least this far from
        the last kept one (the first point is always kept).

    Returns
    -------
    list of (float, int)
        ``(time_s, wheel value)`` pairs in time order.

    Examples
    --------
    >>> contour_bends([0.0, 0.02, 0.04, 0.06], [60.1, 60.11, 60.3, 59.9], 60)
    [(0.0, 410), (0.04, 1229), (0.06, -410)]
    """
    times = np.asarray(times_s, dtype=np.float64).reshape(-1)
    contour = np.asarray(midi_contour, dtype=np.float64).reshape(-1)
    if times.shape != contour.shape:
        raise ValueError(f"times and contour differ in length: {times.shape} vs {contour.shape}")
    out: list[tuple[float, int]] = []
    last = None
    for t, p in zip(times, contour):
        if not np.isfinite(p):
            continue
        cents = (p - note_midi) * 100.0
        if last is None or abs(cents - last) >= min_step_cents:
            out.append((round(float(t), 6), bend_value(cents / 100.0, bend_range)))
            last = cents
    return out
