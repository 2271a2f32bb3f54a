"""The piano roll: time left to right, pitch bottom to top, keyboard on the left.

:class:`PianoRoll` paints a :class:`gui.take.Take`: reference notes (orange
outlines), an exercise's notes as target lanes (grey until sung, then green
when right, amber when borderline, red when wrong or missed), the frame pitch
contour (thin line, under the notes), the notes
(blue; the sounding note yellow, its key lit on the keyboard), the play head
at the stream time, a time axis (seconds) and a keyboard labelled with note
names (C4 = MIDI 60). While a take records the view follows the newest audio;
scrolling or zooming by hand stops following until the next take.

View state: ``px_per_s`` (zoom, pixels per second) and ``t0`` (seconds at the
left edge of the notes area). Wheel scrolls in time, Ctrl+wheel zooms.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from svt_live.notes import NOTE_NAMES

from .take import Take

KEY_WIDTH = 58  # px, keyboard column
AXIS_HEIGHT = 22  # px, time axis strip at the bottom
MIN_PX_PER_S, MAX_PX_PER_S = 0.2, 2000.0  # 0.2: an hour-long take fits 720 px
MIN_SPAN = 24  # semitones always shown
FOLLOW_AT = 0.8  # while following, the newest audio sits at this fraction of the width
BLACK = {1, 3, 6, 8, 10}  # pitch classes of black keys

COLORS = {
    "bg": QColor("#202329"), "bg_black": QColor("#1a1c21"), "grid": QColor("#2e323a"),
    "grid_c": QColor("#474d58"), "grid_t": QColor("#353a43"), "axis": QColor("#17191d"),
    "text": QColor("#c9ced6"), "note": QColor(76, 155, 232, 215), "note_edge": QColor("#9fcaf5"),
    "sounding": QColor(255, 204, 51, 240), "sounding_edge": QColor("#fff1b8"),
    "ref": QColor(255, 140, 60, 70), "ref_edge": QColor(255, 150, 70, 230),
    "contour": QColor("#5fe3c0"), "head": QColor("#e8505b"),
    "target": QColor(200, 200, 200, 45), "target_edge": QColor(200, 200, 200, 160),
    "target_ok": QColor(70, 200, 90, 90), "target_ok_edge": QColor(90, 230, 110, 230),
    "target_bad": QColor(230, 60, 60, 100), "target_bad_edge": QColor(255, 90, 90, 240),
    "target_border": QColor(230, 160, 0, 100), "target_border_edge": QColor(255, 185, 40, 240),
    "white_key": QColor("#eeeeee"), "black_key": QColor("#2b2b2b"), "key_lit": QColor("#ffcc33"),
}


def save_png(image, path) -> None:
    """Write a ``QPixmap`` or ``QImage`` as a PNG file through :func:`svt_live.io.outputs.write_bytes`
    (Qt formats it in memory: it never writes the path itself). Raises ``OSError`` naming ``path``."""
    from svt_live.io.outputs import write_bytes

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"{path}: Qt could not encode the image as PNG")
    buffer.close()
    write_bytes(path, bytes(data))


def note_name(midi: int) -> str:
    """MIDI number -> name with octave, C4 = 60."""
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


class PianoRoll(QWidget):
    """Custom-painted piano roll of a take. Emits ``viewChanged()`` when ``t0`` or zoom change."""

    viewChanged = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.take: Take | None = None
        self.px_per_s = 100.0
        self.t0 = 0.0
        self.follow = True
        self.recording = False
        self.pitch_lo, self.pitch_hi = 48, 72  # lowest and highest row (MIDI), inclusive
        self.setMinimumSize(320, 200)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMouseTracking(True)  # hovering over an exercise lane says what was sung there

    # ---- model -------------------------------------------------------------
    def set_take(self, take: Take | None) -> None:
        """Show ``take`` from its start, following new audio."""
        self.take = take
        self.t0, self.follow = 0.0, True
        self.pitch_lo, self.pitch_hi = 48, 72
        self.refresh()

    def refresh(self) -> None:
        """Re-read the take (call after it changed): fit pitches, follow, repaint."""
        self._fit_pitch(grow_only=self.recording)
        if self.follow and self.take is not None:
            self.t0 = max(0.0, self.take.stream_time - FOLLOW_AT * self.view_seconds)
        self.viewChanged.emit()
        self.update()

    def _fit_pitch(self, grow_only: bool) -> None:
        span = self.take.pitch_span() if self.take is not None else None
        if span is None:
            return
        lo, hi = math.floor(span[0]) - 3, math.ceil(span[1]) + 3
        if grow_only:
            lo, hi = min(lo, self.pitch_lo), max(hi, self.pitch_hi)
        if hi - lo < MIN_SPAN:
            mid = (lo + hi) // 2
            lo, hi = mid - MIN_SPAN // 2, mid + MIN_SPAN // 2
        self.pitch_lo, self.pitch_hi = max(0, lo), min(127, hi)

    # ---- view ----------------------------------------------------------------
    @property
    def view_seconds(self) -> float:
        """Seconds visible across the notes area at the current zoom."""
        return max(1, self.width() - KEY_WIDTH) / self.px_per_s

    @property
    def duration(self) -> float:
        return self.take.duration if self.take is not None else 0.0

    def set_t0(self, t0: float, by_user: bool = True) -> None:
        """Scroll so that ``t0`` seconds is at the left edge. By hand this stops following the
        newest audio, until the user scrolls back to the end of a take that is recording."""
        self.t0 = min(max(0.0, t0), max(0.0, self.duration - 0.5 * self.view_seconds))
        if by_user:
            live_edge = self.take.stream_time - FOLLOW_AT * self.view_seconds if self.take else 0.0
            self.follow = self.recording and self.t0 >= live_edge - 0.05 * self.view_seconds
        self.viewChanged.emit()
        self.update()

    def zoom(self, factor: float, anchor: float | None = None) -> None:
        """Multiply pixels per second by ``factor`` keeping time ``anchor`` (s; default centre) in place."""
        if anchor is None:
            anchor = self.t0 + 0.5 * self.view_seconds
        x = (anchor - self.t0) * self.px_per_s
        self.px_per_s = float(np.clip(self.px_per_s * factor, MIN_PX_PER_S, MAX_PX_PER_S))
        if self.follow and self.recording:
            self.refresh()
        else:
            self.set_t0(anchor - x / self.px_per_s, by_user=False)

    def show_last_notes(self) -> None:
        """After a take: keep the view if a note is in it, else scroll so the last note ends where the
        newest audio sat while following (a take stopped long after the singing would show nothing)."""
        notes = self.take.notes_array() if self.take is not None else np.zeros((0, 3))
        if not len(notes) or ((notes[:, 1] > self.t0) & (notes[:, 0] < self.t0 + self.view_seconds)).any():
            return
        self.set_t0(float(notes[:, 1].max()) - FOLLOW_AT * self.view_seconds, by_user=False)

    def lane_at(self, t: float, midi: float):
        """The exercise note (:class:`~svt_live.sight.check.NoteCheck`) whose lane is at take time ``t`` (s) and
        pitch ``midi``, or None."""
        r = self.take.check if self.take is not None else None
        if r is None:
            return None
        for k, c in enumerate(r.notes):
            off = c.expected_s + (c.offset - c.onset) * r.tempo_ratio
            if c.expected_s <= t <= off and abs(midi - (c.pitch + 12 * r.octave_shift)) <= 0.5:
                return c if k < self.take.settled else None
        return None

    def lane_text(self, t: float, midi: float) -> str | None:
        """What the hover tip says over an exercise lane: the note, its verdict, what was sung and its cents."""
        c = self.lane_at(t, midi)
        if c is None:
            return None
        text = f"note {c.index + 1} {note_name(int(c.pitch))}: {c.status}"
        if c.pitch_error_cents is not None:
            sung = c.pitch + 12 * self.take.check.octave_shift + c.pitch_error_cents / 100
            text += f", sung {note_name(int(round(sung)))} ({c.pitch_error_cents:+.0f} cents)"
        if c.onset_error_ms is not None:
            text += f", {abs(c.onset_error_ms):.0f} ms {'late' if c.onset_error_ms > 0 else 'early'}"
        return text

    def mouseMoveEvent(self, ev) -> None:
        pos = ev.position()
        text = None
        if pos.x() > KEY_WIDTH:  # the inverse of x_of and y_of
            text = self.lane_text(self.t0 + (pos.x() - KEY_WIDTH) / self.px_per_s,
                                  self.pitch_hi + 0.5 - pos.y() / self._row_height())
        if text:
            QToolTip.showText(ev.globalPosition().toPoint(), text, self)
        else:
            QToolTip.hideText()
        super().mouseMoveEvent(ev)

    def fit(self) -> None:
        """Zoom so the whole take fits the width."""
        if self.duration > 0:
            self.px_per_s = float(np.clip(max(1, self.width() - KEY_WIDTH) / (self.duration * 1.02),
                                          MIN_PX_PER_S, MAX_PX_PER_S))
        self.follow = self.recording
        self.set_t0(0.0, by_user=False)

    def wheelEvent(self, ev) -> None:
        d = ev.angleDelta()
        steps = (d.y() or d.x()) / 120.0
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            t = self.t0 + (ev.position().x() - KEY_WIDTH) / self.px_per_s
            self.zoom(1.25 ** steps, anchor=t)
        else:
            self.set_t0(self.t0 - steps * 0.15 * self.view_seconds)
        ev.accept()

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self.viewChanged.emit()

    # ---- geometry ------------------------------------------------------------
    def _row_height(self) -> float:
        return max(1.0, (self.height() - AXIS_HEIGHT) / (self.pitch_hi - self.pitch_lo + 1))

    def x_of(self, t: float) -> float:
        """Widget x (px) of time ``t`` (s)."""
        return KEY_WIDTH + (t - self.t0) * self.px_per_s

    def y_of(self, midi: float) -> float:
        """Widget y (px) of the centre of pitch ``midi`` (fractional allowed)."""
        return (self.pitch_hi + 0.5 - midi) * self._row_height()

    # ---- painting --------------------------------------------------------------
    def paintEvent(self, ev) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        w, h = self.width(), self.height()
        rh = self._row_height()
        p.fillRect(0, 0, w, h, COLORS["bg"])
        p.setClipRect(QRectF(KEY_WIDTH, 0, w - KEY_WIDTH, h - AXIS_HEIGHT))
        self._paint_rows(p, w, rh)
        self._paint_time_grid(p, h)
        take = self.take
        if take is not None:
            self._paint_exercise(p, take, rh)
            self._paint_reference(p, take, rh)
            self._paint_contour(p, take)
            self._paint_notes(p, take, rh)
            if self.recording:
                x = self.x_of(take.stream_time)
                p.setPen(QPen(COLORS["head"], 1.5))
                p.drawLine(QPointF(x, 0), QPointF(x, h - AXIS_HEIGHT))
        p.setClipping(False)
        self._paint_axis(p, w, h)
        self._paint_keyboard(p, h, rh)
        if take is None or (not take.notes and take.n_frames == 0 and take.reference is None):
            p.setPen(COLORS["text"])
            p.drawText(QRectF(KEY_WIDTH, 0, w - KEY_WIDTH, h - AXIS_HEIGHT), Qt.AlignmentFlag.AlignCenter,
                       "Open an audio file (Ctrl+O) or press Space to record")
        else:
            self._paint_legend(p, w)
        p.end()

    def _paint_rows(self, p: QPainter, w: int, rh: float) -> None:
        for m in range(self.pitch_lo, self.pitch_hi + 1):
            y = self.y_of(m) - rh / 2
            if m % 12 in BLACK:
                p.fillRect(QRectF(KEY_WIDTH, y, w - KEY_WIDTH, rh), COLORS["bg_black"])
            p.setPen(QPen(COLORS["grid_c"] if m % 12 == 0 else COLORS["grid"], 1))
            p.drawLine(QPointF(KEY_WIDTH, y + rh), QPointF(w, y + rh))

    def _time_step(self) -> float:
        """Grid spacing (s) leaving at least 70 px between lines."""
        for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600):
            if step * self.px_per_s >= 70:
                return step
        return 1200.0

    def _grid_times(self):
        step = self._time_step()
        t = math.floor(self.t0 / step) * step
        end = self.t0 + self.view_seconds
        while t <= end + 1e-9:
            if t >= -1e-9:
                yield t, step
            t += step

    def _paint_time_grid(self, p: QPainter, h: int) -> None:
        p.setPen(QPen(COLORS["grid_t"], 1))
        for t, _ in self._grid_times():
            x = self.x_of(t)
            p.drawLine(QPointF(x, 0), QPointF(x, h - AXIS_HEIGHT))

    def _paint_axis(self, p: QPainter, w: int, h: int) -> None:
        p.fillRect(QRectF(0, h - AXIS_HEIGHT, w, AXIS_HEIGHT), COLORS["axis"])
        p.setFont(QFont(self.font().family(), 8))
        p.setPen(COLORS["text"])
        for t, step in self._grid_times():
            x = self.x_of(t)
            if x < KEY_WIDTH - 1 or x > w - 20:
                continue
            label = f"{t:.1f} s" if step < 1 else (f"{int(t) // 60}:{int(t) % 60:02d}" if t >= 60 else f"{t:.0f} s")
            p.drawLine(QPointF(x, h - AXIS_HEIGHT), QPointF(x, h - AXIS_HEIGHT + 4))
            p.drawText(QPointF(x + 3, h - 7), label)

    def _visible(self, on: float, off: float) -> bool:
        return off >= self.t0 and on <= self.t0 + self.view_seconds

    def _paint_reference(self, p: QPainter, take: Take, rh: float) -> None:
        if take.reference is None:
            return
        p.setPen(QPen(COLORS["ref_edge"], 1.5))
        p.setBrush(COLORS["ref"])
        for on, off, m in take.reference:
            if self._visible(on, off):
                x0 = self.x_of(on)
                p.drawRect(QRectF(x0, self.y_of(m) - rh / 2, max(2.0, self.x_of(off) - x0), rh))

    def _paint_exercise(self, p: QPainter, take: Take, rh: float) -> None:
        """The exercise's notes where the check expects them in the take, coloured by verdict."""
        r = take.check
        if r is None:
            return
        from svt_live.sight.check import SUNG_RIGHT

        for k, c in enumerate(r.notes):
            on = c.expected_s
            off = on + (c.offset - c.onset) * r.tempo_ratio
            if not self._visible(on, off):
                continue
            kind = ("target" if k >= take.settled else "target_ok" if c.status in SUNG_RIGHT
                    else "target_border" if c.status == "borderline" else "target_bad")
            p.setPen(QPen(COLORS[f"{kind}_edge"], 1.5))
            p.setBrush(COLORS[kind])
            x0 = self.x_of(on)
            p.drawRect(QRectF(x0, self.y_of(c.pitch + 12 * r.octave_shift) - rh / 2, max(2.0, self.x_of(off) - x0), rh))

    def _paint_contour(self, p: QPainter, take: Take) -> None:
        c = take.contour
        if not c.size:
            return
        fs = take.frame_seconds
        i0 = max(0, int(self.t0 / fs) - 1)
        i1 = min(c.size, int((self.t0 + self.view_seconds) / fs) + 2)
        stride = max(1, int(1.0 / (fs * self.px_per_s)))  # about one point per pixel
        idx = np.arange(i0, i1, stride)
        if not idx.size:
            return
        vals = c[idx]
        xs = KEY_WIDTH + (idx * fs - self.t0) * self.px_per_s
        ys = (self.pitch_hi + 0.5 - vals) * self._row_height()
        voiced = np.isfinite(vals)
        # runs of voiced frames, each drawn as one polyline
        edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.view(np.int8), [0]])))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # antialiased stroking costs ~10x
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(COLORS["contour"], 1))
        for a, b in zip(edges[::2], edges[1::2]):
            if b - a == 1:
                p.drawPoint(QPointF(xs[a], ys[a]))
            else:
                p.drawPolyline([QPointF(x, y) for x, y in zip(xs[a:b], ys[a:b])])
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)

    def _paint_notes(self, p: QPainter, take: Take, rh: float) -> None:
        sounding = take.sounding
        for n in take.notes:
            off = n.offset if n.offset is not None else take.stream_time
            if not self._visible(n.onset, off):
                continue
            lit = n is sounding
            p.setPen(QPen(COLORS["sounding_edge" if lit else "note_edge"], 1.5 if lit else 1))
            p.setBrush(COLORS["sounding" if lit else "note"])
            x0 = self.x_of(n.onset)
            y = self.y_of(n.shown_pitch) - 0.4 * rh
            p.drawRoundedRect(QRectF(x0, y, max(2.0, self.x_of(off) - x0), 0.8 * rh), 2, 2)

    def _paint_keyboard(self, p: QPainter, h: int, rh: float) -> None:
        p.fillRect(QRectF(0, 0, KEY_WIDTH, h - AXIS_HEIGHT), COLORS["white_key"])
        lit = self.take.sounding.pitch if self.take is not None and self.take.sounding else None
        size = int(np.clip(rh * 0.75, 6, 10))
        font = QFont(self.font().family(), 1)
        font.setPixelSize(size)
        p.setFont(font)
        label_all = rh >= 11
        for m in range(self.pitch_lo, self.pitch_hi + 1):
            y = self.y_of(m) - rh / 2
            black = m % 12 in BLACK
            if black:
                p.fillRect(QRectF(0, y, KEY_WIDTH * 0.62, rh), COLORS["key_lit"] if m == lit else COLORS["black_key"])
            else:
                if m == lit:
                    p.fillRect(QRectF(0, y, KEY_WIDTH, rh), COLORS["key_lit"])
                p.setPen(QPen(QColor("#b8b8b8"), 1))
                p.drawLine(QPointF(0, y + rh), QPointF(KEY_WIDTH, y + rh))
            if m % 12 == 0 or (label_all and not black):
                bold = QFont(font)
                bold.setBold(m % 12 == 0)
                p.setFont(bold)
                p.setPen(QColor("#202020"))
                p.drawText(QRectF(0, y, KEY_WIDTH - 3, rh),
                           Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, note_name(m))
        p.setPen(QPen(QColor("#888888"), 1))
        p.drawLine(QPointF(KEY_WIDTH - 0.5, 0), QPointF(KEY_WIDTH - 0.5, h - AXIS_HEIGHT))

    def _paint_legend(self, p: QPainter, w: int) -> None:
        items = [("notes", COLORS["note"], "box"), ("pitch", COLORS["contour"], "line")]
        if self.take is not None and self.take.reference is not None:
            items.append(("reference", COLORS["ref_edge"], "box"))
        if self.take is not None and self.take.exercise is not None:
            items += [("right", COLORS["target_ok_edge"], "box"), ("borderline", COLORS["target_border_edge"], "box"),
                      ("wrong", COLORS["target_bad_edge"], "box")]
        font = QFont(self.font().family(), 1)
        font.setPixelSize(11)
        p.setFont(font)
        x = w - 10 - 80 * len(items)
        p.fillRect(QRectF(x - 8, 6, 80 * len(items) + 10, 20), QColor(23, 25, 29, 200))
        for label, colour, kind in items:
            if kind == "box":
                p.fillRect(QRectF(x, 11, 12, 10), colour)
            else:
                p.setPen(QPen(colour, 2))
                p.drawLine(QPointF(x, 16), QPointF(x + 12, 16))
            p.setPen(COLORS["text"])
            p.drawText(QPointF(x + 17, 20), label)
            x += 80
