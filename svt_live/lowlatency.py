"""Live mode's two paths over one stream: early events for the MIDI port, accurate notes for the files.

::

    blocks ─┬─> Engine(live network, EarlyNoteDecoder)  -> events: MIDI port, printed NoteOns
            └─> Engine(accurate network, NoteDecoder)   -> notes: JSON, CSV, MIDI file

The live network (:data:`LIVE_MODEL`, ``configs/singing_crnn_live.toml``)
is causal with a 40 ms window, so a frame is complete 20 ms after its
centre, and :class:`~svt_live.early.EarlyNoteDecoder` announces a note on
its first voiced frames (``docs/low-latency.md`` has the measured budget).
The accurate network runs on the same blocks at the same hop; its notes
are exactly those of file mode on the recorded take. Both engines are
called every hop, the live one first, so the port never waits for the
accurate network.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checkpoint import LoadedModel, load_model
from .early import CONFIRM_FRAMES, CORRECT_FRAMES, EarlyNoteDecoder
from .engine import LIVE_HOP, Engine

LIVE_MODEL = "singing_crnn_live"  # bundled network of the live port


def load_live_model(name: str | None = None, device="cpu") -> LoadedModel:
    """The live port's network: ``name`` (bundled name or checkpoint path), default :data:`LIVE_MODEL`."""
    return load_model(name or LIVE_MODEL, device)


class LowLatencyEngine:
    """Two :class:`~svt_live.engine.Engine` s on one stream; :meth:`push` returns the live events.

    Parameters
    ----------
    lm : LoadedModel
        The accurate model: its notes are :attr:`notes` (the files of the take).
    live_lm : LoadedModel
        The live network: its early events go to the port.
    sample_rate : int, optional
        Rate of the pushed blocks (Hz); default the models' rate.
    hop_seconds : float
        Audio gathered before each model call (both engines).
    bends : bool
        Emit :class:`~svt_live.events.PitchBend` events with the notes.
    on_event : callable, optional
        Called with each accurate event (the take's notes as they close).
    on_frames : callable, optional
        The accurate engine's frame callback (the GUI's pitch contour).
    confirm_frames, correct_frames : int
        :class:`~svt_live.early.EarlyNoteDecoder` settings.
    """

    def __init__(self, lm: LoadedModel, live_lm: LoadedModel, sample_rate: int | None = None,
                 hop_seconds: float = LIVE_HOP, bends: bool = False, on_event: Callable | None = None,
                 on_frames: Callable | None = None,
                 confirm_frames: int = CONFIRM_FRAMES, correct_frames: int = CORRECT_FRAMES):
        early = EarlyNoteDecoder(live_lm.decoding, live_lm.features.frame_seconds, confirm_frames,
                                 correct_frames, bends)
        self.live = Engine(live_lm, sample_rate, hop_seconds, decoder=early)
        self.accurate = Engine(lm, sample_rate, hop_seconds, on_event, on_frames)
        self.accurate_events: list = []  # the accurate path's events (NoteOn / NoteOff), for the GUI

    @property
    def stream_time(self) -> float:
        """Seconds of audio consumed so far."""
        return self.accurate.stream_time

    @property
    def finished(self) -> bool:
        return self.accurate.finished

    @property
    def notes(self) -> np.ndarray:
        """The accurate notes ``[n, 3]`` (onset s, offset s, MIDI) closed so far: the take's files."""
        return self.accurate.notes

    @property
    def velocities(self) -> np.ndarray:
        """Velocity of each of :attr:`notes` ``[n]``."""
        return self.accurate.velocities

    @property
    def live_notes(self) -> np.ndarray:
        """The notes as sent to the port ``[n, 3]`` (NoteOn s, NoteOff s, MIDI number)."""
        return self.live.decoder.notes

    def push(self, block) -> list:
        """Feed samples ``[n]`` or ``[n, channels]``; return the new live events."""
        events = self.live.push(block)
        self.accurate_events += self.accurate.push(block)
        return events

    def finish(self) -> list:
        """End of stream: both engines close their notes; returns the last live events."""
        events = self.live.finish()
        self.accurate_events += self.accurate.finish()
        return events

    def take_accurate_events(self) -> list:
        """The accurate events since the last call (and forget them)."""
        out, self.accurate_events = self.accurate_events, []
        return out
