"""Playing aids for the live MIDI port: scale snapping (``--scale``) and holding through short gaps (``--hold-ms``).

:class:`PortAids` rewrites the events sent to the port only; the take's
files keep what was sung. Rules:

- **Scale**: each NoteOn's number is its sung pitch (``NoteOn.midi``, else its
  number) snapped to the scale (:func:`svt_live.theory.scale.snap`; an exact tie goes
  the way the melody went from the previous NoteOn). The NoteOff of that note
  carries the snapped number. Pitch bends pass unchanged: they keep the
  voice's offset from its nearest note (vibrato, scoops), now around the
  snapped note, so the synth plays the scale note with the singer's
  inflection.
- **Hold**: a NoteOff waits up to ``hold_seconds`` of stream time (measured
  from when the engine emitted it); a NoteOn of the same (snapped) number
  emitted within that wait cancels both, so the note sounds on through the
  gap without a NoteOff/NoteOn blip. Otherwise the NoteOff goes out with its
  own time, before anything later. A NoteOff and a NoteOn of the same number
  at the same instant (a retrigger that snapping made the same note) merge
  even with the hold off.

Events leave in the order they came, so their times never go back; the
events that arrived while a NoteOff waited follow it. :meth:`PortAids.flush`
(the end of the take) sends the waiting NoteOff: no note is left hanging.
"""
from __future__ import annotations

import dataclasses

from svt_live.events import NoteOff, NoteOn
from svt_live.theory.scale import Scale, snap


class PortAids:
    """Rewrites the live port's events (module rules).

    Parameters
    ----------
    scale : Scale, optional
        Snap NoteOns to it (None: no snapping).
    hold_seconds : float
        Longest wait for a NoteOn of the same number after a NoteOff (0: off).

    Examples
    --------
    >>> aids = PortAids(Scale(0, "major"), hold_seconds=0.1)
    >>> ons = aids([NoteOn(0.0, 61, 80, 0.04, 61.3)], now=0.04)  # C# + 30 cents -> D in C major
    >>> [(type(e).__name__, e.pitch) for e in ons]
    [('NoteOn', 62)]
    >>> aids([NoteOff(0.50, 61, 0.0, 61.3, 0.56)], now=0.56)  # waits for a NoteOn
    []
    >>> aids([NoteOn(0.58, 62, 80, 0.62, 62.1)], now=0.62)  # D again 60 ms later: the note goes on
    []
    >>> aids([NoteOff(1.0, 62, 0.58, 62.1, 1.06)], now=1.06) + aids([], now=1.2)  # nothing followed
    [NoteOff(time=1.0, pitch=62, onset=0.58, midi=62.1, emitted_at=1.06)]
    """

    def __init__(self, scale: Scale | None = None, hold_seconds: float = 0.0):
        if not hold_seconds >= 0:
            raise ValueError(f"hold_seconds must be >= 0, got {hold_seconds}")
        self.scale, self.hold = scale, float(hold_seconds)
        self._snapped: dict[int, int] = {}  # sounding input number -> number sent
        self._last_sung: float | None = None  # previous NoteOn's sung pitch (the melody's direction)
        self._waiting: NoteOff | None = None  # a NoteOff held back (its number already snapped)
        self._after: list = []  # events that arrived while it waited
        self.n_held = 0  # NoteOff/NoteOn pairs cancelled

    @property
    def active(self) -> bool:
        """Whether the aids change anything."""
        return self.scale is not None or self.hold > 0

    @property
    def summary(self) -> str:
        """E.g. ``'the notes of D minor, holding through gaps up to 120 ms'``."""
        parts = ([f"the notes of {self.scale.name}"] if self.scale is not None else []) + (
            [f"holding through gaps up to {1000 * self.hold:.0f} ms"] if self.hold > 0 else [])
        return ", ".join(parts) or "the notes as sung"

    def __call__(self, events: list, now: float) -> list:
        """The port's events for ``events`` at stream time ``now`` (seconds), in order."""
        out: list = []
        for ev in events:
            if isinstance(ev, NoteOn):
                self._note_on(ev, out)
            elif isinstance(ev, NoteOff):
                self._release(out)
                self._waiting = dataclasses.replace(ev, pitch=self._snapped.pop(ev.pitch, ev.pitch))
            elif self._waiting is not None:
                self._after.append(ev)
            else:
                out.append(ev)
        if self._waiting is not None and now - self._waiting.emitted_at >= self.hold:
            self._release(out)
        return out

    def flush(self) -> list:
        """The end of the take: the waiting NoteOff and what followed it."""
        out: list = []
        self._release(out)
        return out

    def _note_on(self, ev: NoteOn, out: list) -> None:
        sung = ev.pitch if ev.midi is None else ev.midi
        direction = 0 if self._last_sung is None else (sung > self._last_sung) - (sung < self._last_sung)
        self._last_sung = sung
        number = snap(sung, self.scale, direction) if self.scale is not None else ev.pitch
        self._snapped[ev.pitch] = number
        w = self._waiting
        if w is not None and w.pitch == number and (ev.emitted_at - w.emitted_at < self.hold or ev.time == w.time):
            self._waiting, after = None, self._after
            self._after = []
            out.extend(after)
            self.n_held += 1
            return
        self._release(out)
        out.append(ev if number == ev.pitch else dataclasses.replace(ev, pitch=number))

    def _release(self, out: list) -> None:
        if self._waiting is not None:
            out.append(self._waiting)
            out.extend(self._after)
            self._waiting, self._after = None, []
