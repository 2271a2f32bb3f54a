"""Early note decisions for the live MIDI port: a NoteOn on the first confident frames, corrected later.

:class:`EarlyNoteDecoder` turns the frame posteriors of a causal live
network into note events as soon as a frame allows, where
:class:`~svt_live.engine.decode.NoteDecoder` waits for an onset peak and
``min_note_frames`` voiced frames. Rules (``t`` = frame index, time
``t * frame_seconds``; thresholds from :class:`~svt_live.engine.decode.DecodeParams`):

1. **Onset**: frame ``t`` starts a note when ``onset[t] >= onset_threshold``
   and it is :data:`ONSET_RISE` above the lowest onset posterior since the
   last onset (a rise through the threshold, or a new rise while it stays
   above: legato notes): no peak to confirm, no right context. An onset
   closes the note sounding before it.
2. **NoteOn**: once ``confirm_frames`` frames of the note are voiced, or on
   its first voiced frame when its onset posterior reached ``sure_onset``
   (a clear onset needs no confirmation), with a provisional pitch: the
   nearest MIDI note of the median of its voiced frames. It is stamped :data:`ONSET_LEAD_FRAMES` after the onset frame:
   the posterior crosses the threshold about a frame before the peak the
   network puts on the sung onset (``docs/low-latency.md``).
3. **Correction**: the note's pitch is the median of its voiced frames after
   the first (the accurate decoder's rule), re-read on every voiced frame;
   when it is more than :data:`RETRIGGER_SEMITONES` from the note number on
   ``correct_frames`` frames in a row (a wrong note, not a pitch between two;
   with ``bends``: more than ``bend_range``, the wheel carries the rest), the
   note is retriggered: NoteOff of
   the old number and NoteOn of the new one at the same instant. A synth and
   a recording client both hear the right note from then on and never a
   hanging one.
4. **NoteOff**: ``offset >= offset_threshold``, ``silence_frames`` unvoiced
   frames in a row, the next onset, or the end of the stream.
5. **Pitch bends** (``bends=True``): before each NoteOn and on every voiced
   frame of a sounding note, a :class:`~svt_live.events.PitchBend` from the
   note number to the frame's pitch, when it moved at least
   :data:`~svt_live.io.bends.MIN_STEP_CENTS` since the last one sent.
6. **Refinement** (:meth:`EarlyNoteDecoder.refine`): the frames of a second,
   more accurate network, which arrive later, take over the sounding note's
   pitch: from its first voiced refined frame after the onset frame on, the
   settled pitch of rule 3 is their median and the bends of rule 5 follow
   their contour (the live frames no longer bend). A wrong number is
   retriggered by rule 3 at the time of the latest live frame.

Events come out in time order: every event's ``time`` is a frame time no
earlier than the previous event's. :attr:`EarlyNoteDecoder.notes` holds the
notes exactly as sent (what a client recording the port captures, stamped
with note times): ``(NoteOn time, NoteOff time, MIDI number)`` rows.
"""
from __future__ import annotations

import statistics

import numpy as np

from svt_live.engine.decode import POSTERIOR_KEYS, DecodeParams, note_velocity
from svt_live.events import NoteOff, NoteOn, PitchBend
from svt_live.io.bends import BEND_RANGE_SEMITONES, MIN_STEP_CENTS

CONFIRM_FRAMES = 2  # voiced frames before the NoteOn (benchmarks/latency.py --compare measures 1-3)
SURE_ONSET = 0.8  # onset posterior whose note needs one voiced frame (--compare measures 0.7-0.9)
CORRECT_FRAMES = 2  # frames in a row at another note before a retrigger
ONSET_RISE = 0.1  # onset posterior rise since its last low that makes a new onset
ONSET_LEAD_FRAMES = 1  # NoteOn stamp after the frame whose onset crossed the threshold
RETRIGGER_SEMITONES = 0.7  # without bends, a settled pitch this far off the number retriggers


