"""The main window: choose input, model and MIDI output; record; look; score; save.

The window lays out its panels (:mod:`gui.panels`: input, model and MIDI output,
status, the roll; :mod:`gui.sheetview`: the lead sheet, a tab beside the roll)
and wires them to a :class:`gui.controller.TakeController`, which runs each take
(the engine in its own thread, :class:`gui.worker.EngineWorker`) and keeps it in
a :class:`gui.take.Take`; the window repaints what arrives.
Problems never open a modal box: they appear in the message strip above the
roll (and in :attr:`MainWindow.messages`, for tests and scripts), and the
take recorded so far is kept. Questions go through a replaceable
:class:`gui.dialogs.Dialogs`.

Choices (input, device, file, pace, model, MIDI output, zoom, folders) are
kept in a QSettings store between launches; pass ``settings=`` to use
another store (tests use an ini file in a temporary folder).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QPushButton, QVBoxLayout, QWidget

from svt_live.io.outputs import os_error_line

from .controller import TakeController
from .dialogs import Dialogs
from .panels import InputPanel, ModelMidiPanel, RollView, StatusPanel
from .pianoroll import save_png
from .settings import last_folder, remember_folder, stored_value
from .sheetview import SheetView, ViewTabs
from .worker import ModelCache

PANEL_NAMES = {  # panel attribute: its widgets and methods that are also the window's
    "inputs": "input_combo file_label realtime_check level_bar select_file_input select_mic",
    "model_midi": "model_combo midi_combo port_aids set_model",
    "status": "message_frame message_label score_label progress latency_label dropped_label",
    "view": "roll scrollbar",
}


def _action(window, menu, text: str, slot, keys=()) -> QAction:
    """A menu entry of ``window`` with shortcuts ``keys`` that work anywhere in the window."""
    a = QAction(text, window, triggered=slot)
    a.setShortcuts([QKeySequence(k) for k in keys])
    a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    menu.addAction(a)
    window.addAction(a)
    return a


class MainWindow(QMainWindow):
    """The svt-gui window. Signals (its controller's): ``takeStarted()``, ``takeFinished()``, ``message(kind, text)``.

    The take and what it is compared with live in :attr:`controller`; ``take``, ``reference``,
    ``exercise``, ``last_evaluation``, ``messages``, ``worker``, ``monitor`` and ``recording`` read it.
    The panels' widgets are also attributes of the window (``midi_combo``, ``roll``...).
    """

    takeStarted = property(lambda self: self.controller.takeStarted)
    takeFinished = property(lambda self: self.controller.takeFinished)
    message = property(lambda self: self.controller.message)
    take = property(lambda self: self.controller.take)
    reference = property(lambda self: self.controller.reference)
    exercise = property(lambda self: self.controller.exercise)
    last_evaluation = property(lambda self: self.controller.last_evaluation)
    messages = property(lambda self: self.controller.messages)
    worker = property(lambda self: self.controller.worker)
    monitor = property(lambda self: self.controller.monitor)
    recording = property(lambda self: self.controller.recording)
    input_choice = property(lambda self: self.inputs.input_choice, doc="('file', None) or ('mic', device name)")
    source_kind = property(lambda self: self.inputs.input_choice[0])
    model_name = property(lambda self: self.model_midi.model_name)
    audio_path = property(lambda self: self.inputs.audio_path,
                          lambda self, path: setattr(self.inputs, "audio_path", path), doc="the chosen audio file")

    def __init__(self, settings: QSettings | None = None, dialogs: Dialogs | None = None,
                 models: ModelCache | None = None, level_monitor: bool = True):
        super().__init__()
        self.settings = settings if settings is not None else QSettings("svt-live", "svt-gui")
        self.dialogs = dialogs if dialogs is not None else Dialogs(self)
        self.controller = TakeController(self.settings, models, level_monitor, parent=self)
        self._restoring = True  # no settings writes while the widgets are being filled
        self._closing = False  # a signal is ending svt-gui (see interrupt)
        self.setWindowTitle("svt-live — singing to MIDI")
        self._build_ui()
        self._build_actions()
        self._restore()
        self._restoring = False
        self._input_changed()
        self.roll.set_take(self.take)
        self.inputs.follow_level(self.controller.level_db)

    # ---- construction -------------------------------------------------------------
    def _build_ui(self) -> None:
        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(6, 6, 6, 2)
        outer.setSpacing(4)
        self.inputs = p = InputPanel(self.settings)
        self.model_midi = m = ModelMidiPanel(
            self.settings, lambda: self.dialogs.open_checkpoint(last_folder(self.settings, "checkpoint")))
        self.status = s = StatusPanel(self.statusBar(), self)
        self.view = RollView(self.settings)
        self.sheet = SheetView(self.controller)
        self.tabs = ViewTabs(self.view, self.sheet)
        self.record_button = QPushButton("● Record", toolTip="Record / stop (Space)", minimumWidth=100)
        self.reference_button = QPushButton("Reference…", toolTip="Load a reference annotation to compare with")
        row2 = QHBoxLayout()
        for w in (m, self.record_button, self.reference_button, s.score_label):
            row2.addWidget(w)
        row2.addStretch(1)
        for b in (self.record_button, self.reference_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space stays record/stop
        outer.addWidget(p)
        outer.addLayout(row2)
        outer.addWidget(s.message_frame)
        outer.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        for panel, names in PANEL_NAMES.items():  # the panels' widgets and methods as scripts and tests name them
            for name in names.split():
                setattr(self, name, getattr(getattr(self, panel), name))

        p.changed.connect(self._input_changed)
        p.refresh_button.clicked.connect(lambda: self.refresh_devices(rescan=True))
        p.open_button.clicked.connect(self.ask_open_audio)
        p.realtime_check.toggled.connect(lambda _: self._save_choice())
        m.changed.connect(self._save_choice)
        m.message.connect(lambda kind, text: self.show_message(text, kind))
        self.record_button.clicked.connect(self.toggle_recording)
        self.reference_button.clicked.connect(self.ask_load_reference)
        c = self.controller
        self.view.follow(c)
        s.follow(c)
        c.busy.connect(self._set_busy)
        c.sourceOpened.connect(lambda info: self.setWindowTitle(f"svt-live — {c.take.name} — model {info['model']}"))

    def _build_actions(self) -> None:
        menu = self.menuBar().addMenu("&File")
        self.open_action = _action(self, menu, "&Open audio file…", self.ask_open_audio, ["Ctrl+O"])
        self.reference_action = _action(self, menu, "Load &reference…", self.ask_load_reference, ["Ctrl+R"])
        self.exercise_action = _action(self, menu, "Open e&xercise (score to sing)…", self.ask_load_exercise,
                                       ["Ctrl+Shift+O"])
        self.clear_exercise_action = _action(self, menu, "C&lear exercise", self.clear_exercise)
        self.clear_exercise_action.setEnabled(False)
        menu.addSeparator()
        self.save_action = _action(self, menu, "&Save take…", self.ask_save_take, ["Ctrl+S"])
        self.png_action = _action(self, menu, "&Export roll as PNG…", self.ask_export_png, ["Ctrl+E"])
        self.sheet_action = _action(self, menu, "Export &lead sheet…", self.ask_export_sheet, ["Ctrl+Shift+E"])
        menu.addSeparator()
        _action(self, menu, "&Quit", self.close, ["Ctrl+Q"])
        self.record_action = _action(self, self.menuBar().addMenu("&Take"), "&Record / stop", self.toggle_recording,
                                     ["Space"])
        menu = self.menuBar().addMenu("&View")
        _action(self, menu, "Zoom &in", lambda: self.zoom(1.25), ["+", "=", "Ctrl++"])
        _action(self, menu, "Zoom &out", lambda: self.zoom(0.8), ["-", "Ctrl+-"])
        _action(self, menu, "&Fit the take", self.roll.fit, ["0"])
        _action(self, menu, "&Lead sheet / piano roll", self.tabs.toggle, ["Ctrl+L"])

    # ---- settings and input --------------------------------------------------------
    def _restore(self) -> None:
        self.refresh_devices()
        self.model_midi.restore()
        self.inputs.restore()
        self.view.restore()
        geometry = stored_value(self.settings, "window/geometry", None, QByteArray)
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1100, 680)

    def _save_choice(self) -> None:
        if not self._restoring:
            self.inputs.save()
            self.model_midi.save()

    def refresh_devices(self, rescan: bool = False) -> None:
        """(Re)list microphones in the input menu, keeping the current or remembered choice; ``rescan`` (the ↻
        button): close the level meter's stream and have PortAudio look for devices again (not while recording)."""
        if rescan:
            if self.recording:
                return
            self.controller.close_monitor()
        self.inputs.list_devices(rescan)
        self._input_changed()

    def _input_changed(self) -> None:
        self.inputs.enable_for_choice()
        self._save_choice()
        if not self._restoring:
            self.controller.restart_monitor(*self.input_choice)

    # ---- recording ---------------------------------------------------------------------
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
        spec = self.inputs.source_spec()
        if spec is None:  # no file chosen yet
            return self.ask_open_audio()
        if not self.controller.start(spec, self.model_name, self.model_midi.midi_choice(), self.port_aids.aids()):
            return False
        self.statusBar().showMessage("Transcribing…" if not spec.live else "Recording…")
        return True

    def stop(self) -> None:
        """End the take: the engine finishes and closes the sounding note (asynchronously)."""
        if self.controller.stop():
            self.statusBar().showMessage("Stopping…")

    def interrupt(self, folders: tuple = (".", "~")) -> tuple[Path | None, list[str]]:
        """Ctrl-C or SIGTERM in the terminal: end the take, keep its unsaved notes in the first of ``folders``
        that takes them (default: here, then home) and close the window, saved or not; returns
        :meth:`TakeController.keep_unsaved`'s ``(the MIDI file or None, ["<path tried>: <why not>", ...])``."""
        self.controller.finish()
        kept = self.controller.keep_unsaved(folders)
        self._closing = True  # the signal ends svt-gui: no question about the unsaved take
        self.close()
        return kept

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Block until the running take's thread ended (for scripts; the GUI never calls it)."""
        return self.controller.wait_idle(timeout_ms)

    def _set_busy(self, busy: bool) -> None:
        if busy:
            self.clear_message()
        self.record_button.setText("■ Stop" if busy else "● Record")
        self.inputs.set_busy(busy)
        self.model_midi.set_busy(busy)
        self.open_action.setEnabled(not busy)
        if not busy:
            self._input_changed()

    # ---- files ---------------------------------------------------------------------------
    def ask_open_audio(self) -> bool:
        path = self.dialogs.open_audio(last_folder(self.settings, "audio"))
        return self.open_audio_file(path) if path else False

    def open_audio_file(self, path: str | Path, start: bool = True) -> bool:
        """Choose ``path`` as input and (by default) transcribe it; False with a message (and the current
        take kept) when it cannot be used."""
        if self.recording:
            self.show_message("Stop the current take before opening a file", "warning")
            return False
        if not self.controller.usable_file(path):
            return False
        self.audio_path = str(Path(path).resolve())
        remember_folder(self.settings, "audio", self.audio_path)
        self.select_file_input()
        self.inputs.show_file()
        self._save_choice()
        return self.start() if start else True

    def ask_load_reference(self) -> bool:
        path = self.dialogs.open_annotation(last_folder(self.settings, "annotation"))
        return self.load_reference(path) if path else False

    def load_reference(self, path: str | Path, song_id: str | None = None) -> bool:
        """Overlay reference notes from an annotation file and score the take against them
        (:meth:`TakeController.load_reference`; the user picks the song when the file does not say)."""
        return self.controller.load_reference(path, song_id, self.audio_path, self.source_kind == "file",
                                              self.dialogs.song_id)

    def ask_load_exercise(self) -> bool:
        path = self.dialogs.open_score(last_folder(self.settings, "score"))
        return self.load_exercise(path) if path else False

    def load_exercise(self, path: str | Path) -> bool:
        """Sing against a score (MIDI, MusicXML): its notes become target lanes on the roll, green or
        red as they are sung, and each finished take ends with the check's summary. A chosen file not
        yet transcribed is transcribed. A bad score leaves the current exercise as it was."""
        if not self.controller.load_exercise(path):
            return False
        self.clear_exercise_action.setEnabled(True)
        fresh = not (self.recording or self.take.finished or self.take.notes)
        if fresh and self.source_kind == "file" and self.audio_path:
            self.start()
        return True

    def clear_exercise(self) -> None:
        """Sing without an exercise again: its lanes and verdicts go, from the shown take too."""
        self.clear_exercise_action.setEnabled(False)
        self.controller.clear_exercise()

    def ask_save_take(self) -> bool:
        path = self.dialogs.save_take(str(Path(last_folder(self.settings, "save")) / f"{self.take.name}.mid"))
        return self.save_take(path) if path else False

    def save_take(self, path: str | Path) -> bool:
        """Save the take's closed notes as MIDI, JSON or CSV (by extension)."""
        return self.controller.save_take(path)

    def ask_export_png(self) -> bool:
        path = self.dialogs.save_png(str(Path(last_folder(self.settings, "save")) / f"{self.take.name}.png"))
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

    def ask_export_sheet(self) -> bool:
        path = self.dialogs.save_lead_sheet(str(Path(last_folder(self.settings, "save"), f"{self.take.name}.musicxml")))
        return self.sheet.export(path) if path else False

    # ---- messages and zoom -----------------------------------------------------------------
    def show_message(self, text: str, kind: str = "error") -> None:
        """Show ``text`` in the message strip (kind: error, warning or info) and the status bar."""
        self.controller.say(text, kind)

    def clear_message(self) -> None:
        self.status.clear_message()

    def zoom(self, factor: float) -> None:
        """+/-: multiply the roll's pixels per second by ``factor`` (remembered for the next launch)."""
        self.view.zoom(factor)

    # ---- shutdown ------------------------------------------------------------------------------
    def _may_close(self) -> bool:
        """End a running take, then offer to save its unsaved notes; False when the user cancels."""
        if self.recording:
            self.controller.finish()
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
        self.controller.shutdown()
        super().closeEvent(ev)
