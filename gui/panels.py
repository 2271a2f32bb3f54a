"""The window's panels: input (file or microphone, level meter), model and MIDI output, status, and the roll.

Each panel builds its widgets, shows what it is given and reads and writes its
own stored choices (keys as :mod:`gui.settings` describes: ``input/...``,
``model...``, ``midi/...``); none of them starts a take or opens a device
(:class:`gui.controller.TakeController` does). :class:`gui.window.MainWindow`
lays them out and wires them to the controller.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollBar,
    QSizePolicy,
    QStatusBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from svt_live.engine.checkpoint import DEFAULT_MODEL, bundled_descriptions
from svt_live.evaluate import MEASURES
from svt_live.io.midiport import MidiChoice

from .pianoroll import MAX_PX_PER_S, MIN_PX_PER_S, PianoRoll
from .portaids import PortAidsBar
from .settings import remember_folder, stored_list, stored_value
from .worker import SourceSpec

MESSAGE_COLORS = {  # kind: (background, text, border)
    "error": ("#5c1f24", "#ffe3e3", "#a33a44"),
    "warning": ("#5a4717", "#fff3cf", "#a8872c"),
    "info": ("#1e3a52", "#e3f1ff", "#3d6f99"),
}
CHECKPOINT_ITEM = "Checkpoint file…"
LEVEL_FLOOR_DB = -60.0


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


def _row(parent: QWidget) -> QHBoxLayout:
    """A panel's row of widgets, spaced as the window's own rows (4 px)."""
    row = QHBoxLayout(parent)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(4)
    return row


class InputPanel(QWidget):
    """The input row: the input menu (``'file'`` or ``'mic:<name>'`` items), ↻, Open file…, the chosen
    file (:attr:`audio_path`), real-time pace and the level meter. ``changed`` when the input menu
    changes."""

    changed = Signal()

    def __init__(self, settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.audio_path: str | None = stored_value(settings, "input/file") or None
        self.input_combo = QComboBox(minimumContentsLength=22)
        self.input_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.refresh_button = QToolButton(text="↻", toolTip="Look for microphones again")
        self.open_button = QPushButton("Open file…", toolTip="Open an audio file and transcribe it (Ctrl+O)")
        self.file_label = QLabel("no file", minimumWidth=120)
        self.file_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.realtime_check = QCheckBox("Real-time pace",
                                        toolTip="Feed the file at the pace of a live singer (latency as live)")
        self.level_bar = QProgressBar(minimum=0, maximum=int(-LEVEL_FLOOR_DB), value=0, textVisible=True,
                                      maximumWidth=150, toolTip="Microphone level (dBFS)")
        self.level_bar.setFormat("level —")
        row = _row(self)
        for w in (QLabel("Input:"), self.input_combo, self.refresh_button, self.open_button, self.file_label):
            row.addWidget(w)
        row.setStretchFactor(self.file_label, 1)
        row.addWidget(self.realtime_check)
        row.addWidget(self.level_bar)
        for b in (self.refresh_button, self.open_button, self.realtime_check):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space stays record/stop
        self.input_combo.currentIndexChanged.connect(lambda _: self.changed.emit())

    @property
    def input_choice(self) -> tuple[str, str | None]:
        """('file', None) or ('mic', device name), from the input menu's item data 'file' / 'mic:<name>'."""
        data = self.input_combo.currentData() or "file"
        return ("mic", data[4:]) if data.startswith("mic:") else ("file", None)

    def source_spec(self) -> SourceSpec | None:
        """What a take records from: the chosen file (None when there is none yet) or microphone."""
        kind, device = self.input_choice
        if kind == "mic":
            return SourceSpec("mic", device=device)
        if not self.audio_path:
            return None
        return SourceSpec("file", path=self.audio_path, realtime=self.realtime_check.isChecked())

    def list_devices(self, rescan: bool = False) -> None:
        """(Re)list microphones in the input menu, keeping the current or remembered choice
        (``changed`` is not emitted)."""
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

    def set_busy(self, busy: bool) -> None:
        for w in (self.input_combo, self.refresh_button, self.open_button, self.realtime_check):
            w.setEnabled(not busy)

    def enable_for_choice(self) -> None:
        """Pace and file for a file, the level meter for a microphone."""
        is_file = self.input_choice[0] == "file"
        self.realtime_check.setEnabled(is_file)
        self.file_label.setEnabled(is_file)
        self.level_bar.setEnabled(not is_file)

    def show_file(self) -> None:
        p = self.audio_path
        self.file_label.setText(Path(p).name if p else "no file")
        self.file_label.setToolTip(p or "")

    def follow_level(self, level_db: Callable[[], float | None]) -> None:
        """Show ``level_db()`` ten times a second."""
        self._level_timer = QTimer(self, interval=100, timeout=lambda: self.show_level(level_db()))
        self._level_timer.start()

    def show_level(self, level_db: float | None) -> None:
        """The meter at ``level_db`` (dBFS; None or NaN: no level)."""
        if level_db is None or not np.isfinite(level_db):
            self.level_bar.setValue(0)
            self.level_bar.setFormat("level —")
        else:
            self.level_bar.setValue(int(np.clip(level_db - LEVEL_FLOOR_DB, 0, -LEVEL_FLOOR_DB)))
            self.level_bar.setFormat(f"{level_db:.0f} dB")

    def restore(self) -> None:
        self.list_devices()
        self.realtime_check.setChecked(stored_value(self.settings, "input/realtime", False, bool))
        self.show_file()

    def save(self) -> None:
        s = self.settings
        kind, device = self.input_choice
        s.setValue("input/kind", kind)
        if kind == "mic":
            s.setValue("input/device", device)  # by name: PortAudio's indices move
        if self.audio_path:
            s.setValue("input/file", self.audio_path)
        s.setValue("input/realtime", self.realtime_check.isChecked())


