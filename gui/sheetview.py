"""The take's lead sheet, engraved: a tab beside the piano roll, and its export.

The lead sheet is the one ``svt_live.write(notes, "take.musicxml")`` writes
(:func:`svt_live.theory.leadsheet.infer_lead_sheet`: tempo, meter, bars, key and
note values inferred from the take's closed notes), engraved as SVG by verovio.
music21 and verovio are imported only when the sheet is first shown or
exported, and the sheet is engraved again only when the take changed (a new
take opened, or one ended). While a take runs, or when it has no notes, the
view says so instead. Problems are messages of the take controller, never
exceptions.
"""
from __future__ import annotations

import re
import weakref
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtSvgWidgets import QSvgWidget
from PySide6.QtWidgets import QLabel, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from svt_live.io.outputs import os_error_line, write_bytes

from .settings import remember_folder

SHEET_EXTENSIONS = (".musicxml", ".xml", ".svg")
# verovio: pages as tall as it allows (most takes fit on one), 40 % scale (an 840 px wide page), no footer
VEROVIO_OPTIONS = {"pageHeight": 60000, "adjustPageHeight": True, "scale": 40, "footer": "none"}
NO_NOTES = "No notes yet: record a take or open an audio file (Ctrl+O), and its lead sheet appears here."
RECORDING = "The lead sheet appears here when the take ends."
_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)px"[^>]*?\bheight="([\d.]+)px"')


def stack_pages(pages: list[str]) -> str:
    """Verovio's SVG pages, one under the other, as one SVG document (a single page as it is)."""
    if len(pages) == 1:
        return pages[0]
    sizes = [tuple(float(v) for v in _SIZE.search(page).groups()) for page in pages]
    width, y, placed = max(w for w, _ in sizes), 0.0, []
    for page, (_, h) in zip(pages, sizes):
        placed.append(page.replace("<svg", f'<svg y="{y:g}"', 1))
        y += h
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" '
            f'width="{width:g}px" height="{y:g}px" viewBox="0 0 {width:g} {y:g}">\n' + "\n".join(placed) + "\n</svg>\n")


def engrave(musicxml: bytes) -> str:
    """MusicXML engraved by verovio: all its pages as one SVG document (text).

    Raises ImportError without verovio, ValueError when verovio cannot read the MusicXML.
    """
    import verovio

    verovio.enableLog(verovio.LOG_OFF)  # its warnings would go to the terminal; a failed load is checked below
    toolkit = verovio.toolkit()
    toolkit.setOptions(VEROVIO_OPTIONS)
    if not toolkit.loadData(musicxml.decode("utf-8")):
        raise ValueError("verovio could not read the lead sheet")
    return stack_pages([toolkit.renderToSVG(page) for page in range(1, toolkit.getPageCount() + 1)])


def lead_sheet_svg(notes, title: str = "") -> str:
    """The lead sheet of ``notes`` (``(onset_s, offset_s, midi)`` rows, everything inferred) as SVG."""
    from svt_live.io.musicxml import lead_sheet_score, score_bytes
    from svt_live.theory.leadsheet import infer_lead_sheet

    return engrave(score_bytes(lead_sheet_score(infer_lead_sheet(notes), title)))