class _Sounding:
    __slots__ = ("start", "sent_at", "strength", "pitches", "refined", "midi", "silent", "wrong", "bend")

    def __init__(self, start: int, strength: float):
        self.start = start  # onset frame
        self.sent_at = start  # frame of the current NoteOn (later than start after a retrigger)
        self.strength = strength
        self.pitches: list[float] = []  # live pitches of the voiced frames
        self.refined: list[float] = []  # refined pitches of the voiced frames after the onset frame
        self.midi: int | None = None  # MIDI number sounding; None before the NoteOn
        self.silent = 0
        self.wrong = 0
        self.bend: float | None = None  # last bend sent, cents


class EarlyNoteDecoder:
    """Incremental early decoder. Feed posterior frames with :meth:`push`, end with :meth:`flush`.

    Parameters
    ----------
    params : DecodeParams
        Thresholds and ``silence_frames`` (``min_note_frames`` is not used).
    frame_seconds : float
        Seconds between frames.
    confirm_frames : int
        Voiced frames of a note before its NoteOn (>= 1).
    sure_onset : float
        Onset posterior at which one voiced frame is enough (above 1: never).
    correct_frames : int
        Frames in a row whose settled pitch rounds to another note before a retrigger (>= 1).
    bends : bool
        Also emit :class:`~svt_live.events.PitchBend` events.
    bend_range : float
        Semitones the pitch wheel reaches (with ``bends``).

    Examples
    --------
    >>> dec = EarlyNoteDecoder(DecodeParams(), 0.02)
    >>> on = [0.0, 0.9, 0.2, 0.1, 0.0, 0.0]
    >>> events = dec.push({"onset": on, "offset": [0.0] * 6, "voiced": [0.0, 0.9, 0.9, 0.9, 0.0, 0.0],
    ...                    "pitch": [0.0, 60.2, 60.1, 60.0, 0.0, 0.0]}, now=0.12)
    >>> [(type(e).__name__, e.time, e.pitch) for e in events]
    [('NoteOn', 0.04, 60), ('NoteOff', 0.08, 60)]
    """

    def __init__(self, params: DecodeParams = DecodeParams(), frame_seconds: float = 0.02,
                 confirm_frames: int = CONFIRM_FRAMES, correct_frames: int = CORRECT_FRAMES, bends: bool = False,
                 bend_range: float = BEND_RANGE_SEMITONES, sure_onset: float = SURE_ONSET):
        if int(confirm_frames) < 1 or int(correct_frames) < 1:
            raise ValueError(f"confirm_frames and correct_frames must be >= 1, got {confirm_frames}, {correct_frames}")
        self.params, self.frame_seconds = params, frame_seconds
        self.confirm, self.correct, self.bends = int(confirm_frames), int(correct_frames), bends
        self.sure = float(sure_onset)
        self.tolerance = bend_range if bends else RETRIGGER_SEMITONES  # how far the pitch may be off its number
        self._t = 0
        self._low = 0.0  # lowest onset posterior since the last onset
        self._note: _Sounding | None = None
        self._notes: list[tuple[float, float, float]] = []
        self.n_note_ons = 0
        self.n_corrections = 0

    @property
    def notes(self) -> np.ndarray:
        """Notes as sent ``[n, 3]`` (NoteOn s, NoteOff s, MIDI number), in order."""
        return np.asarray(self._notes, dtype=np.float64).reshape(-1, 3)

    def push(self, post: dict, now: float = 0.0) -> list:
        """Append posterior frames (arrays ``[n]`` under ``onset``, ``offset``, ``voiced``, ``pitch``);
        return the events they decide, stamped ``emitted_at = now`` (stream seconds)."""
        cols = [np.asarray(post[k], dtype=np.float64).reshape(-1) for k in POSTERIOR_KEYS]
        events: list = []
        for frame in zip(*cols):
            self._decide(*frame, now=now, events=events)
        return events

    def refine(self, first: int, post: dict, now: float = 0.0, voiced_threshold: float | None = None) -> list:
        """Frames ``first, first + 1, ...`` of a more accurate network (arrays ``[n]`` under ``voiced`` and
        ``pitch``), which arrive after the live frames of the same index: those of the sounding note
        correct its pitch (rule 6); return the events, stamped at the latest live frame's time.

        ``voiced_threshold``: that network's voicing threshold (default the live one's).
        """
        note, events = self._note, []
        if note is None:
            return events
        threshold = self.params.voiced_threshold if voiced_threshold is None else voiced_threshold
        voiced = np.asarray(post["voiced"], dtype=np.float64).reshape(-1)
        pitch = np.asarray(post["pitch"], dtype=np.float64).reshape(-1)
        frames = first + np.arange(len(voiced))
        keep = (frames > note.start) & (frames < self._t) & (voiced >= threshold)
        if not keep.any():
            return events
        note.refined += pitch[keep].tolist()
        if note.midi is not None:
            self._settle(note, max(self._t - 1, note.sent_at), note.refined[-1], now, events)
        return events

    def flush(self, now: float = 0.0) -> list:
        """End of stream: close the sounding note."""
        events: list = []
        self._close(self._t, now, events)
        return events

    def _decide(self, onset, offset, voiced, pitch, now: float, events: list) -> None:
        p, t = self.params, self._t
        self._t += 1
        rising = onset >= p.onset_threshold and onset - self._low >= ONSET_RISE
        self._low = onset if rising else min(self._low, onset)
        if rising:
            self._close(t, now, events)
            self._note = _Sounding(t, onset)
        note = self._note
        if note is None:
            return
        if not rising and offset >= p.offset_threshold:
            self._close(t, now, events)
            return
        if voiced < p.voiced_threshold:
            note.silent += 1
            if note.silent >= p.silence_frames:
                self._close(t - note.silent + 1, now, events)
            return
        note.silent = 0
        note.pitches.append(pitch)
        if note.midi is None:
            if len(note.pitches) >= self.confirm or note.strength >= self.sure:
                self._note_on(note, note.start + ONSET_LEAD_FRAMES, statistics.median(note.pitches), now, events)
            return
        if not note.refined:
            self._settle(note, t, pitch, now, events)

    def _settle(self, note: _Sounding, t: int, pitch: float, now: float, events: list) -> None:
        """Rules 3 and 5 at frame ``t`` whose pitch is ``pitch``: retrigger a wrong number, or bend."""
        settled = statistics.median(note.refined or note.pitches[1:])
        note.wrong = note.wrong + 1 if abs(settled - note.midi) > self.tolerance else 0
        if note.wrong >= self.correct:
            self.n_corrections += 1
            self._note_on(note, self._note_off(note, t, now, events), settled, now, events)
        elif self.bends:
            self._bend(note, t, pitch, now, events)

    def _note_on(self, note: _Sounding, stamp: int, midi: float, now: float, events: list) -> None:
        """NoteOn of the nearest note to ``midi`` (fractional) stamped at frame ``stamp`` (the onset, or a
        retrigger's own frame)."""
        note.midi, note.sent_at, note.wrong = int(np.clip(round(midi), 0, 127)), stamp, 0
        if self.bends:
            note.bend = None
            self._bend(note, stamp, (note.refined or note.pitches)[-1], now, events)
        events.append(NoteOn(stamp * self.frame_seconds, note.midi, note_velocity(note.strength), now, float(midi)))
        self.n_note_ons += 1

    def _bend(self, note: _Sounding, t: int, pitch: float, now: float, events: list) -> None:
        cents = (pitch - note.midi) * 100.0
        if note.bend is None or abs(cents - note.bend) >= MIN_STEP_CENTS:
            note.bend = cents
            events.append(PitchBend(t * self.frame_seconds, cents / 100.0, now))

    def _note_off(self, note: _Sounding, t: int, now: float, events: list) -> int:
        """NoteOff of the sounding number at frame ``t`` (at least a frame after its NoteOn); returns its frame."""
        end = max(t, note.sent_at + 1)
        on, off = note.sent_at * self.frame_seconds, end * self.frame_seconds
        self._notes.append((on, off, float(note.midi)))
        events.append(NoteOff(off, note.midi, on, float(note.midi), now))
        return end

    def _close(self, t: int, now: float, events: list) -> None:
        note, self._note = self._note, None
        if note is not None and note.midi is not None:
            self._note_off(note, t, now, events)
