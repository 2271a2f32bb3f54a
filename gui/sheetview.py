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

import base64
import re
import threading
import weakref
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtSvgWidgets import QSvgWidget
from PySide6.QtWidgets import QLabel, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from svt_live.io.outputs import os_error_line, write_bytes

from .settings import remember_folder

SHEET_EXTENSIONS = (".musicxml", ".xml", ".svg")
# verovio: pages as tall as it allows (most takes fit on one), 40 % scale (an 840 px wide page), no footer
VEROVIO_OPTIONS = {"pageHeight": 60000, "adjustPageHeight": True, "scale": 40, "footer": "none"}
NO_NOTES = "No notes yet: record a take or open an audio file (Ctrl+O), and its lead sheet appears here."
RECORDING = "The lead sheet appears here when the take ends."
ENGRAVING = "Engraving the lead sheet…"
_ROOT = re.compile(r'<svg\b([^>]*)>')
_INNER = re.compile(r'<svg class="definition-scale"([^>]*?) viewBox="0 0 ([\d.]+) ([\d.]+)"([^>]*)>')
_TEXT = re.compile(r"<text\b[^>]*?(?:/>|(?<!/)>.*?</text>)", re.S)
_FONT_FACE = re.compile(r"font-family:\s*'([^']+)';\s*src:\s*url\(data:[^,]*;base64,([A-Za-z0-9+/=]+)\)")
_TEXT_STYLE = ("font-size", "font-family", "font-style", "font-weight")
_TEXT_PLACE = ("x", "y", "text-anchor")


def _attribute(tag: str, name: str) -> str | None:
    found = re.search(rf'\b{name}="([^"]*)"', tag)
    return found.group(1) if found else None


def _flat_text(match: re.Match) -> str:
    """A verovio ``<text>`` with nested ``<tspan>`` (which SVG Tiny, Qt's renderer, does not draw) as a
    ``<text>`` of leaf ``<tspan>``: the first position given inside goes to the ``<text>``, each leaf keeps
    the font it inherits."""
    try:
        text = ET.fromstring(match.group(0))
    except ET.ParseError:
        return match.group(0)
    attributes = {k: v for k, v in text.attrib.items() if not (k == "font-size" and float(v.rstrip("px")) <= 0)}
    leaves = []

    def walk(element, style: dict) -> None:
        style = {**style, **{k: element.get(k) for k in _TEXT_STYLE if element.get(k)}}
        for k in _TEXT_PLACE:
            if element.get(k) is not None:
                attributes.setdefault(k, element.get(k))
        spans = [child for child in element if child.tag == "tspan"]
        if element.tag == "tspan" and not spans and element.text:
            leaves.append("<tspan" + "".join(f" {k}={quoteattr(v)}" for k, v in style.items()) + ">"
                          + escape(element.text) + "</tspan>")
        for child in spans:
            walk(child, style)

    walk(text, {})
    if not leaves and not (text.text or "").strip():
        return ""  # nothing to draw (and Qt would warn about its font size 0)
    if not leaves:
        return match.group(0)
    return "<text" + "".join(f" {k}={quoteattr(v)}" for k, v in attributes.items()) + ">" + "".join(leaves) + "</text>"


def flat_page(page: str) -> tuple[float, float, str]:
    """One page of verovio's SVG as ``(width_px, height_px, a <g> element)`` that SVG Tiny (Qt's renderer)
    draws whole: its nested ``<svg>`` becomes a scaled group, its texts lose their nested spans."""
    root = _ROOT.search(page)
    width, height = (float(_attribute(root.group(1), k).removesuffix("px")) for k in ("width", "height"))
    inner = _INNER.search(page, root.end())
    if inner is None:
        raise ValueError("verovio's SVG page has an unexpected layout")
    attributes, view_w, view_h, rest = inner.groups()
    scale = f"scale({width / float(view_w):g},{height / float(view_h):g})"
    end = page.rindex("</svg>")
    close = page.rindex("</svg>", 0, end)
    return width, height, (f'<g id="{_attribute(root.group(1), "id")}">' + page[root.end():inner.start()]
                           + f'<g class="definition-scale"{attributes}{rest} transform="{scale}">'
                           + _TEXT.sub(_flat_text, page[inner.end():close]) + "</g>" + page[close + 6:end] + "</g>")