class ModelMidiPanel(QWidget):
    """The model menu (bundled models, remembered checkpoints, "Checkpoint file…", which asks
    ``pick_checkpoint()`` for a path), the MIDI output menu and the port's playing aids.
    ``changed`` on any edit; ``message(kind, text)`` for a checkpoint that does not exist."""

    changed = Signal()
    message = Signal(str, str)

    def __init__(self, settings, pick_checkpoint: Callable[[], str | None], parent=None):
        super().__init__(parent)
        self.settings = settings
        self.pick_checkpoint = pick_checkpoint
        self.model_combo = QComboBox(minimumContentsLength=14)
        self.midi_combo = QComboBox(minimumContentsLength=14)
        self.port_aids = PortAidsBar()
        self._checkpoints: list[str] = []
        self._model_index = 0
        row = _row(self)
        for w in (QLabel("Model:"), self.model_combo, QLabel("MIDI out:"), self.midi_combo, self.port_aids):
            row.addWidget(w)
        self.model_combo.activated.connect(self._model_activated)
        self.midi_combo.currentIndexChanged.connect(lambda _: self.changed.emit())
        self.port_aids.changed.connect(self.changed)

    @property
    def model_name(self) -> str | None:
        return self.model_combo.currentData()

    def midi_choice(self) -> MidiChoice:
        """The MIDI output chosen (:class:`gui.worker.EngineWorker` takes it)."""
        return MidiChoice.parse(self.midi_combo.currentData(), strict=False)

    def set_busy(self, busy: bool) -> None:
        for w in (self.model_combo, self.midi_combo, self.port_aids):
            w.setEnabled(not busy)

    def _model_activated(self, index: int) -> None:
        if self.model_combo.itemText(index) != CHECKPOINT_ITEM:
            self._model_index = index
            self.changed.emit()
            return
        path = self.pick_checkpoint()
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
                self.message.emit("error", f"{p}: no such checkpoint file")
                self.model_combo.setCurrentIndex(self._model_index)
                return
            self._checkpoints = [str(p)] + [c for c in self._checkpoints if c != str(p)][:7]
            remember_folder(self.settings, "checkpoint", p)
            i = self.model_combo.count() - 1
            self.model_combo.insertItem(i, p.name, str(p))
        self.model_combo.setCurrentIndex(i)
        self._model_index = i
        self.changed.emit()

    def restore(self) -> None:
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
            self.midi_combo.addItem(name, MidiChoice("port", name).spelling)
        want = stored_value(self.settings, "midi/out", "virtual")
        i = self.midi_combo.findData(want)
        if i < 0 and (gone := MidiChoice.parse(want, strict=False)).kind == "port":  # remembered port is gone:
            self.midi_combo.addItem(f"{gone.name} (not found)", want)  # show it, it may come back
            i = self.midi_combo.count() - 1
        self.midi_combo.setCurrentIndex(max(0, i))
        self.port_aids.restore(self.settings)

    def save(self) -> None:
        s = self.settings
        if self.model_combo.currentData():
            s.setValue("model", self.model_combo.currentData())
        s.setValue("model/checkpoints", json.dumps(self._checkpoints))
        s.setValue("midi/out", self.midi_combo.currentData())
        self.port_aids.save(s)


