"""Frame posteriors to notes: one incremental decoder for live and offline use.

Rules, applied frame by frame (``t`` = frame index, time ``t * frame_seconds``):

1. **Onset**: frame ``t`` starts a note when ``onset[t] >= onset_threshold``
   and ``onset[t]`` is a local peak (``>= onset[t-1]`` and ``> onset[t+1]``).
   Peak picking needs one frame of right context. An onset closes the note
   that was sounding at the same time.
2. **Pitch**: every voiced frame (``voiced >= voiced_threshold``) of a note
   contributes its frame pitch. Once ``min_note_frames`` voiced frames are
   seen the note is announced (``NoteOn``, pitch = nearest MIDI of the median
   of those frames after the first: the onset frame is often a transient).
   The note's final pitch is the (low) median over all its voiced
   frames: fractional MIDI for models that estimate cents.
3. **Offset**: an open note ends at frame ``t`` when ``offset[t] >=
   offset_threshold``, or at the first of ``silence_frames`` consecutive
   unvoiced frames, or at the next onset. End of stream closes it.
4. Notes that end before they were announced are dropped: the minimum
   note length is ``min_note_frames`` voiced frames.

Because the offline path (:func:`decode_notes`) feeds the same decoder all
frames at once, live and offline notes are identical for identical posteriors.
"""
from __future__ import annotations

import math
import numbers
import statistics
from dataclasses import asdict, dataclass

import numpy as np

from svt_live.events import NoteOff, NoteOn

POSTERIOR_KEYS = ("onset", "offset", "voiced", "pitch")
MAX_NOTE_FRAMES = 1000  # 20 s of 20 ms frames: the longest minimum note or silence gap a setting may ask


def note_velocity(onset_strength: float) -> int:
    """MIDI velocity 1-127 of a note from its onset posterior (0-1): 40 + 87 x strength.

    The one velocity rule of svt-live: the decoder applies it to every note,
    so files, the live port and the GUI carry the same velocities.

    >>> note_velocity(0.5), note_velocity(1.0), note_velocity(0.0)
    (84, 127, 40)
    """
    return int(np.clip(round(40 + 87 * float(onset_strength)), 1, 127))


@dataclass(frozen=True)
class DecodeParams:
    """Decoding settings; stored in checkpoints (thresholds tuned on validation data)."""

    onset_threshold: float = 0.5
    offset_threshold: float = 0.5
    voiced_threshold: float = 0.5
    min_note_frames: int = 2
    silence_frames: int = 2

    def __post_init__(self):
        for k, v in self.to_dict().items():
            whole = k.endswith("_frames")
            if not isinstance(v, numbers.Integral if whole else numbers.Real) or not math.isfinite(v):
                raise ValueError(f"decoding setting {k} must be {'a whole' if whole else 'a finite'} number, "
                                 f"got {v!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> DecodeParams:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


class _Note:
    __slots__ = ("start", "strength", "pitches", "announced", "midi", "silent")

    def __init__(self, start: int, strength: float):
        self.start, self.strength = start, strength
        self.pitches: list[float] = []
        self.announced = False
        self.midi = 0
        self.silent = 0


class NoteDecoder:
    """Incremental decoder. Feed posterior frames with :meth:`push`, end with :meth:`flush`.

    ``frame_seconds``: time between frames (0.02). Closed notes accumulate
    in :attr:`notes` as ``(onset_s, offset_s, midi)`` rows.
    """

    def __init__(self, params: DecodeParams = DecodeParams(), frame_seconds: float = 0.02):
        self.p = params
        self.frame_seconds = frame_seconds
        self._frames: list[tuple[float, float, float, float]] = []  # frames t-1, t (awaiting t+1)
        self._t = 0  # index of the next frame to decide
        self._prev_onset = 0.0
        self._note: _Note | None = None
        self._notes: list[tuple[float, float, float]] = []
        self._velocities: list[int] = []

    @property
    def notes(self) -> np.ndarray:
        """Closed notes ``[n, 3]`` (onset s, offset s, MIDI), in onset order."""
        return np.asarray(self._notes, dtype=np.float64).reshape(-1, 3)

    @property
    def velocities(self) -> np.ndarray:
        """MIDI velocity of each closed note ``[n]`` int (:func:`note_velocity`), aligned with :attr:`notes`."""
        return np.asarray(self._velocities, dtype=np.int64)

    def push(self, post: dict, now: float = 0.0) -> list:
        """Append frames; return the events they decide.

        ``post``: dict with arrays ``onset``, ``offset``, ``voiced``, ``pitch``
        of equal length ``[n]``. ``now``: stream time (s) stamped as ``emitted_at``.
        """
        cols = [np.asarray(post[k], dtype=np.float64).reshape(-1) for k in POSTERIOR_KEYS]
        events: list = []
        for frame in zip(*cols):
            self._frames.append(frame)
            if len(self._frames) == 2:
                self._decide(self._frames[0], next_onset=frame[0], now=now, events=events)
                self._frames.pop(0)
        return events

    def flush(self, now: float = 0.0) -> list:
        """Decide the last frame and close the open note at the end of the stream."""
        events: list = []
        if self._frames:
            self._decide(self._frames.pop(0), next_onset=0.0, now=now, events=events)
        self._close(self._t, now, events)
        return events

    def _decide(self, frame, next_onset: float, now: float, events: list) -> None:
        onset, offset, voiced, pitch = frame
        t = self._t
        p = self.p
        is_onset = onset >= p.onset_threshold and onset >= self._prev_onset and onset > next_onset
        self._prev_onset = onset
        self._t += 1
        note = self._note
        if is_onset:
            self._close(t, now, events)
            note = self._note = _Note(t, onset)
        elif note is None:
            return
        elif offset >= p.offset_threshold:
            self._close(t, now, events)
            return
        if voiced >= p.voiced_threshold:
            note.silent = 0
            note.pitches.append(pitch)
            if not note.announced and len(note.pitches) >= p.min_note_frames:
                note.announced = True
                settled = note.pitches[1:] or note.pitches  # the onset frame is often a transient
                note.midi = int(np.clip(round(statistics.median(settled)), 0, 127))
                events.append(NoteOn(note.start * self.frame_seconds, note.midi, note_velocity(note.strength), now))
        elif not is_onset:
            note.silent += 1
            if note.silent >= p.silence_frames:
                self._close(t - note.silent + 1, now, events)

    def _close(self, t: int, now: float, events: list) -> None:
        note, self._note = self._note, None
        if note is None or not note.announced:
            return
        onset, offset = note.start * self.frame_seconds, max(t, note.start + 1) * self.frame_seconds
        midi = float(statistics.median_low(note.pitches))
        self._notes.append((onset, offset, midi))
        self._velocities.append(note_velocity(note.strength))
        events.append(NoteOff(offset, note.midi, onset, midi, now))


def decode_notes(post: dict, params: DecodeParams = DecodeParams(), frame_seconds: float = 0.02) -> np.ndarray:
    """Offline decoding of whole-song posteriors (arrays ``[T]``) -> notes ``[n, 3]``."""
    dec = NoteDecoder(params, frame_seconds)
    dec.push(post)
    dec.flush()
    return dec.notes
