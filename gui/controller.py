"""The take controller: the life of each take, without a widget.

:class:`TakeController` starts a take from a :class:`gui.worker.SourceSpec` (the
engine runs in an :class:`gui.worker.EngineWorker` thread), collects what arrives in
a :class:`gui.take.Take`, scores it against a reference, checks it against an
exercise and saves it. It also owns the microphone's idle level monitor (a take
must find its device free). A window, a test or a script follows it through its
signals and reads its attributes; it needs a running Qt event loop (the worker's
signals are queued to it) but no window.

Problems are messages, never exceptions: ``message(kind, text)`` with kind
error, warning or info, kept in :attr:`TakeController.messages`. The shown take
(:attr:`TakeController.take`) is replaced only once a new take's source opened,
so a bad model or device leaves the previous take as it was.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Signal

from svt_live.events import NoteOff
from svt_live.io.audio import AudioError
from svt_live.io.midiport import MidiChoice
from svt_live.notes import NoteError

from .reference import Reference, read_reference
from .settings import remember_folder
from .take import Take
from .worker import EngineWorker, LevelMonitor, ModelCache, SourceSpec, probe_audio

UNLIKE_EXERCISE = 1 / 3  # a take with fewer of the exercise's notes found than this share gets a warning


class TakeController(QObject):
    """Takes, one at a time, and what they are compared with.

    Signals, in the order a take sends them: ``busy(True)``, ``takeStarted()``,
    ``sourceOpened(info)`` (the worker's dict; :attr:`take` is the new take),
    ``updated(Update)`` (applied to :attr:`take`), then ``busy(False)``,
    ``ended()`` (a take whose source opened is finished), ``scored(dict or None)``,
    ``takeFinished()`` (always last, also when the source never opened).
    ``takeChanged()``: the shown take's reference, exercise or verdicts changed;
    ``message(kind, text)``.

    ``settings``: the QSettings where file dialogs' folders are remembered;
    ``models``: a :class:`gui.worker.ModelCache` (default: a new one on the CPU);
    ``level_monitor``: whether :meth:`restart_monitor` opens a chosen microphone
    to show its level between takes.
    """

    busy = Signal(bool)
    takeStarted = Signal()
    sourceOpened = Signal(object)
    updated = Signal(object)
    ended = Signal()
    scored = Signal(object)
    takeFinished = Signal()
    takeChanged = Signal()
    message = Signal(str, str)

    def __init__(self, settings, models: ModelCache | None = None, level_monitor: bool = True, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.models = models if models is not None else ModelCache("cpu")
        self.use_level_monitor = level_monitor
        self.messages: list[tuple[str, str]] = []  # (kind, text), oldest first
        self.take = Take()
        self.reference: Reference | None = None
        self.exercise = None  # svt_live.sight.score.Score every take is checked against
        self.last_evaluation: dict | None = None
        self.worker: EngineWorker | None = None
        self.monitor: LevelMonitor | None = None
        self.spec: SourceSpec | None = None  # the last take's source
        self._next_take: Take | None = None  # a take whose source is still opening

    def say(self, text: str, kind: str = "error") -> None:
        """Report ``text`` (kind: error, warning or info)."""
        self.messages.append((kind, text))
        self.message.emit(kind, text)

    # ---- takes -----------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.worker is not None

    def start(self, spec: SourceSpec, model: str | None = None, midi: MidiChoice | None = None,
              aids=None) -> bool:
        """Start a take of ``spec`` with ``model`` (a bundled name or checkpoint path; None: the default),
        sending to ``midi`` (None: no MIDI) with the port's ``aids``;
        False (with a message) when it cannot start."""
        if self.recording:
            return False
        if spec.kind == "file" and not self.usable_file(spec.path):
            return False
        name = Path(spec.path).stem if spec.kind == "file" else "take"
        closing = self.release_monitor()
        self.spec = spec
        self._next_take = Take(name=name)
        if self.reference is not None and self.reference.belongs_to(spec.kind, spec.path):
            self._next_take.set_reference(self.reference.notes, self.reference.name)
        self._next_take.set_exercise(self.exercise)
        # no Qt parent: _on_finished's deleteLater ends it, also when the controller is deleted first
        self.worker = EngineWorker(spec, model, self.models, midi, after=closing, aids=aids)
        self.worker.update.connect(self._on_update)
        self.worker.failed.connect(lambda text: self.say(text, "error"))
        self.worker.warning.connect(lambda text: self.say(text, "warning"))
        self.worker.started_source.connect(self._on_source)
        self.worker.finished.connect(self._on_finished)
        self.busy.emit(True)
        self.worker.start()
        self.takeStarted.emit()
        return True

    def usable_file(self, path: str | Path) -> bool:
        """Whether ``path`` is a readable audio file (its header); if not, says why."""
        try:
            probe_audio(path)
        except AudioError as exc:
            self.say(str(exc), "error")
            return False
        return True

    def stop(self) -> bool:
        """End the take: the engine finishes and closes the sounding note (asynchronously); False if none runs."""
        if self.worker is None:
            return False
        self.worker.request_stop()
        return True

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Block until the running take's thread ended (its last signals still wait in the event loop)."""
        return self.worker is None or self.worker.wait(timeout_ms)

    def finish(self, timeout_ms: int = 5000) -> None:
        """End the running take and wait for it: its last update and ``takeFinished`` are delivered."""
        self.stop()
        self.wait_idle(timeout_ms)
        QCoreApplication.processEvents()

    def shutdown(self) -> None:
        """Close the level monitor's device and end the take's thread (waiting a few seconds at most)."""
        self.close_monitor()
        if self.worker is not None:
            self.worker.request_stop()
            self.worker.wait(3000)

    def _on_source(self, info: dict) -> None:
        self.take, self._next_take = self._next_take, None
        self.take.frame_seconds = info["frame_seconds"]
        self.last_evaluation = None
        self.sourceOpened.emit(info)

    def _on_update(self, up) -> None:
        take = self.take
        for first, pitch in up.contour:
            take.add_contour(first, pitch)
        for ev in up.events:
            take.apply(ev)
        take.advance(up.stream_time)
        live = self.spec is not None and self.spec.live  # a file at full speed is checked once, at the end
        if live and take.exercise is not None and any(isinstance(ev, NoteOff) for ev in up.events):
            take.check_exercise()
        self.updated.emit(up)

    def _on_finished(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.wait(2000)
            worker.deleteLater()
        started, self._next_take = self._next_take is None, None
        if started and worker is not None:
            self.take.audio = worker.audio
        self.busy.emit(False)
        if started:
            self.take.finish()
            self.ended.emit()
            self.update_score()
            self.check_exercise()
        self.takeFinished.emit()

    # ---- the microphone's level between takes -----------------------------------------------
    def restart_monitor(self, kind: str, device: str | None) -> None:
        """Show the level of microphone ``device`` while no take runs (``kind`` 'mic'), else none."""
        closing = self.release_monitor()
        if kind == "mic" and self.use_level_monitor and self.worker is None:
            self.monitor = LevelMonitor(device, after=closing)
            self.monitor.start()

    def release_monitor(self) -> LevelMonitor | None:
        """Ask the level monitor to close its device without waiting; returns it (or None)."""
        monitor, self.monitor = self.monitor, None
        if monitor is not None:
            monitor.request_stop()
        return monitor

    def close_monitor(self) -> None:
        """Close the level monitor's device and wait until it is closed (5 s at most)."""
        closing = self.release_monitor()
        if closing is not None:
            closing.stop(5.0)

    def level_db(self) -> float | None:
        """The microphone's level (dBFS) from the take running, else the monitor; None when unknown."""
        if self.worker is not None and self.worker.mic is not None:
            return getattr(self.worker.mic, "level_db", None)
        if self.monitor is not None:
            if self.monitor.error:
                self.say(f"Microphone: {self.monitor.error}", "error")
                self.monitor = None
                return None
            return self.monitor.level_db
        return None

    # ---- reference and exercise -----------------------------------------------------------
    def load_reference(self, path: str | Path, song_id: str | None = None, audio_path: str | None = None,
                       file_input: bool = True, ask=None) -> bool:
        """Overlay reference notes from an annotation file and score the take against them.

        MIR-ST500 JSON with several songs: ``song_id``, else the song of ``audio_path`` (the chosen
        audio file) when the file holds it, else ``ask(song ids, suggested id)``. The reference scores
        ``audio_path``'s takes when ``file_input`` (the file is the input), else microphone takes.
        A bad file leaves the current reference and take as they were.
        """
        try:
            ref = read_reference(path, song_id, audio_path, ask)
        except (NoteError, OSError) as exc:
            self.say(f"Reference not loaded: {exc}", "error")
            return False
        if ref is None:
            return False
        remember_folder(self.settings, "annotation", path)
        self.reference = replace(ref, audio=audio_path if file_input else None)
        self.take.set_reference(ref.notes, ref.name)
        self.takeChanged.emit()
        self.update_score()
        self.say(f"Reference {ref.name}: {len(ref.notes)} notes", "info")
        return True

    def update_score(self) -> None:
        """Score the take against its reference (:attr:`last_evaluation`; None without one)."""
        self.last_evaluation = self.take.evaluate()
        self.scored.emit(self.last_evaluation)

    def load_exercise(self, path: str | Path) -> bool:
        """Sing against a score (MIDI, MusicXML): each take is checked against it. The take shown
        (unless one is running) gets it now, and its verdict when it has notes. A bad score leaves
        the current exercise as it was."""
        from svt_live.sight.score import read_score
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                score = read_score(path)
            except NoteError as exc:
                self.say(f"Exercise not loaded: {exc}", "error")
                return False
        remember_folder(self.settings, "score", path)
        self.exercise = score
        notes = f"Exercise {Path(path).name}: {len(score.notes)} notes ({score.voice}), {score.bpm:g} per minute"
        self.say("; ".join([notes] + [str(w.message) for w in caught]), "warning" if caught else "info")
        if self.recording:  # the take running goes on as it started; the next one is checked
            return True
        self.take.set_exercise(score)
        if self.take.finished or self.take.notes:
            self.check_exercise()
        self.takeChanged.emit()
        return True

    def clear_exercise(self) -> None:
        """Sing without an exercise again: its lanes and verdicts go, from the shown take too."""
        self.exercise = None
        if self._next_take is not None:
            self._next_take.set_exercise(None)
        if not self.recording:
            self.take.set_exercise(None)
        self.takeChanged.emit()
        self.say("Exercise cleared", "info")

    def check_exercise(self) -> None:
        """Check the finished take against the exercise and report the summary."""
        if self.take.exercise is None:
            return
        audio = self.take.audio.path if self.take.audio is not None else (
            self.spec.path if self.spec is not None and self.spec.kind == "file" else None)
        from svt_live.sight.check import summary_line

        r = self.take.check_exercise(audio)
        self.takeChanged.emit()
        text = f"Exercise: {summary_line(r)}"
        s = r.summary()
        found = sum(s[k] for k in ("right", "held", "octave", "borderline"))
        if found < UNLIKE_EXERCISE * s["score_notes"]:
            self.say(f"This take does not look like the exercise: {found} of its {s['score_notes']} "
                     f"notes found (File > Clear exercise to sing without it). {text}", "warning")
        else:
            self.say(text, "info")

    # ---- saving ---------------------------------------------------------------------------
    def save_take(self, path: str | Path) -> bool:
        """Save the take's closed notes as MIDI, JSON or CSV, or a microphone take's audio as WAV (by extension)."""
        try:
            fmt = self.take.save(path)
        except (ValueError, OSError) as exc:
            self.say(f"Not saved: {exc}", "error")
            return False
        remember_folder(self.settings, "save", path)
        self.say(f"Saved {len(self.take.notes_array())} notes to {path} ({fmt})", "info")
        return True

    def keep_unsaved(self, folders) -> tuple[Path | None, list[str]]:
        """Save unsaved notes as ``<folder>/<take name>-<local time>.mid`` in the first of ``folders``
        that takes it: ``(the file or None, ["<path tried>: <why not>", ...])``; nothing unsaved
        gives ``(None, [])``."""
        path, failures = None, []
        if self.take.unsaved:
            name = f"{self.take.name}-{time.strftime('%Y%m%d-%H%M%S')}.mid"
            for folder in folders:
                tried = Path(folder).expanduser().absolute() / name
                try:
                    self.take.save(tried)
                except (ValueError, OSError) as exc:
                    failures.append(f"{tried}: {getattr(exc, 'strerror', None) or exc}")
                    continue
                path = tried
                break
        return path, failures if path is None else []