class StatusPanel(QObject):
    """What the take says: the message strip (above the roll), the score against the reference
    (``score_label``, in the record row) and, in ``status_bar``, progress, notes, engine latency,
    dropped blocks and CPU."""

    def __init__(self, status_bar: QStatusBar, parent=None):
        super().__init__(parent)
        self.status_bar = status_bar
        self.message_frame = QFrame(visible=False, objectName="messageFrame")
        mrow = QHBoxLayout(self.message_frame)
        mrow.setContentsMargins(8, 3, 3, 3)
        self.message_label = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(text="✕", autoRaise=True, toolTip="Dismiss")
        close.clicked.connect(self.clear_message)
        mrow.addWidget(self.message_label, 1)
        mrow.addWidget(close)
        self.score_label = QLabel("", textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)

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
            status_bar.addPermanentWidget(w)

    def follow(self, controller) -> None:
        """Show what ``controller`` (a :class:`gui.controller.TakeController`) reports."""
        c = controller
        c.message.connect(self.show_message)
        c.sourceOpened.connect(lambda _info: self.new_take(c.spec))
        c.updated.connect(lambda up: self.show_update(up, c.spec, len(c.take.notes)))
        c.ended.connect(lambda: self.take_done(len(c.take.notes_array()), c.take.duration))
        c.scored.connect(lambda score: self.show_evaluation(score, c.take.reference_name))

    def show_message(self, kind: str, text: str) -> None:
        """``text`` in the message strip (kind: error, warning or info) and the status bar."""
        self.message_label.setText(text)
        bg, fg, border = MESSAGE_COLORS.get(kind, MESSAGE_COLORS["info"])
        self.message_frame.setStyleSheet(f"#messageFrame {{background:{bg}; border:1px solid {border};}} "
                                         f"#messageFrame QLabel, #messageFrame QToolButton {{color:{fg};}}")
        self.message_frame.setVisible(True)
        self.status_bar.showMessage(text, 10000)

    def clear_message(self) -> None:
        self.message_frame.setVisible(False)
        self.message_label.setText("")

    def show_evaluation(self, score: dict | None, reference_name: str | None = None) -> None:
        """F1 per measure of :func:`svt_live.evaluate.evaluate_notes` (precision and recall in the tooltip);
        None: blank."""
        if score is None:
            self.score_label.setText("")
            return
        self.score_label.setText("  ·  ".join(f"{m} F1 {100 * score[m][2]:.1f} %" for m in MEASURES))
        self.score_label.setToolTip(f"vs {reference_name}\n" + "\n".join(
            f"{m}: P {100 * p:.1f} %  R {100 * r:.1f} %  F1 {100 * f:.1f} %" for m, (p, r, f) in score.items()))

    def new_take(self, spec) -> None:
        """A take of :class:`gui.worker.SourceSpec` ``spec`` opened its source: counters back to zero."""
        self.show_evaluation(None)
        self.latency_label.setText("engine latency —" if spec.live else "latency (live only)")
        self._port_latency = []
        self.dropped_label.setText("dropped 0")
        self.notes_label.setText("0 notes")
        self.progress.setVisible(spec.kind == "file")
        self.progress.setValue(0)

    def show_update(self, up, spec, n_notes: int) -> None:
        """The statistics of :class:`gui.worker.Update` ``up``; the take has ``n_notes`` notes."""
        if up.progress is not None:
            self.progress.setValue(int(1000 * up.progress))
        self._port_latency += up.port_latency
        lat = self._port_latency
        if lat and spec.live:  # full-speed files: not meaningful
            self.latency_label.setText(f"engine latency {1000 * lat[-1]:.0f} ms "
                                       f"(median {1000 * np.median(lat):.0f})")
        self.dropped_label.setText(f"dropped {up.overflows}")
        cpu = f"CPU {100 * up.cpu:.0f} %"
        if not spec.live:
            cpu += f" · {up.speed:.0f}× real time"
        self.cpu_label.setText(cpu)
        self.notes_label.setText(f"{n_notes} notes")

    def take_done(self, n_notes: int, duration: float) -> None:
        self.progress.setValue(1000)
        self.notes_label.setText(f"{n_notes} notes")
        self.status_bar.showMessage(f"Take done: {n_notes} notes, {duration:.1f} s", 8000)