class SheetView(QWidget):
    """The lead sheet of ``controller``'s take (a :class:`gui.controller.TakeController`), fitted to the
    width and scrolled vertically; engraved when shown. :attr:`svg` is the shown engraving (None while
    :attr:`message` says why there is none)."""

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.svg: str | None = None
        self._svg = ""  # the last engraving, shown or not
        self._engraved_for = (None, -1)  # (weak reference to the take, its closed notes) of :attr:`svg`
        self.message = QLabel(NO_NOTES, wordWrap=True, alignment=Qt.AlignmentFlag.AlignCenter)
        self.page = QSvgWidget()
        self.page.setStyleSheet("background: white")
        self.scroll = QScrollArea(widgetResizable=False, alignment=Qt.AlignmentFlag.AlignHCenter)
        self.scroll.setWidget(self.page)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space stays record/stop
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.message, 1)
        column.addWidget(self.scroll, 1)
        self.scroll.hide()
        controller.sourceOpened.connect(lambda _info: self.refresh())
        controller.ended.connect(self.refresh)

    def refresh(self) -> None:
        """Show the take's lead sheet, engraved again if the take changed; nothing to do while hidden."""
        if not self.isVisible():
            return
        take = self.controller.take
        if self.controller.recording and not take.finished:
            return self._say(RECORDING)
        if not len(take.notes_array()):
            return self._say(NO_NOTES)
        try:
            svg = self.engraving()
        except ImportError as exc:
            return self._say(f"Showing the lead sheet needs {exc.name}: pip install {exc.name}")
        except ValueError as exc:
            return self._say(f"The lead sheet cannot be shown: {exc}")
        if svg is not self.svg:
            self.svg = svg
            self.page.load(QByteArray(svg.encode("utf-8")))
            self.message.hide()
            self.scroll.show()
            self._fit()

    def engraving(self) -> str:
        """The SVG of the take's lead sheet (engraved again only when the take changed since the last)."""
        take = self.controller.take
        n = len(take.notes_array())
        if self._engraved_for[0] is None or self._engraved_for[0]() is not take or self._engraved_for[1] != n:
            self._svg = lead_sheet_svg(take.notes_array(), take.name)
            self._engraved_for = (weakref.ref(take), n)
        return self._svg

    def _say(self, text: str) -> None:
        self.svg = None
        self.message.setText(text)
        self.scroll.hide()
        self.message.show()

    def _fit(self) -> None:
        """Scale the page to the view's width, keeping its proportions."""
        size = self.page.renderer().defaultSize()
        if size.isEmpty():
            return
        width = max(100, self.scroll.viewport().width() - 2)
        self.page.setFixedSize(width, round(width * size.height() / size.width()))

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        self.refresh()

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        if self.svg is not None:
            self._fit()

    def export(self, path: str | Path) -> bool:
        """Write the take's lead sheet to ``path`` by extension: ``.musicxml``/``.xml`` (:func:`svt_live.write`)
        or ``.svg`` (the engraving shown); False, with the controller's message saying why, when it cannot."""
        from svt_live import write

        c, path = self.controller, Path(path)
        notes = c.take.notes_array()
        try:
            if path.suffix.lower() not in SHEET_EXTENSIONS:
                raise ValueError(f"{path.name}: export as .musicxml or .svg")
            if c.recording or not len(notes):
                raise ValueError("the take is still running" if c.recording else "the take has no notes")
            if path.suffix.lower() == ".svg":
                write_bytes(path, self.engraving().encode("utf-8"))
            else:
                write(notes, path)
        except ImportError as exc:
            c.say(f"Lead sheet not exported: it needs {exc.name} (pip install {exc.name})", "error")
            return False
        except ValueError as exc:
            c.say(f"Lead sheet not exported: {exc}", "error")
            return False
        except OSError as exc:
            c.say(f"Lead sheet not exported: {os_error_line(exc)}", "error")
            return False
        remember_folder(c.settings, "save", path)
        c.say(f"Lead sheet saved to {path}", "info")
        return True


class ViewTabs(QTabWidget):
    """The piano roll and the lead sheet, one shown at a time (:meth:`toggle` switches)."""

    def __init__(self, roll_view: QWidget, sheet_view: SheetView, parent=None):
        super().__init__(parent)
        self.setDocumentMode(True)
        self.addTab(roll_view, "Piano roll")
        self.addTab(sheet_view, "Lead sheet")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space stays record/stop
        self.tabBar().setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def toggle(self) -> None:
        """Show the lead sheet if the roll is shown, else the roll."""
        self.setCurrentIndex(1 - self.currentIndex())
