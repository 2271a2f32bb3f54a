"""The main window: choose input, model and MIDI output; record; look; score; save.

Everything slow runs in :class:`gui.worker.EngineWorker` (its own thread);
the window only stores what arrives in a :class:`gui.take.Take` and repaints.
Problems never open a modal box: they appear in the message strip above the
roll (and in :attr:`MainWindow.messages`, for tests and scripts), and the
take recorded so far is kept. Questions go through a replaceable
:class:`gui.dialogs.Dialogs`.

Choices (input, device, file, pace, model, MIDI output, zoom, folders) are
kept in a QSettings store between launches; pass ``settings=`` to use
another store (tests use an ini file in a temporary folder).
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QScrollBar,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from svt_live.engine.checkpoint import DEFAULT_MODEL, bundled_descriptions
from svt_live.evaluate import MEASURES
from svt_live.events import NoteOff
from svt_live.io.audio import AudioError
from svt_live.io.outputs import os_error_line
from svt_live.notes import NoteError

from .dialogs import Dialogs
from .pianoroll import MAX_PX_PER_S, MIN_PX_PER_S, PianoRoll, save_png
from .portaids import PortAidsBar
from .reference import Reference, read_reference
from .settings import last_folder, remember_folder, stored_list, stored_value
from .take import Take
from .worker import EngineWorker, LevelMonitor, ModelCache, SourceSpec, probe_audio

MESSAGE_COLORS = {  # kind: (background, text, border)
    "error": ("#5c1f24", "#ffe3e3", "#a33a44"),
    "warning": ("#5a4717", "#fff3cf", "#a8872c"),
    "info": ("#1e3a52", "#e3f1ff", "#3d6f99"),
}
CHECKPOINT_ITEM = "Checkpoint file…"
LEVEL_FLOOR_DB = -60.0
UNLIKE_EXERCISE = 1 / 3  # a take with fewer of the exercise's notes found than this share gets a warning


def list_mics(rescan: bool = False) -> tuple[list[dict], str | None]:
    """Input devices (dicts with index, name, ...) and a reason when there are none.

    ``rescan``: make PortAudio look for devices again (it lists them once, when
    it starts); only while no stream is open.
    """
    try:
        from svt_live.io.mic import list_input_devices
    except ImportError as exc:
        return [], f"microphone support is not installed ({exc.name or exc})"
    if rescan:
        try:
            import sounddevice as sd
            sd._terminate()  # sounddevice's own re-initialisation hooks (no public API for this)
            sd._initialize()
        except Exception:  # noqa: BLE001 - a failed rescan leaves the old list
            pass
    try:
        devices = list_input_devices()
    except Exception as exc:  # noqa: BLE001 - MicError, PortAudio errors
        return [], f"cannot list microphones: {exc}"
    return devices, None if devices else "no audio input device found"


def list_midi_ports() -> list[str]:
    """Names of existing MIDI output ports ([] when MIDI is unavailable)."""
    try:
        from svt_live.io.midiport import output_port_names
        return list(output_port_names())
    except Exception:  # noqa: BLE001 - ImportError, MidiPortError, rtmidi's SystemError
        return []


class MainWindow(QMainWindow):
    """The svt-gui window. Signals: ``takeStarted()``, ``takeFinished()``, ``message(kind, text)``."""

    takeStarted = Signal()
    takeFinished = Signal()
    message = Signal(str, str)

    def __init__(self, settings: QSettings | None = None, dialogs: Dialogs | None = None,
                 models: ModelCache | None = None, level_monitor: bool = True):
        super().__init__()
        self.settings = settings if settings is not None else QSettings("svt-live", "svt-gui")
        self.dialogs = dialogs if dialogs is not None else Dialogs(self)
        self.models = models if models is not None else ModelCache("cpu")
        self.use_level_monitor = level_monitor
        self.messages: list[tuple[str, str]] = []  # (kind, text), oldest first
        self.take = Take()
        self.reference: Reference | None = None
        self.exercise = None  # svt_live.sight.score.Score every take is checked against
        self.last_score: dict | None = None
        self.worker: EngineWorker | None = None
        self.monitor: LevelMonitor | None = None
        self.audio_path: str | None = stored_value(self.settings, "input/file") or None
        self._spec: SourceSpec | None = None
        self._next_take: Take | None = None  # a take whose source is still opening
        self._checkpoints: list[str] = []
        self._restoring = True  # no settings writes while the widgets are being filled
        self._closing = False  # a signal is ending svt-gui (see interrupt)
        self.setWindowTitle("svt-live — singing to MIDI")
        self._build_ui()
        self._build_actions()
        self._restore()
        self._restoring = False
        self._input_changed()
        self.roll.set_take(self.take)
        self._stats_timer = QTimer(self, interval=100, timeout=self._poll_level)
        self._stats_timer.start()

    # ---- construction -------------------------------------------------------------
    def _build_ui(self) -> None:
        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(6, 6, 6, 2)
        outer.setSpacing(4)

        row1 = QHBoxLayout()
        self.input_combo = QComboBox(minimumContentsLength=22)
        self.input_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.refresh_button = QToolButton(text="↻", toolTip="Look for microphones again")
        self.refresh_button.clicked.connect(lambda: self.refresh_devices(rescan=True))
        self.open_button = QPushButton("Open file…", toolTip="Open an audio file and transcribe it (Ctrl+O)")
        self.file_label = QLabel("no file", minimumWidth=120)
        self.file_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.realtime_check = QCheckBox("Real-time pace",
                                        toolTip="Feed the file at the pace of a live singer (latency as live)")
        self.level_bar = QProgressBar(minimum=0, maximum=int(-LEVEL_FLOOR_DB), value=0, textVisible=True,
                                      maximumWidth=150, toolTip="Microphone level (dBFS)")
        self.level_bar.setFormat("level —")
        for w in (QLabel("Input:"), self.input_combo, self.refresh_button, self.open_button, self.file_label):
            row1.addWidget(w)
        row1.setStretchFactor(self.file_label, 1)
        row1.addWidget(self.realtime_check)
        row1.addWidget(self.level_bar)

        row2 = QHBoxLayout()
        self.model_combo = QComboBox(minimumContentsLength=14)
        self.midi_combo = QComboBox(minimumContentsLength=14)
        self.port_aids = PortAidsBar()
        self.record_button = QPushButton("● Record", toolTip="Record / stop (Space)", minimumWidth=100)
        self.reference_button = QPushButton("Reference…", toolTip="Load a reference annotation to compare with")
        self.score_label = QLabel("", textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        for w in (QLabel("Model:"), self.model_combo, QLabel("MIDI out:"), self.midi_combo, self.port_aids,
                  self.record_button, self.reference_button, self.score_label):
            row2.addWidget(w)
        row2.addStretch(1)
        for b in (self.refresh_button, self.open_button, self.record_button, self.reference_button,
                  self.realtime_check):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space stays record/stop

        self.message_frame = QFrame(visible=False, objectName="messageFrame")
        mrow = QHBoxLayout(self.message_frame)
        mrow.setContentsMargins(8, 3, 3, 3)
        self.message_label = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(text="✕", autoRaise=True, toolTip="Dismiss")
        close.clicked.connect(self.clear_message)
        mrow.addWidget(self.message_label, 1)
        mrow.addWidget(close)

        self.roll = PianoRoll()
        self.scrollbar = QScrollBar(Qt.Orientation.Horizontal)
        outer.addLayout(row1)
        outer.addLayout(row2)
        outer.addWidget(self.message_frame)
        outer.addWidget(self.roll, 1)
        outer.addWidget(self.scrollbar)
        self.setCentralWidget(central)

        sb = self.statusBar()
        self.progress = QProgressBar(minimum=0, maximum=1000, value=0, maximumWidth=160, visible=False)
        self.latency_label = QLabel("engine latency —", toolTip="Time from a note's start in the audio svt-gui "
                                    "received to its NoteOn on the MIDI port (emitted_at - time, audio time): last "
                                    "note and median over the take. The sound card's and PortAudio's buffering "
                                    "before the audio arrives come on top")
        self._port_latency: list[float] = []  # of the take's NoteOns on the MIDI port, seconds
        self.dropped_label = QLabel("dropped 0", toolTip="Microphone blocks lost (input overflows)")
        self.cpu_label = QLabel("CPU —", toolTip="Engine thread's CPU time per second of wall time "
                                "(100 % = one core busy); files: audio seconds per wall second")
        self.notes_label = QLabel("0 notes")
        for w in (self.progress, self.notes_label, self.latency_label, self.dropped_label, self.cpu_label):
            sb.addPermanentWidget(w)

        self.input_combo.currentIndexChanged.connect(self._input_changed)
        self.open_button.clicked.connect(self.ask_open_audio)
        self.record_button.clicked.connect(self.toggle_recording)
        self.reference_button.clicked.connect(self.ask_load_reference)
        self.model_combo.activated.connect(self._model_activated)
        self.midi_combo.currentIndexChanged.connect(lambda _: self._save_choice())
        self.port_aids.changed.connect(self._save_choice)
        self.realtime_check.toggled.connect(lambda _: self._save_choice())
        self.scrollbar.valueChanged.connect(self._scrolled)
        self.roll.viewChanged.connect(self._sync_scrollbar)

    def _build_actions(self) -> None:
        def action(text, slot, keys, menu):
            a = QAction(text, self, triggered=slot)
            a.setShortcuts([QKeySequence(k) for k in keys])
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            menu.addAction(a)
            self.addAction(a)
            return a

        file_menu = self.menuBar().addMenu("&File")
        self.open_action = action("&Open audio file…", self.ask_open_audio, ["Ctrl+O"], file_menu)
        self.reference_action = action("Load &reference…", self.ask_load_reference, ["Ctrl+R"], file_menu)
        self.exercise_action = action("Open e&xercise (score to sing)…", self.ask_load_exercise, ["Ctrl+Shift+O"],
                                      file_menu)
        self.clear_exercise_action = action("C&lear exercise", self.clear_exercise, [], file_menu)
        self.clear_exercise_action.setEnabled(False)
        file_menu.addSeparator()
        self.save_action = action("&Save take…", self.ask_save_take, ["Ctrl+S"], file_menu)
        self.png_action = action("&Export roll as PNG…", self.ask_export_png, ["Ctrl+E"], file_menu)
        file_menu.addSeparator()
        action("&Quit", self.close, ["Ctrl+Q"], file_menu)
        take_menu = self.menuBar().addMenu("&Take")
        self.record_action = action("&Record / stop", self.toggle_recording, ["Space"], take_menu)
        view = self.menuBar().addMenu("&View")
        action("Zoom &in", lambda: self.zoom(1.25), ["+", "=", "Ctrl++"], view)
        action("Zoom &out", lambda: self.zoom(0.8), ["-", "Ctrl+-"], view)
        action("&Fit the take", self.roll.fit, ["0"], view)

    # ---- settings ------------------------------------------------------------------
    def _restore(self) -> None:
        self.refresh_devices()
        models = bundled_descriptions()
        self._checkpoints = [p for p in stored_list(self.settings, "model/checkpoints") if Path(p).exists()]
        for name, text in models.items():
            self.model_combo.addItem(name, name)
            self.model_combo.setItemData(self.model_combo.count() - 1, text, Qt.ToolTipRole)
        for p in self._checkpoints:
            self.model_combo.addItem(Path(p).name, p)
        self.model_combo.addItem(CHECKPOINT_ITEM, None)
        want = (stored_value(self.settings, "model")
                or (DEFAULT_MODEL if DEFAULT_MODEL in models else (list(models) or [None])[0]))
        i = self.model_combo.findData(want)
        self.model_combo.setCurrentIndex(max(0, i))
        self._model_index = self.model_combo.currentIndex()

        self.midi_combo.addItem("None", "none")
        self.midi_combo.addItem("Virtual port “svt-live”", "virtual")
        for name in list_midi_ports():
            self.midi_combo.addItem(name, f"port:{name}")
        want = stored_value(self.settings, "midi/out", "virtual")
        i = self.midi_combo.findData(want)
        if i < 0 and str(want).startswith("port:"):  # remembered port is gone: show it, it may come back
            self.midi_combo.addItem(f"{want[5:]} (not found)", want)
            i = self.midi_combo.count() - 1
        self.midi_combo.setCurrentIndex(max(0, i))
        self.port_aids.restore(self.settings)

        self.realtime_check.setChecked(stored_value(self.settings, "input/realtime", False, bool))
        self.roll.px_per_s = stored_value(self.settings, "view/px_per_s", 100.0, float,
                                          lambda v: MIN_PX_PER_S <= v <= MAX_PX_PER_S)
        geometry = stored_value(self.settings, "window/geometry", None, QByteArray)
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1100, 680)
        self._show_file()

    def _save_choice(self) -> None:
        if self._restoring:
            return
        s = self.settings
        kind, device = self.input_choice
        s.setValue("input/kind", kind)
        if kind == "mic":
            s.setValue("input/device", device)  # by name: PortAudio's indices move
        if self.audio_path:
            s.setValue("input/file", self.audio_path)
        s.setValue("input/realtime", self.realtime_check.isChecked())
        if self.model_combo.currentData():
            s.setValue("model", self.model_combo.currentData())
        s.setValue("model/checkpoints", json.dumps(self._checkpoints))
        s.setValue("midi/out", self.midi_combo.currentData())
        self.port_aids.save(s)

    # ---- input -------------------------------------------------------------------
    def refresh_devices(self, rescan: bool = False) -> None:
        """(Re)list microphones in the input menu, keeping the current or remembered choice.

        ``rescan`` (the ↻ button): close the level meter's stream and have PortAudio
        look for devices again (not while recording).
        """
        if rescan:
            if self.recording:
                return
            closing = self._release_monitor()
            if closing is not None:
                closing.stop(5.0)
        current = self.input_combo.currentData() if self.input_combo.count() else None
        if current is None:
            kind = stored_value(self.settings, "input/kind")
            current = f"mic:{stored_value(self.settings, 'input/device', '')}" if kind == "mic" else kind
        self.input_combo.blockSignals(True)
        self.input_combo.clear()
        self.input_combo.addItem("Audio file", "file")
        devices, why = list_mics(rescan)
        devices = sorted(devices, key=lambda d: not d.get("default"))  # the system's default input first
        for d in devices:
            label = f"Mic: {d['name']}" + (" (system default)" if d.get("default") else "")
            self.input_combo.addItem(label, f"mic:{d['name']}")
        if why:
            self.input_combo.addItem(f"Microphone ({why})", None)
            model = self.input_combo.model()
            model.item(self.input_combo.count() - 1).setEnabled(False)
        i = self.input_combo.findData(current) if current else -1
        if i < 0 and current is None and devices:
            i = 1  # first launch with a microphone: the system default (listed first), else the first
        self.input_combo.setCurrentIndex(max(0, i))
        self.input_combo.blockSignals(False)
        self._input_changed()

    def _input_changed(self, *_):
        kind, _device = self.input_choice
        is_file = kind == "file"
        self.realtime_check.setEnabled(is_file)
        self.file_label.setEnabled(is_file)
        self.level_bar.setEnabled(not is_file)
        self._save_choice()
        self._restart_monitor()

    def _show_file(self) -> None:
        p = self.audio_path
        self.file_label.setText(Path(p).name if p else "no file")
        self.file_label.setToolTip(p or "")

    @property
    def source_kind(self) -> str:
        return self.input_choice[0]

    @property
    def input_choice(self) -> tuple[str, str | None]:
        """('file', None) or ('mic', device name), from the input menu's item data 'file' / 'mic:<name>'."""
        data = self.input_combo.currentData() or "file"
        return ("mic", data[4:]) if data.startswith("mic:") else ("file", None)

    def select_file_input(self) -> None:
        """Switch the input menu to 'Audio file'."""
        self.input_combo.setCurrentIndex(0)

    def select_mic(self, name: str | None = None) -> bool:
        """Switch the input to the microphone called ``name`` (first one if None); False if absent."""
        for i in range(self.input_combo.count()):
            data = self.input_combo.itemData(i) or ""
            if data.startswith("mic:") and (name is None or name in data[4:]):
                self.input_combo.setCurrentIndex(i)
                return True
        return False

    # ---- level meter ---------------------------------------------------------------
    def _restart_monitor(self) -> None:
        if self._restoring:
            return
        closing = self._release_monitor()
        kind, device = self.input_choice
        if kind == "mic" and self.use_level_monitor and self.worker is None:
            self.monitor = LevelMonitor(device, after=closing)
            self.monitor.start()

    def _release_monitor(self) -> LevelMonitor | None:
        """Ask the level monitor to close its device without waiting; returns it (or None)."""
        monitor, self.monitor = self.monitor, None
        if monitor is not None:
            monitor.request_stop()
        return monitor

    def _poll_level(self) -> None:
        level = None
        if self.worker is not None and self.worker.mic is not None:
            level = getattr(self.worker.mic, "level_db", None)
        elif self.monitor is not None:
            if self.monitor.error:
                self.show_message(f"Microphone: {self.monitor.error}", "error")
                self.monitor = None
            else:
                level = self.monitor.level_db
        if level is None or not np.isfinite(level):
            self.level_bar.setValue(0)
            self.level_bar.setFormat("level —")
        else:
            self.level_bar.setValue(int(np.clip(level - LEVEL_FLOOR_DB, 0, -LEVEL_FLOOR_DB)))
            self.level_bar.setFormat(f"{level:.0f} dB")

    # ---- model ---------------------------------------------------------------------
    def _model_activated(self, index: int) -> None:
        if self.model_combo.itemText(index) != CHECKPOINT_ITEM:
            self._model_index = index
            self._save_choice()
            return
        path = self.dialogs.open_checkpoint(last_folder(self.settings, "checkpoint"))
        if path:
            self.set_model(path)
        else:
            self.model_combo.setCurrentIndex(self._model_index)

    def set_model(self, name_or_path: str) -> None:
        """Use a bundled model name or a checkpoint file for the next take."""
        i = self.model_combo.findData(name_or_path)
        if i < 0:
            p = Path(name_or_path)
            if not p.exists():
                self.show_message(f"{p}: no such checkpoint file", "error")
                self.model_combo.setCurrentIndex(self._model_index)
                return
            self._checkpoints = [str(p)] + [c for c in self._checkpoints if c != str(p)][:7]
            remember_folder(self.settings, "checkpoint", p)
            i = self.model_combo.count() - 1
            self.model_combo.insertItem(i, p.name, str(p))
        self.model_combo.setCurrentIndex(i)
        self._model_index = i
        self._save_choice()

    @property
    def model_name(self) -> str | None:
        return self.model_combo.currentData()

    # ---- recording ---------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.worker is not None

    def toggle_recording(self) -> None:
        """Space / the Record button: start a take, or stop the one running."""
        if self.recording:
            self.stop()
        else:
            self.start()

    def start(self) -> bool:
        """Start a take from the chosen input; False (with a message) when it cannot start."""
        if self.recording:
            return False
        kind, device = self.input_choice
        if kind == "file":
            if not self.audio_path:
                return self.ask_open_audio()
            try:
                probe_audio(self.audio_path)
            except AudioError as exc:
                self.show_message(str(exc), "error")
                return False
            spec = SourceSpec("file", path=self.audio_path, realtime=self.realtime_check.isChecked())
            name = Path(self.audio_path).stem
        else:
            spec = SourceSpec("mic", device=device)
            name = "take"
        closing = self._release_monitor()
        self.clear_message()
        self._spec = spec
        midi = self.midi_combo.currentData() or "none"
        midi_spec = None if midi == "none" else (("virtual",) if midi == "virtual" else ("port", midi[5:]))
        # the new take replaces the shown one only once its source is open (see _on_source):
        # a bad model or device leaves the previous take on screen
        self._next_take = Take(name=name)
        if self.reference is not None and self.reference.belongs_to(kind, self.audio_path):
            self._next_take.set_reference(self.reference.notes, self.reference.name)
        self._next_take.set_exercise(self.exercise)
        self.worker = EngineWorker(spec, self.model_name, self.models, midi_spec, after=closing, parent=self,
                                   aids=self.port_aids.aids())
        self.worker.update.connect(self._on_update)
        self.worker.failed.connect(lambda text: self.show_message(text, "error"))
        self.worker.warning.connect(lambda text: self.show_message(text, "warning"))
        self.worker.started_source.connect(self._on_source)
        self.worker.finished.connect(self._on_finished)
        self._set_busy(True)
        self.worker.start()
        self.takeStarted.emit()
        self.statusBar().showMessage("Transcribing…" if not spec.live else "Recording…")
        return True

    def stop(self) -> None:
        """End the take: the engine finishes and closes the sounding note (asynchronously)."""
        if self.worker is not None:
            self.worker.request_stop()
            self.statusBar().showMessage("Stopping…")

    def interrupt(self, folders: tuple = (".", "~")) -> tuple[Path | None, list[str]]:
        """Ctrl-C or SIGTERM in the terminal: end the take (its sounding note is closed), keep its
        unsaved notes as ``<folder>/<take name>-<local time>.mid`` in the first of ``folders`` that
        takes it (default: the current folder, then the home folder) and close the window, saved or not.

        Returns ``(the MIDI file written or None, ["<path tried>: <why not>", ...])``; nothing
        unsaved gives ``(None, [])``.
        """
        self.stop()
        self.wait_idle()
        QApplication.processEvents()  # the worker's last update and its finished signal
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
        self._closing = True  # the signal ends svt-gui: no question about the unsaved take
        self.close()
        return path, failures if path is None else []

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Block until the running take's thread ended (for scripts; the GUI never calls it)."""
        return self.worker is None or self.worker.wait(timeout_ms)

    def _set_busy(self, busy: bool) -> None:
        self.record_button.setText("■ Stop" if busy else "● Record")
        for w in (self.input_combo, self.refresh_button, self.open_button, self.model_combo, self.midi_combo,
                  self.port_aids, self.realtime_check, self.open_action):
            w.setEnabled(not busy)
        if not busy:
            self._input_changed()

    def _on_source(self, info: dict) -> None:
        """The worker opened its model and source: show the new take."""
        self.take, self._next_take = self._next_take, None
        self.take.frame_seconds = info["frame_seconds"]
        self.last_score = None
        self.score_label.setText("")
        live = self._spec is not None and self._spec.live
        self.latency_label.setText("engine latency —" if live else "latency (live only)")
        self._port_latency = []
        self.dropped_label.setText("dropped 0")
        self.notes_label.setText("0 notes")
        self.progress.setVisible(self._spec is not None and self._spec.kind == "file")
        self.progress.setValue(0)
        self.roll.recording = True
        self.roll.set_take(self.take)
        self.setWindowTitle(f"svt-live — {self.take.name} — model {info['model']}")

    def _on_update(self, up) -> None:
        take = self.take
        for first, pitch in up.contour:
            take.add_contour(first, pitch)
        for ev in up.events:
            take.apply(ev)
        take.advance(up.stream_time)
        live = self._spec is not None and self._spec.live  # a file at full speed is checked once, at the end
        if live and take.exercise is not None and any(isinstance(ev, NoteOff) for ev in up.events):
            take.check_exercise()
        self.roll.refresh()
        if up.progress is not None:
            self.progress.setValue(int(1000 * up.progress))
        self._port_latency += up.port_latency
        lat = self._port_latency
        if lat and self._spec is not None and self._spec.live:  # full-speed files: not meaningful
            self.latency_label.setText(f"engine latency {1000 * lat[-1]:.0f} ms "
                                       f"(median {1000 * np.median(lat):.0f})")
        self.dropped_label.setText(f"dropped {up.overflows}")
        cpu = f"CPU {100 * up.cpu:.0f} %"
        if self._spec is not None and not self._spec.live:
            cpu += f" · {up.speed:.0f}× real time"
        self.cpu_label.setText(cpu)
        self.notes_label.setText(f"{len(take.notes)} notes")

    def _on_finished(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.wait(2000)
            worker.deleteLater()
        started, self._next_take = self._next_take is None, None
        if started and worker is not None:
            self.take.audio = worker.audio
        self._set_busy(False)
        if started:
            self.take.finish()
            self.roll.recording = False
            if self._spec is not None and self._spec.kind == "file":  # the whole take in view
                self.roll.fit()
            else:
                self.roll.follow = False
                self.roll.show_last_notes()
                self.roll.refresh()
            self.progress.setValue(1000)
            n = len(self.take.notes_array())
            self.notes_label.setText(f"{n} notes")
            self._update_score()
            self.statusBar().showMessage(f"Take done: {n} notes, {self.take.duration:.1f} s", 8000)
            self._check_exercise()
        self.takeFinished.emit()

    # ---- files ---------------------------------------------------------------------------
    def ask_open_audio(self) -> bool:
        path = self.dialogs.open_audio(last_folder(self.settings, "audio"))
        return self.open_audio_file(path) if path else False

    def open_audio_file(self, path: str | Path, start: bool = True) -> bool:
        """Choose ``path`` as input and (by default) transcribe it; False with a message if unreadable.

        The current take is kept when the file cannot be used.
        """
        if self.recording:
            self.show_message("Stop the current take before opening a file", "warning")
            return False
        try:
            probe_audio(path)
        except AudioError as exc:
            self.show_message(str(exc), "error")
            return False
        path = str(Path(path).resolve())
        self.audio_path = path
        remember_folder(self.settings, "audio", path)
        self.select_file_input()
        self._show_file()
        self._save_choice()
        return self.start() if start else True

    def ask_load_reference(self) -> bool:
        path = self.dialogs.open_annotation(last_folder(self.settings, "annotation"))
        return self.load_reference(path) if path else False

    def load_reference(self, path: str | Path, song_id: str | None = None) -> bool:
        """Overlay reference notes from an annotation file and score the take against them.

        MIR-ST500 JSON with several songs: ``song_id``, else the audio's folder
        name or file stem when the file holds it, else the user is asked.
        A bad file leaves the current reference and take as they were.
        """
        try:
            ref = read_reference(path, song_id, self.audio_path, self.dialogs.song_id)
        except (NoteError, OSError) as exc:
            self.show_message(f"Reference not loaded: {exc}", "error")
            return False
        if ref is None:
            return False
        remember_folder(self.settings, "annotation", path)
        self.reference = replace(ref, audio=self.audio_path if self.source_kind == "file" else None)
        self.take.set_reference(ref.notes, ref.name)
        self.roll.refresh()
        self._update_score()
        self.show_message(f"Reference {ref.name}: {len(ref.notes)} notes", "info")
        return True

    def ask_load_exercise(self) -> bool:
        path = self.dialogs.open_score(last_folder(self.settings, "score"))
        return self.load_exercise(path) if path else False

    def load_exercise(self, path: str | Path) -> bool:
        """Sing against a score (MIDI, MusicXML): its notes become target lanes on the roll, green or
        red as they are sung, and each finished take ends with the check's summary. A bad score
        leaves the current exercise as it was."""
        import warnings

        from svt_live.sight.score import read_score
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                score = read_score(path)
            except NoteError as exc:
                self.show_message(f"Exercise not loaded: {exc}", "error")
                return False
        remember_folder(self.settings, "score", path)
        self.exercise = score
        self.clear_exercise_action.setEnabled(True)
        notes = f"Exercise {Path(path).name}: {len(score.notes)} notes ({score.voice}), {score.bpm:g} per minute"
        self.show_message("; ".join([notes] + [str(w.message) for w in caught]), "warning" if caught else "info")
        if self.recording:  # the take running goes on as it started; the next one is checked
            return True
        self.take.set_exercise(score)
        if self.take.finished or self.take.notes:
            self._check_exercise()
        elif self.input_choice[0] == "file" and self.audio_path:  # a file chosen, not yet transcribed: its verdict
            self.start()
        self.roll.refresh()
        return True

    def clear_exercise(self) -> None:
        """Sing without an exercise again: its lanes and verdicts go, from the shown take too."""
        self.exercise = None
        self.clear_exercise_action.setEnabled(False)
        if self._next_take is not None:
            self._next_take.set_exercise(None)
        if not self.recording:
            self.take.set_exercise(None)
        self.roll.refresh()
        self.show_message("Exercise cleared", "info")

    def _check_exercise(self) -> None:
        """Check the finished take against the exercise and show the summary."""
        if self.take.exercise is None:
            return
        audio = self.take.audio.path if self.take.audio is not None else (
            self.audio_path if self._spec is not None and self._spec.kind == "file" else None)
        from svt_live.sight.check import summary_line

        r = self.take.check_exercise(audio)
        self.roll.refresh()
        text = f"Exercise: {summary_line(r)}"
        s = r.summary()
        found = sum(s[k] for k in ("right", "held", "octave", "borderline"))
        if found < UNLIKE_EXERCISE * s["score_notes"]:
            self.show_message(f"This take does not look like the exercise: {found} of its {s['score_notes']} "
                              f"notes found (File > Clear exercise to sing without it). {text}", "warning")
        else:
            self.show_message(text, "info")

    def _update_score(self) -> None:
        self.last_score = self.take.score()
        if self.last_score is None:
            self.score_label.setText("")
            return
        parts = [f"{m} F1 {100 * self.last_score[m][2]:.1f} %" for m in MEASURES]
        self.score_label.setText("  ·  ".join(parts))
        self.score_label.setToolTip(f"vs {self.take.reference_name}\n" + "\n".join(
            f"{m}: P {100 * p:.1f} %  R {100 * r:.1f} %  F1 {100 * f:.1f} %"
            for m, (p, r, f) in self.last_score.items()))

    def ask_save_take(self) -> bool:
        start = str(Path(last_folder(self.settings, "save")) / f"{self.take.name}.mid")
        path = self.dialogs.save_take(start)
        return self.save_take(path) if path else False

    def save_take(self, path: str | Path) -> bool:
        """Save the take's closed notes as MIDI, JSON or CSV (by extension)."""
        try:
            fmt = self.take.save(path)
        except (ValueError, OSError) as exc:
            self.show_message(f"Not saved: {exc}", "error")
            return False
        remember_folder(self.settings, "save", path)
        self.show_message(f"Saved {len(self.take.notes_array())} notes to {path} ({fmt})", "info")
        return True

    def ask_export_png(self) -> bool:
        start = str(Path(last_folder(self.settings, "save")) / f"{self.take.name}.png")
        path = self.dialogs.save_png(start)
        return self.export_png(path) if path else False

    def export_png(self, path: str | Path) -> bool:
        """Save the piano roll as it is shown as a PNG image."""
        try:
            save_png(self.roll.grab(), path)
        except OSError as exc:
            self.show_message(f"Not exported: {os_error_line(exc)}", "error")
            return False
        self.show_message(f"Piano roll saved to {path}", "info")
        return True

    # ---- messages --------------------------------------------------------------------------
    def show_message(self, text: str, kind: str = "error") -> None:
        """Show ``text`` in the message strip (kind: error, warning or info) and the status bar."""
        self.messages.append((kind, text))
        self.message_label.setText(text)
        bg, fg, border = MESSAGE_COLORS.get(kind, MESSAGE_COLORS["info"])
        self.message_frame.setStyleSheet(f"#messageFrame {{background:{bg}; border:1px solid {border};}} "
                                         f"#messageFrame QLabel, #messageFrame QToolButton {{color:{fg};}}")
        self.message_frame.setVisible(True)
        self.statusBar().showMessage(text, 10000)
        self.message.emit(kind, text)

    def clear_message(self) -> None:
        self.message_frame.setVisible(False)
        self.message_label.setText("")

    def zoom(self, factor: float) -> None:
        """+/-: multiply the roll's pixels per second by ``factor`` (remembered for the next launch)."""
        self.roll.zoom(factor)
        self.settings.setValue("view/px_per_s", self.roll.px_per_s)

    # ---- scrolling -----------------------------------------------------------------------------
    def _sync_scrollbar(self) -> None:
        view = self.roll.view_seconds
        total = max(self.roll.duration, view)
        self.scrollbar.blockSignals(True)
        self.scrollbar.setRange(0, int(1000 * max(0.0, total - 0.5 * view)))
        self.scrollbar.setPageStep(int(1000 * view))
        self.scrollbar.setSingleStep(max(1, int(100 * view)))
        self.scrollbar.setValue(int(1000 * self.roll.t0))
        self.scrollbar.blockSignals(False)

    def _scrolled(self, value: int) -> None:
        self.roll.set_t0(value / 1000.0)

    # ---- shutdown ------------------------------------------------------------------------------
    def _may_close(self) -> bool:
        """End a running take, then offer to save its unsaved notes; False when the user cancels."""
        if self.recording:
            self.stop()
            self.wait_idle()
            QApplication.processEvents()  # the worker's last update and its finished signal
        if not self.take.unsaved or self._closing:
            return True
        answer = self.dialogs.keep_take(len(self.take.notes_array()))
        return answer == "discard" or answer == "save" and self.ask_save_take()

    def closeEvent(self, ev) -> None:
        if not self._may_close():
            ev.ignore()
            return
        self._save_choice()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.sync()
        closing = self._release_monitor()
        if closing is not None:
            closing.stop(5.0)
        if self.worker is not None:
            self.worker.request_stop()
            self.worker.wait(3000)
        super().closeEvent(ev)
