"""The take: what one recording produced, independent of Qt.

A take collects the engine's output as it arrives:

- notes, from :class:`~svt_live.events.NoteOn` (the note appears, still open)
  and :class:`~svt_live.events.NoteOff` (the note closes with its final onset,
  offset and fractional MIDI pitch);
- the frame pitch contour (MIDI, NaN where unvoiced), one value per model
  frame of ``frame_seconds`` (0.02 s), frame ``t`` at ``t * frame_seconds``;
- the stream time reached (seconds of audio consumed);
- optionally a reference (annotation) and its score;
- optionally an exercise (a score to sing, :mod:`svt_live.sight.score`) and its
  sight-singing check (:mod:`svt_live.sight.check`): which of its notes are
  settled and how;
- for a microphone take, its audio (:class:`TakeAudio`, a 16-bit WAV in a
  private temporary folder that goes away with the take).

Closed notes, in the order the engine closed them, equal the engine's
``notes`` array, so :meth:`Take.notes_array` is exactly what ``svt-live``
prints for the same audio and model.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from svt_live.events import NoteOff, NoteOn


class TakeAudio:
    """A microphone take's audio as it was recorded: blocks ``[n, channels]`` (float, full scale
    1.0) streamed to a 16-bit WAV in a private temporary folder, removed with this object."""

    def __init__(self, sample_rate: int, channels: int):
        from svt_live.io.outputs import WavRecorder

        self._dir = tempfile.TemporaryDirectory(prefix="svt-gui-")
        self.path = Path(self._dir.name) / "take.wav"
        self._recorder = WavRecorder(self.path, sample_rate, channels)

    def write(self, block: np.ndarray) -> None:
        self._recorder.write(block)

    def close(self) -> None:
        """End the recording: the WAV is complete at :attr:`path` (calling it again does nothing)."""
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            recorder.close()

    def save(self, path: str | Path) -> None:
        """Copy the finished recording to ``path`` (replaced atomically)."""
        from svt_live.io.outputs import atomic_write

        if self._recorder is not None:
            raise ValueError("the take is still recording")
        atomic_write(path, lambda tmp: shutil.copyfile(self.path, tmp))


@dataclass
class TakeNote:
    """One note of the take.

    ``onset``/``offset``: seconds from the start of the stream (``offset`` is
    None while the note sounds); ``pitch``: nearest MIDI note announced by the
    NoteOn; ``midi``: final fractional MIDI pitch (the NoteOn's pitch until
    the NoteOff); ``velocity``: 1-127; ``latency``: seconds between the note's
    start and the moment the engine announced it (``emitted_at - time``).
    """

    onset: float
    pitch: int
    velocity: int
    latency: float
    offset: float | None = None
    midi: float | None = None

    @property
    def open(self) -> bool:
        return self.offset is None

    @property
    def shown_pitch(self) -> float:
        """Pitch to draw (MIDI): the note's final pitch once it ended, the announced note before."""
        return self.pitch if self.midi is None else self.midi