def stack_pages(pages: list[str]) -> str:
    """Verovio's SVG pages, one under the other, as one flat SVG document (:func:`flat_page`)."""
    flat = [flat_page(page) for page in pages]
    width, y, placed = max(w for w, _, _ in flat), 0.0, []
    for _, h, group in flat:
        placed.append(f'<g transform="translate(0,{y:g})">{group}</g>')
        y += h
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" '
            f'width="{width:g}px" height="{y:g}px" viewBox="0 0 {width:g} {y:g}">\n' + "\n".join(placed) + "\n</svg>\n")


def load_fonts(svg: str) -> None:
    """Give Qt the fonts an SVG embeds (verovio's music font, used for the tempo's note), once each."""
    for family, data in _FONT_FACE.findall(svg):
        if family not in _LOADED_FONTS and QFontDatabase.addApplicationFontFromData(base64.b64decode(data)) >= 0:
            _LOADED_FONTS.add(family)


_LOADED_FONTS: set[str] = set()


def engrave(musicxml: bytes) -> str:
    """MusicXML engraved by verovio: all its pages as one SVG document (text).

    Raises ImportError without verovio, ValueError when verovio cannot read the MusicXML.
    """
    from importlib.resources import files

    import verovio

    verovio.enableLog(verovio.LOG_OFF)  # its warnings would go to the terminal; a failed load is checked below
    toolkit = verovio.toolkit(False)
    toolkit.setResourcePath(str(files("verovio") / "data"))  # its default is set for the importing thread only
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
    width and scrolled vertically. It is engraved when shown, in a thread of its own (a long take takes
    seconds); :attr:`svg` is the engraving shown (None while :attr:`message` says why there is none).
    Signal ``engraved(key, svg or None, problem or None)``: an engraving ended (``key`` names the take)."""

    engraved = Signal(object, object, object)

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.svg: str | None = None
        self._cache: tuple[tuple, str] | None = None  # (key, svg) of the last engraving, shown or not
        self._busy = False  # a thread is engraving
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
        self.engraved.connect(self._on_engraved)

    def _key(self) -> tuple:
        """What an engraving is of: the take (a weak reference: a new take may reuse an old one's id)
        and its closed notes."""
        take = self.controller.take
        return weakref.ref(take), len(take.notes_array())

    def _cached(self) -> str | None:
        if self._cache is None:
            return None
        (take, n), svg = self._cache
        return svg if take() is self.controller.take and n == len(self.controller.take.notes_array()) else None

    def refresh(self) -> None:
        """Show the take's lead sheet, engraving it if the take changed; nothing to do while hidden."""
        if not self.isVisible():
            return
        take = self.controller.take
        if self.controller.recording and not take.finished:
            return self._say(RECORDING)
        if not len(take.notes_array()):
            return self._say(NO_NOTES)
        svg = self._cached()
        if svg is None:
            self._say(ENGRAVING)
            if not self._busy:  # else the engraving running ends first, then this refresh runs again
                self._busy = True
                threading.Thread(target=self._engrave, args=(self._key(), take.notes_array(), take.name),
                                 name="svt-gui lead sheet", daemon=True).start()
        elif svg is not self.svg:
            self.svg = svg
            load_fonts(svg)
            self.page.load(QByteArray(svg.encode("utf-8")))
            self.message.hide()
            self.scroll.show()
            self._fit()

    def _engrave(self, key: tuple, notes, title: str) -> None:
        """The engraving thread: :func:`lead_sheet_svg`, its result sent to the GUI thread."""
        svg = problem = None
        try:
            svg = lead_sheet_svg(notes, title)
        except ImportError as exc:
            problem = f"Showing the lead sheet needs {exc.name}: pip install {exc.name}"
        except Exception as exc:  # whatever fails, the view says so rather than wait forever
            problem = f"The lead sheet cannot be shown: {exc}"
        try:
            self.engraved.emit(key, svg, problem)
        except RuntimeError:  # the window closed meanwhile
            pass

    def _on_engraved(self, key: tuple, svg: str | None, problem: str | None) -> None:
        self._busy = False
        if svg is not None:
            self._cache = key, svg
        current = key[0]() is self.controller.take and key[1] == len(self.controller.take.notes_array())
        if problem is not None and current:
            self._say(problem)
        else:
            self.refresh()

    def engraving(self) -> str:
        """The SVG of the take's lead sheet: the last engraving if it is of this take, else engraved now."""
        svg = self._cached()
        if svg is None:
            take = self.controller.take
            svg = lead_sheet_svg(take.notes_array(), take.name)
            self._cache = self._key(), svg
        return svg

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
