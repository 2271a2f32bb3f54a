"""Live mode's two paths over one stream: early events for the MIDI port, accurate notes for the files.

::

    blocks ─┬─> Engine(live network, EarlyNoteDecoder)  -> events: MIDI port, printed NoteOns
            └─> Engine(accurate network, NoteDecoder)   -> notes: JSON, CSV, MIDI file

The live network (:data:`LIVE_MODEL`, ``configs/singing_crnn_live.toml``)
is causal with a 40 ms window, so a frame is complete 20 ms after its
centre, and :class:`~svt_live.engine.early.EarlyNoteDecoder` announces a note on
its first voiced frames (``docs/low-latency.md`` has the measured budget).
The accurate network runs on the same blocks at the same hop; its notes
are exactly those of file mode on the recorded take. The live engine is
called first, so the port never waits for the accurate network. With
``refine``, a causal accurate network's frames, committed about 40 ms after the
live ones, then correct the sounding note's pitch on the port
(:meth:`~svt_live.engine.early.EarlyNoteDecoder.refine`: bends toward its pitch, or
a retrigger); off by default (:data:`REFINE`: with the default model it
scores lower, ``docs/low-latency.md``). The accurate engine may run every
``accurate_hops`` live hops (two frames per call); a non-causal accurate network
(bidirectional, the default: its frames come seconds late anyway) runs at least
every :data:`NONCAUSAL_ACCURATE_HOPS` hops, which costs the pushing thread less.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from svt_live.engine.checkpoint import CheckpointError, LoadedModel, load_model
from svt_live.engine.early import CONFIRM_FRAMES, CORRECT_FRAMES, SURE_ONSET, EarlyNoteDecoder
from svt_live.engine.streaming import LIVE_HOP, Engine

LIVE_MODEL = "singing_crnn_live"  # bundled network of the live port
ACCURATE_HOPS = 1  # live hops per accurate-network call (benchmarks/latency.py measures 1 and 2)
NONCAUSAL_ACCURATE_HOPS = 25  # a bidirectional accurate network: called every 0.5 s, not every hop
REFINE = False  # the accurate network corrects the port (benchmarks/latency.py --compare measures both)


def load_live_model(name: str | None = None, device="cpu") -> LoadedModel:
    """The live port's network: ``name`` (bundled name or checkpoint path), default :data:`LIVE_MODEL`.
    A non-causal network (a file model: its notes come seconds late) is refused with a
    :class:`~svt_live.engine.checkpoint.CheckpointError`."""
    lm = load_model(name or LIVE_MODEL, device)
    if not getattr(lm.model, "causal", True):
        raise CheckpointError(f"{lm.label}: a file model (bidirectional: its notes come up to "
                              f"{(lm.model.window + lm.model.window_context) * lm.features.frame_seconds:.0f} s "
                              f"late) cannot drive the live port; give a causal one such as {LIVE_MODEL}")
    return lm


class LowLatencyEngine:
    """Two :class:`~svt_live.engine.streaming.Engine` s on one stream; :meth:`push` returns the live events.

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
        :class:`~svt_live.engine.early.EarlyNoteDecoder` settings.
    sure_onset : float
        Onset posterior whose NoteOn needs one voiced frame (:class:`~svt_live.engine.early.EarlyNoteDecoder`).
    accurate_hops : int
        Live hops per call of the accurate engine (>= 1; at least :data:`NONCAUSAL_ACCURATE_HOPS`
        for a non-causal accurate network).
    refine : bool
        Let the accurate network's frames correct the port's sounding note (a causal accurate
        network only: a bidirectional one's frames come seconds late; ``ValueError`` otherwise).
    on_audio : callable, optional
        The accurate engine's audio callback (:class:`~svt_live.engine.streaming.Engine`).
    """

    def __init__(self, lm: LoadedModel, live_lm: LoadedModel, sample_rate: int | None = None,
                 hop_seconds: float = LIVE_HOP, bends: bool = False, on_event: Callable | None = None,
                 on_frames: Callable | None = None,
                 confirm_frames: int = CONFIRM_FRAMES, correct_frames: int = CORRECT_FRAMES,
                 accurate_hops: int = ACCURATE_HOPS, refine: bool = REFINE, sure_onset: float = SURE_ONSET,
                 on_audio: Callable | None = None):
        if int(accurate_hops) < 1:
            raise ValueError(f"accurate_hops must be >= 1, got {accurate_hops}")
        early = EarlyNoteDecoder(live_lm.decoding, live_lm.features.frame_seconds, confirm_frames,
                                 correct_frames, bends, sure_onset=sure_onset)
        self.live = Engine(live_lm, sample_rate, hop_seconds, decoder=early)
        if not getattr(lm.model, "causal", True):
            if refine:
                raise ValueError(f"refine needs a causal accurate network: {lm.label}'s frames come seconds "
                                 "late (bidirectional)")
            accurate_hops = max(int(accurate_hops), NONCAUSAL_ACCURATE_HOPS)
        self.accurate = Engine(lm, sample_rate, hop_seconds * int(accurate_hops), on_event,
                               self._refine if refine else on_frames, on_audio=on_audio)
        self.accurate_events: list = []  # the accurate path's events (NoteOn / NoteOff), for the GUI
        self._on_frames, self._refined = on_frames, []  # the caller's frame callback; refinement events
        self._chunk = max(1, int(round(hop_seconds * self.live.input_rate)))  # input samples per live hop
        self._fed = 0  # input samples pushed so far

    @property
    def stream_time(self) -> float:
        """Seconds of audio consumed so far (by the live network, called every hop)."""
        return self.live.stream_time

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

    def _refine(self, first: int, post: dict) -> None:
        """The accurate engine's frame callback: refine the port's note, then the caller's callback."""
        self._refined += self.live.decoder.refine(first, post, self.accurate.stream_time,
                                                  self.accurate.lm.decoding.voiced_threshold)
        if self._on_frames is not None:
            self._on_frames(first, post)

    def _take_refined(self) -> list:
        out, self._refined = self._refined, []
        return out

    def push(self, block) -> list:
        """Feed samples ``[n]`` or ``[n, channels]``; return the new live events.

        The block is cut at every hop boundary of the stream and each piece goes to the live engine,
        then the accurate one, so the refinements fall between the same live frames whatever the
        block size."""
        block = np.asarray(block)
        if block.ndim not in (1, 2):
            return self.live.push(block)  # refused there with the same message as file mode's
        events, start = [], 0
        while start < len(block):
            end = min(len(block), start + self._chunk - self._fed % self._chunk)
            events += self.live.push(block[start:end])
            self.accurate_events += self.accurate.push(block[start:end])
            events += self._take_refined()
            self._fed += end - start
            start = end
        return events

    def finish(self) -> list:
        """End of stream: both engines close their notes; returns the last live events."""
        events = self.live.finish()
        self.accurate_events += self.accurate.finish()
        return events + self._take_refined()

    def take_accurate_events(self) -> list:
        """The accurate events since the last call (and forget them)."""
        out, self.accurate_events = self.accurate_events, []
        return out