class Take:
    """Notes, pitch contour and stream time of one recording.

    ``frame_seconds``: time between contour frames (0.02 s).
    """

    def __init__(self, frame_seconds: float = 0.02, name: str = "take"):
        self.frame_seconds = frame_seconds
        self.name = name
        self.notes: list[TakeNote] = []
        self._closed: list[tuple[float, float, float]] = []  # (onset, offset, midi) in closing order
        self._velocities: list[int] = []
        self._saved_count = 0  # closed notes at the last save()
        self._open: TakeNote | None = None
        self._contour = np.full(0, np.nan, dtype=np.float32)
        self.n_frames = 0
        self.stream_time = 0.0
        self.finished = False
        self.reference: np.ndarray | None = None
        self.reference_name = ""
        self.audio: TakeAudio | None = None  # a microphone take's recording
        self.exercise = None  # svt_live.sight.score.Score to sing
        self.tolerance_cents = 50.0
        self.check = None  # svt_live.sight.check.CheckResult of the notes so far
        self.settled = 0  # exercise notes, from the first, whose verdict is final

    # ---- engine output -------------------------------------------------
    def apply(self, event) -> None:
        """Add one engine event (NoteOn opens a note, NoteOff closes the open one)."""
        if isinstance(event, NoteOn):
            self._close_dangling()
            note = TakeNote(event.time, event.pitch, event.velocity, event.emitted_at - event.time)
            self.notes.append(note)
            self._open = note
        elif isinstance(event, NoteOff):
            note = self._open
            if note is None or abs(note.onset - event.onset) > 1e-9:
                # a NoteOff without its NoteOn (should not happen): keep the note anyway
                note = TakeNote(event.onset, event.pitch, 80, event.emitted_at - event.onset)
                self.notes.append(note)
            note.offset, note.midi = event.time, event.midi
            self._closed.append((event.onset, event.time, event.midi))
            self._velocities.append(note.velocity)
            self._open = None
        self.stream_time = max(self.stream_time, getattr(event, "emitted_at", 0.0))

    def _close_dangling(self) -> None:
        """A NoteOn while another note is open: close the old one where the new one starts."""
        if self._open is not None:
            self._open.offset = max(self._open.onset, self.stream_time)
            self._open = None

    def add_contour(self, first_frame: int, pitch: np.ndarray) -> None:
        """Store frame pitches (MIDI, NaN = unvoiced) for frames ``first_frame ...``."""
        pitch = np.asarray(pitch, dtype=np.float32).reshape(-1)
        end = first_frame + len(pitch)
        if end > len(self._contour):
            grown = np.full(max(end, 2 * len(self._contour), 512), np.nan, dtype=np.float32)
            grown[:len(self._contour)] = self._contour
            self._contour = grown
        self._contour[first_frame:end] = pitch
        self.n_frames = max(self.n_frames, end)

    def advance(self, stream_time: float) -> None:
        """The engine has consumed ``stream_time`` seconds of audio."""
        self.stream_time = max(self.stream_time, float(stream_time))

    def finish(self) -> None:
        """The stream ended (the engine's finish() closed any open note)."""
        self._close_dangling()
        self.finished = True

    # ---- views -----------------------------------------------------------
    @property
    def contour(self) -> np.ndarray:
        """Frame pitch ``[n_frames]`` (MIDI, NaN where unvoiced)."""
        return self._contour[:self.n_frames]

    @property
    def sounding(self) -> TakeNote | None:
        """The note announced and not yet closed, if any."""
        return self._open

    def notes_array(self) -> np.ndarray:
        """Closed notes ``[n, 3]`` (onset s, offset s, fractional MIDI), as the engine's ``notes``."""
        return np.asarray(self._closed, dtype=np.float64).reshape(-1, 3)

    @property
    def velocities(self) -> list[int]:
        """Velocity of each closed note, aligned with :meth:`notes_array`."""
        return list(self._velocities)

    @property
    def latencies(self) -> np.ndarray:
        """Latency of every announced note (s): ``emitted_at - onset`` of its NoteOn."""
        return np.asarray([n.latency for n in self.notes], dtype=np.float64)

    @property
    def duration(self) -> float:
        """Seconds covered: stream time, last contour frame or last note end, whichever is latest."""
        ends = [self.stream_time, self.n_frames * self.frame_seconds]
        ends += [n.offset or n.onset for n in self.notes[-1:]]
        if self.reference is not None and len(self.reference):
            ends.append(float(self.reference[:, 1].max()))
        return max(ends)

    def pitch_span(self) -> tuple[float, float] | None:
        """Lowest and highest MIDI pitch among notes, reference, exercise and contour; None if empty."""
        vals = [float(n.shown_pitch) for n in self.notes]
        if self.reference is not None and len(self.reference):
            vals += [float(self.reference[:, 2].min()), float(self.reference[:, 2].max())]
        if self.check is not None:
            written = self.exercise.notes[:, 2] + 12 * self.check.octave_shift
            vals += [float(written.min()), float(written.max())]
        c = self.contour
        c = c[:: max(1, c.size // 5000)]  # a subsample keeps this cheap on hour-long takes
        c = c[np.isfinite(c)]
        if c.size:
            vals += [float(np.percentile(c, 1)), float(np.percentile(c, 99))]
        return (min(vals), max(vals)) if vals else None

    # ---- reference and score ---------------------------------------------
    def set_reference(self, notes: np.ndarray | None, name: str = "") -> None:
        """Reference notes ``[n, 3]`` to overlay and score against (None removes it)."""
        self.reference = None if notes is None else np.asarray(notes, dtype=np.float64).reshape(-1, 3)
        self.reference_name = name if notes is not None else ""

    def evaluate(self, onset_tolerance: float = 0.05) -> dict | None:
        """``{measure: (P, R, F1)}`` of the closed notes against the reference, or None."""
        if self.reference is None:
            return None
        from svt_live.evaluate import evaluate_notes
        return evaluate_notes(self.reference, self.notes_array(), onset_tolerance)

    # ---- exercise (sight-singing) ------------------------------------------
    def set_exercise(self, score, tolerance_cents: float = 50.0) -> None:
        """The :class:`svt_live.sight.score.Score` sung in this take (None removes it)."""
        self.exercise, self.tolerance_cents = score, tolerance_cents
        self.check, self.settled = None, 0

    def check_exercise(self, audio_path: str | Path | None = None):
        """Check the closed notes against the exercise, return the
        :class:`~svt_live.sight.check.CheckResult` (None without an exercise).

        While the take runs: :func:`svt_live.sight.take.live_check`, and only the notes
        :func:`~svt_live.sight.take.settled` by now count as judged. Once finished: the whole take
        checked as ``svt-live --score`` checks a file, the pitch of each note measured from the
        sung fundamental in ``audio_path`` (the take's audio) when given.
        """
        if self.exercise is None:
            return None
        from svt_live.sight.check import check
        from svt_live.sight.take import live_check, settled

        sung = self.notes_array()
        if not self.finished:
            self.check = live_check(self.exercise.notes, sung, self.tolerance_cents, 0.0)
            self.settled = settled(self.check, self.stream_time)
            return self.check
        if audio_path is not None and len(sung):
            from svt_live.engine.f0 import note_pitches
            from svt_live.engine.features import FeatureConfig
            from svt_live.io.audio import load_audio

            cfg, sung = FeatureConfig(), sung.copy()
            sung[:, 2] = note_pitches(sung, load_audio(audio_path, cfg.sample_rate), cfg)
        self.check = check(self.exercise.notes, sung, self.tolerance_cents)
        self.settled = len(self.check.notes)
        return self.check

    # ---- files -------------------------------------------------------------
    def save(self, path: str | Path) -> str:
        """Write the closed notes to ``path``; the format follows the extension.

        A note format of :data:`svt_live.io.annotations.FORMATS` (``.mid`` with
        the NoteOns' velocities, ``.json`` under the take's name, ``.csv``,
        ``.txt``, ``.musicxml`` as a lead sheet), or ``.wav``: the recorded audio of a
        microphone take. Returns the format's name. Raises ValueError for
        another extension or a take without audio, OSError when writing fails.
        """
        from svt_live.io.annotations import WRITE_EXTENSIONS, note_format, write_notes
        from svt_live.notes import NoteError

        path = Path(path)
        notes = self.notes_array()
        if path.suffix.lower() == ".wav":
            if self.audio is None:
                raise ValueError("only a microphone take has audio to save")
            self.audio.save(path)
            return "WAV"
        try:
            note_format(path, writing=True)
        except NoteError:
            raise ValueError(f"{path.name}: save as {', '.join(WRITE_EXTENSIONS)} "
                             "or (a microphone take) .wav") from None
        fmt = write_notes(path, notes, self._velocities, name=self.name)
        self._saved_count = len(notes)
        return fmt

    @property
    def unsaved(self) -> bool:
        """True when notes closed since the last :meth:`save` (or since the start, if never saved)."""
        return len(self._closed) > self._saved_count
