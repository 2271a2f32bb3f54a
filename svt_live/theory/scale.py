"""Scales for the live port's playing aid ``--scale KEY:MODE``: their notes, and snapping a sung pitch to them.

A scale is a tonic pitch class (C = 0, named as :mod:`svt_live.theory.key` names
keys) and a mode, one of :data:`MODES` (semitones above the tonic).
Snapping (:func:`snap`) moves a sung pitch, fractional MIDI, to the nearest
note of the scale; when two scale notes are equally near (the sung pitch
lies exactly halfway) it goes the way the melody went: up when the
``direction`` is up or unknown, down when it went down.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from svt_live.theory.key import MAJOR_NAMES, MINOR_NAMES, parse_key

MODES = {  # semitones above the tonic
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),  # natural minor
    "harmonic-minor": (0, 2, 3, 5, 7, 8, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "pentatonic-major": (0, 2, 4, 7, 9),
    "pentatonic-minor": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "chromatic": tuple(range(12)),  # every note: snapping is off
}
ALIASES = {"ionian": "major", "aeolian": "minor", "natural-minor": "minor", "pentatonic": "pentatonic-major",
           "major-pentatonic": "pentatonic-major", "minor-pentatonic": "pentatonic-minor", "off": "chromatic"}


@dataclass(frozen=True)
class Scale:
    """A scale: ``tonic`` pitch class (C = 0) and ``mode`` (a key of :data:`MODES`)."""

    tonic: int
    mode: str

    @property
    def pitch_classes(self) -> frozenset[int]:
        """The scale's pitch classes (C = 0)."""
        return frozenset((self.tonic + s) % 12 for s in MODES[self.mode])

    @property
    def name(self) -> str:
        """E.g. ``'D minor'``, ``'Bb major'``: the tonic spelled as the key of its third's quality."""
        names = MINOR_NAMES if 3 in MODES[self.mode] and 4 not in MODES[self.mode] else MAJOR_NAMES
        return f"{names[self.tonic]} {self.mode}"


def parse_scale(text: str) -> Scale | None:
    """``'KEY:MODE'`` (``'D:minor'``, ``'A:dorian'``, ``'F#:pentatonic-minor'``) or a key alone
    (``'Bb'``, ``'F#m'``: its major or natural minor) -> :class:`Scale`; ``None`` for
    ``chromatic`` (or ``off``): no snapping. A clear :class:`ValueError` otherwise.

    Examples
    --------
    >>> parse_scale("D:minor").name, parse_scale("a:Dorian").name, parse_scale("F#m").name
    ('D minor', 'A dorian', 'F# minor')
    >>> parse_scale("C:chromatic") is None, parse_scale("off") is None
    (True, True)
    """
    raw = (text or "").strip()
    if raw.lower() in ("off", "chromatic"):
        return None
    key_text, _, mode_text = raw.partition(":")
    mode = mode_text.strip().lower().replace(" ", "-").replace("_", "-")
    mode = ALIASES.get(mode, mode)
    try:
        key = parse_key(key_text)
    except ValueError:
        key = None
    if key is None or (mode_text and mode not in MODES):
        raise ValueError(f"--scale takes KEY:MODE such as D:minor, C:major or A:dorian (modes: "
                         f"{', '.join(MODES)}), got {text!r}")
    if mode == "chromatic":
        return None
    return Scale(key.tonic, mode or key.mode)


def snap(midi: float, scale: Scale | None, direction: int = 1) -> int:
    """The scale note nearest to the sung pitch ``midi`` (fractional MIDI), as a MIDI number 0-127.

    Parameters
    ----------
    midi : float
        The sung pitch.
    scale : Scale or None
        None: the nearest note (no snapping).
    direction : int
        The melody's direction into this note (> 0 up, < 0 down, 0 unknown): which way an exact
        tie between two scale notes goes (down only when < 0).

    Examples
    --------
    >>> c_major = Scale(0, "major")
    >>> snap(61.3, c_major), snap(60.8, c_major)  # C#+30 cents -> D, a flat C# -> C
    (62, 60)
    >>> snap(61.0, c_major), snap(61.0, c_major, direction=-1)  # C# exactly: the melody's way
    (62, 60)
    >>> snap(61.4, None)
    61
    """
    if scale is None:
        return int(min(127, max(0, round(midi))))
    pcs = scale.pitch_classes
    low, high = math.floor(midi), math.ceil(midi)
    while low % 12 not in pcs:
        low -= 1
    while high % 12 not in pcs:
        high += 1
    up, down = high - midi, midi - low
    note = high if up < down or (up == down and direction >= 0) else low
    return int(min(127, max(0, note)))
