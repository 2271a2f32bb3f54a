"""The MIDI area's playing aids: scale snapping and hold for the live port (:mod:`svt_live.engine.playaids`).

Settings: ``midi/scale`` (``'D:minor'`` as ``svt-live --scale`` takes it, or ``'off'``) and
``midi/hold_ms`` (0 = off).
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from svt_live.engine.playaids import PortAids
from svt_live.theory.key import MAJOR_NAMES
from svt_live.theory.scale import MODES, parse_scale

from .settings import stored_value

MAX_HOLD_MS = 2000  # as svt-live --hold-ms


class PortAidsBar(QWidget):
    """Scale (tonic and mode, ``off`` first) and hold (ms) of the live MIDI port; ``changed`` on any edit."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.tonic_combo = QComboBox(toolTip="Tonic of the scale the port's notes snap to")
        for pc, name in enumerate(MAJOR_NAMES):
            self.tonic_combo.addItem(name, pc)
        self.mode_combo = QComboBox(toolTip="Snap the MIDI port's notes to this scale (the take keeps what was "
                                    "sung); an exact tie goes the way the melody went")
        self.mode_combo.addItem("no scale", "off")
        for mode in MODES:
            if mode != "chromatic":
                self.mode_combo.addItem(mode, mode)
        self.hold_spin = QSpinBox(minimum=0, maximum=MAX_HOLD_MS, singleStep=10, suffix=" ms",
                                  specialValueText="no hold",
                                  toolTip="Keep a port note sounding through a gap in the voice when the next "
                                          "note has the same number within this time")
        for w in (QLabel("Scale:"), self.tonic_combo, self.mode_combo, QLabel("Hold:"), self.hold_spin):
            row.addWidget(w)
        self.mode_combo.currentIndexChanged.connect(self._mode_changed)
        self.tonic_combo.currentIndexChanged.connect(lambda _: self.changed.emit())
        self.hold_spin.valueChanged.connect(lambda _: self.changed.emit())
        self._mode_changed()

    def _mode_changed(self, *_) -> None:
        self.tonic_combo.setEnabled(self.mode_combo.currentData() != "off")
        self.changed.emit()

    @property
    def scale_text(self) -> str:
        """The scale as ``svt-live --scale`` takes it (``'D:minor'``) or ``'off'``."""
        mode = self.mode_combo.currentData()
        return "off" if mode == "off" else f"{MAJOR_NAMES[self.tonic_combo.currentData()]}:{mode}"

    def set_scale(self, text: str) -> None:
        """Show ``text`` (as :attr:`scale_text`); raises ValueError for a scale :func:`parse_scale` refuses."""
        scale = parse_scale(text)
        if scale is None:
            self.mode_combo.setCurrentIndex(0)
            return
        self.tonic_combo.setCurrentIndex(scale.tonic)
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(scale.mode))

    def aids(self) -> PortAids:
        """The port's aids as chosen."""
        return PortAids(parse_scale(self.scale_text), self.hold_spin.value() / 1000.0)

    def restore(self, settings) -> None:
        """The stored choices (an unusable one is ignored with a warning, as :func:`stored_value` does)."""
        def usable(text: str) -> bool:
            try:
                parse_scale(text)
            except ValueError:
                return False
            return True
        self.set_scale(stored_value(settings, "midi/scale", "off", str, usable))
        self.hold_spin.setValue(int(stored_value(settings, "midi/hold_ms", 0.0, float,
                                                 lambda v: 0 <= v <= MAX_HOLD_MS)))

    def save(self, settings) -> None:
        settings.setValue("midi/scale", self.scale_text)
        settings.setValue("midi/hold_ms", self.hold_spin.value())
