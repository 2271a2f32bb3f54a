"""Note events the streaming engine emits (to MIDI, the GUI and files).

``time`` is when the note starts or ends in the stream (seconds from the
first sample); ``emitted_at`` is how much audio the engine had consumed
when it emitted the event (seconds of stream time), so
``emitted_at - time`` is the event's latency.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NoteOn:
    """A note started: ``pitch`` is the nearest MIDI note, ``velocity`` 1-127; ``midi``, when known, the
    fractional sung pitch the number was rounded from (the live port's ``--scale`` snaps it)."""

    time: float
    pitch: int
    velocity: int
    emitted_at: float = 0.0
    midi: float | None = None


@dataclass(frozen=True)
class NoteOff:
    """A note ended; ``onset`` and fractional ``midi`` describe the whole note."""

    time: float
    pitch: int
    onset: float
    midi: float
    emitted_at: float = 0.0


@dataclass(frozen=True)
class PitchBend:
    """The sounding note's pitch moved: ``semitones`` away from its MIDI number (live port only)."""

    time: float
    semitones: float
    emitted_at: float = 0.0


Event = NoteOn | NoteOff | PitchBend