class RollView(QWidget):
    """The piano roll over its horizontal scrollbar; the zoom is remembered (``view/px_per_s``)."""

    def __init__(self, settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.roll = PianoRoll()
        self.scrollbar = QScrollBar(Qt.Orientation.Horizontal)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        column.addWidget(self.roll, 1)
        column.addWidget(self.scrollbar)
        self.scrollbar.valueChanged.connect(lambda value: self.roll.set_t0(value / 1000.0))
        self.roll.viewChanged.connect(self._sync_scrollbar)

    def follow(self, controller) -> None:
        """Show the take of ``controller`` (a :class:`gui.controller.TakeController`) as it changes."""
        c = controller
        c.sourceOpened.connect(lambda _info: self.begin(c.take))
        c.updated.connect(lambda _up: self.roll.refresh())
        c.ended.connect(lambda: self.end(whole=c.spec.kind == "file"))
        c.takeChanged.connect(self.roll.refresh)

    def restore(self) -> None:
        self.roll.px_per_s = stored_value(self.settings, "view/px_per_s", 100.0, float,
                                          lambda v: MIN_PX_PER_S <= v <= MAX_PX_PER_S)

    def zoom(self, factor: float) -> None:
        """Multiply the roll's pixels per second by ``factor`` (remembered for the next launch)."""
        self.roll.zoom(factor)
        self.settings.setValue("view/px_per_s", self.roll.px_per_s)

    def begin(self, take) -> None:
        """Show ``take`` as it is recorded."""
        self.roll.recording = True
        self.roll.set_take(take)

    def end(self, whole: bool) -> None:
        """The take ended: all of it in view (``whole``, for a file), else its last notes."""
        self.roll.recording = False
        if whole:
            self.roll.fit()
        else:
            self.roll.follow = False
            self.roll.show_last_notes()
            self.roll.refresh()

    def _sync_scrollbar(self) -> None:
        view = self.roll.view_seconds
        total = max(self.roll.duration, view)
        self.scrollbar.blockSignals(True)
        self.scrollbar.setRange(0, int(1000 * max(0.0, total - 0.5 * view)))
        self.scrollbar.setPageStep(int(1000 * view))
        self.scrollbar.setSingleStep(max(1, int(100 * view)))
        self.scrollbar.setValue(int(1000 * self.roll.t0))
        self.scrollbar.blockSignals(False)
