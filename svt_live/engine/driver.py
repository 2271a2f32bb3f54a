"""The pipeline driver: a block source -> an engine -> event sinks, until the source ends or a stop request.

Every way of running a take goes through :class:`Driver`, run by
:func:`svt_live.engine.runner.run_take`: file mode
(:func:`svt_live.engine.offline.transcribe_blocks`), ``--realtime`` playback, live
mode (:func:`svt_live.commands.live.run_live`) and the GUI's engine thread::

    blocks (an iterable of sample arrays, at the engine's input rate)
      -> engine.push(block)     every block, until the source ends or stop() is true
      -> sink(events)           every sink, after every block (events may be empty)
      -> engine.finish()        once: close the open notes; the sinks get those events too

Conventions:

- An engine is anything with ``push(block) -> events`` and
  ``finish() -> events`` (:class:`~svt_live.engine.streaming.Engine`,
  :class:`~svt_live.engine.lowlatency.LowLatencyEngine`).
- A sink is a callable ``sink(events: list) -> None``. It is called after
  every push, so a sink can also poll (a stop request that raises, a GUI's
  statistics).
- ``stop`` is a callable returning true once the take should end; it is
  asked before each block is pushed. The block source may check it too
  (a microphone read that times out).
- :meth:`Driver.feed` and :meth:`Driver.finish` are apart so a caller can
  finish the engine after the source failed (a dying microphone): the
  notes so far are kept and the sounding note is closed.
- :class:`MidiSink` holds the rule for a MIDI port: a failed send warns once
  and the take goes on without MIDI.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

from svt_live.console import line
from svt_live.events import NoteOn
from svt_live.notes import note_name


class Driver:
    """Runs blocks through an engine and hands its events to sinks.

    Parameters
    ----------
    engine : Engine or LowLatencyEngine
        What turns blocks into events (``push`` / ``finish``).
    sinks : iterable of callable
        Each called with the list of events after every block and after finishing.
    stop : callable, optional
        Returns true once no further block should be pushed.

    Examples
    --------
    >>> class Echo:  # an engine whose events are the block sizes
    ...     def push(self, block): return [len(block)]
    ...     def finish(self): return ["end"]
    >>> seen = []
    >>> Driver(Echo(), [seen.extend]).run([[0.0] * 3, [0.0] * 2])
    >>> seen
    [3, 2, 'end']
    """

    def __init__(self, engine, sinks: Iterable[Callable] = (), stop: Callable[[], bool] | None = None):
        self.engine = engine
        self.sinks = list(sinks)
        self.stop = stop

    def _send(self, events: list) -> None:
        for sink in self.sinks:
            sink(events)

    def feed(self, blocks: Iterable) -> None:
        """Push every block of ``blocks`` until it ends or ``stop()`` is true."""
        for block in blocks:
            if self.stop is not None and self.stop():
                return
            self._send(self.engine.push(block))

    def finish(self) -> None:
        """End the stream: the engine closes its open notes; the sinks get the last events."""
        self._send(self.engine.finish())

    def run(self, blocks: Iterable) -> None:
        """:meth:`feed` then :meth:`finish`."""
        self.feed(blocks)
        self.finish()


class MidiSink:
    """Sends events to a MIDI port; a failed send calls ``warn(message)`` once, closes the port and the take
    goes on without MIDI.

    Parameters
    ----------
    midi : MidiOut or None
        The open port (None: the sink does nothing).
    warn : callable
        Called with a one-line message when the port fails.
    aids : PortAids, optional
        The playing aids (:mod:`svt_live.engine.playaids`) that rewrite the port's events.
    clock : callable, optional
        Stream time now (seconds), for ``aids``' hold (default: the events' ``emitted_at``).
    """

    def __init__(self, midi, warn: Callable[[str], None], aids=None, clock: Callable[[], float] | None = None):
        self.midi, self.warn = midi, warn
        self.aids = aids if aids is not None and aids.active else None
        self.clock = clock

    def __call__(self, events: list) -> None:
        if self.aids is not None and self.midi is not None:
            now = self.clock() if self.clock is not None else max((e.emitted_at for e in events), default=0.0)
            events = self.aids(events, now)
        self._send(events)

    def _send(self, events: list) -> None:
        for ev in events:
            if self.midi is None:
                return
            try:
                self.midi.send(ev)
            except Exception as exc:  # noqa: BLE001 - MidiPortError, rtmidi's errors: a vanished port
                self.warn(f"{exc}; transcription goes on without MIDI")
                self.close()

    def close(self) -> None:
        """Send what the aids hold back, then close the port (note-offs, all-notes-off); further events
        are dropped."""
        if self.aids is not None and self.midi is not None:
            self._send(self.aids.flush())
        midi, self.midi = self.midi, None
        if midi is not None:
            try:
                midi.close()
            except Exception:  # noqa: BLE001 - a broken port failing to close must not end the take
                pass


def note_on_line(ev: NoteOn, latency: bool = False) -> str:
    """The line printed for a NoteOn: stream time, name, number, velocity (and its engine latency in ms).

    The engine latency is ``emitted_at - time``: from the note's start in the audio svt-live received
    to the NoteOn. It leaves out what comes before the audio reaches svt-live (the sound card's period,
    PortAudio's buffering) and after the NoteOn leaves (the MIDI system, the synth):
    ``docs/low-latency.md`` says what an end-to-end figure adds.

    Examples
    --------
    >>> note_on_line(NoteOn(1.5, 69, 80, 1.56), latency=True)
    '     1.50 s    A4 ( 69)  vel  80  engine latency   60 ms'
    """
    line = f"{ev.time:9.2f} s  {note_name(ev.pitch):>4} ({ev.pitch:3d})  vel {ev.velocity:3d}"
    return line + (f"  engine latency {1000 * (ev.emitted_at - ev.time):4.0f} ms" if latency else "")


def print_note_ons(latency: bool = False) -> Callable[[list], None]:
    """A sink printing each NoteOn to stdout (:func:`note_on_line`)."""
    def sink(events: list) -> None:
        for ev in events:
            if isinstance(ev, NoteOn):
                line(note_on_line(ev, latency), sys.stdout)
    return sink
