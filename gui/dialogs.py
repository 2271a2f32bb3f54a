"""The window's questions to the user, in one replaceable object.

:class:`MainWindow` asks every question (which file, which song id) through
a :class:`Dialogs` instance, so tests and scripts pass their own answers
instead of modal dialogs. Every method returns None when the user cancels.
"""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

AUDIO_FILTER = "Audio (*.wav *.mp3 *.flac *.ogg *.m4a *.aac *.opus *.aiff *.aif *.wma);;All files (*)"
ANNOTATION_FILTER = ("Annotations (*.json *.txt *.csv *.mid *.midi *.musicxml *.xml *.mxl);;MIR-ST500 JSON (*.json);;"
                     "SSVD (*.txt);;vocadito / svt-live CSV (*.csv);;MIDI (*.mid *.midi);;"
                     "MusicXML (*.musicxml *.xml *.mxl);;All files (*)")
SCORE_FILTER = "Scores (*.mid *.midi *.musicxml *.xml *.mxl);;All files (*)"
CHECKPOINT_FILTER = "svt-live checkpoints (*.pt);;All files (*)"
TAKE_FILTER = ("MIDI (*.mid);;JSON (*.json);;CSV (*.csv);;TXT (*.txt);;MusicXML lead sheet (*.musicxml);;"
               "WAV audio of a microphone take (*.wav)")
PNG_FILTER = "PNG image (*.png)"
SHEET_FILTER = "MusicXML lead sheet (*.musicxml);;SVG image of the lead sheet (*.svg)"


class Dialogs:
    """Modal Qt dialogs (file pickers, song-id choice), parented to ``parent``."""

    def __init__(self, parent=None):
        self.parent = parent

    def _open(self, caption: str, start: str, filt: str) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.parent, caption, start, filt)
        return path or None

    def open_audio(self, start: str = "") -> str | None:
        return self._open("Open audio file", start, AUDIO_FILTER)

    def open_annotation(self, start: str = "") -> str | None:
        return self._open("Load reference annotation", start, ANNOTATION_FILTER)

    def open_score(self, start: str = "") -> str | None:
        return self._open("Open exercise (a score to sing)", start, SCORE_FILTER)

    def open_checkpoint(self, start: str = "") -> str | None:
        return self._open("Choose a model checkpoint", start, CHECKPOINT_FILTER)

    def _save(self, caption: str, start: str, filters: str, extensions: dict[str, str]) -> str | None:
        """A path to write; with no extension typed, the chosen filter's (``extensions``: its first word ->
        extension; the first is the default)."""
        path, filt = QFileDialog.getSaveFileName(self.parent, caption, start, filters)
        if path and "." not in path.rsplit("/", 1)[-1]:
            path += extensions.get(filt.split(" ")[0], next(iter(extensions.values())))
        return path or None

    def save_take(self, start: str = "") -> str | None:
        return self._save("Save take", start, TAKE_FILTER, {"MIDI": ".mid", "JSON": ".json", "CSV": ".csv",
                                                            "TXT": ".txt", "MusicXML": ".musicxml", "WAV": ".wav"})

    def save_lead_sheet(self, start: str = "") -> str | None:
        return self._save("Export lead sheet", start, SHEET_FILTER, {"MusicXML": ".musicxml", "SVG": ".svg"})

    def save_png(self, start: str = "") -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.parent, "Export piano roll", start, PNG_FILTER)
        if path and not path.lower().endswith(".png"):
            path += ".png"
        return path or None

    def keep_take(self, n_notes: int) -> str | None:
        """Closing with unsaved notes: "save", "discard", or None (cancel: the window stays open)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved take",
                          f"The take has {n_notes} unsaved notes. Save them before closing?",
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self.parent)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        return {QMessageBox.StandardButton.Save: "save",
                QMessageBox.StandardButton.Discard: "discard"}.get(QMessageBox.StandardButton(answer))

    def song_id(self, choices: list[str], suggested: str | None = None) -> str | None:
        """Pick one song of a MIR-ST500 JSON holding several."""
        current = choices.index(suggested) if suggested in choices else 0
        item, ok = QInputDialog.getItem(self.parent, "Which song?",
                                        "This annotation file holds several songs; pick the one for this audio:",
                                        choices, current, False)
        return item if ok and item else None
