"""Tempo, meter and grid: note times in seconds <-> beats, and quantization onto a grid.

Conventions: a beat is a quarter note; ``bpm`` quarter notes per minute; a
grid ``division`` of 8 means eighth notes (1/8), 16 sixteenths, 32
thirty-seconds; a meter is ``(numerator, denominator)`` such as ``(4, 4)``
or ``(6, 8)``. Notes are ``(onset_s, offset_s, midi)`` rows sorted by onset
(:mod:`svt_live.notes`).
"""
from __future__ import annotations

import math
import re

import numpy as np

DEFAULT_BPM = 120.0
DEFAULT_METER = (4, 4)
DIVISIONS = (4, 8, 16, 32)
MAX_BAR_QUARTERS = 32  # longest bar; MusicXML (music21) cannot notate a bar's rest past 64 quarter notes


def parse_meter(text: str) -> tuple[int, int]:
    """``'4/4'`` -> ``(4, 4)``; a clear :class:`ValueError` for anything else.

    >>> parse_meter("6/8")
    (6, 8)
    """
    m = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{1,2})\s*", text)
    if not m or int(m[1]) < 1 or int(m[2]) not in (1, 2, 4, 8, 16, 32):
        raise ValueError(f"--meter takes beats/unit such as 4/4, 3/4 or 6/8, got {text!r}")
    if int(m[1]) * 4 / int(m[2]) > MAX_BAR_QUARTERS:
        raise ValueError(f"--meter {m[1]}/{m[2]}: a bar holds at most {MAX_BAR_QUARTERS} quarter notes "
                         f"(such as {MAX_BAR_QUARTERS}/4 or {2 * MAX_BAR_QUARTERS}/8)")
    return int(m[1]), int(m[2])


def parse_division(text: str) -> int:
    """``'1/16'`` (or ``'16'``) -> 16; the grids are 1/4, 1/8, 1/16 and 1/32.

    >>> parse_division("1/8"), parse_division("32")
    (8, 32)
    """
    m = re.fullmatch(r"\s*(?:1\s*/\s*)?(\d{1,2})\s*", text)
    if not m or int(m[1]) not in DIVISIONS:
        raise ValueError(f"--quantize takes 1/4, 1/8, 1/16 or 1/32, got {text!r}")
    return int(m[1])


def check_bpm(bpm: float) -> float:
    """A usable tempo (20-400 quarter notes per minute) or :class:`ValueError`."""
    if not (isinstance(bpm, (int, float)) and math.isfinite(bpm) and 20 <= bpm <= 400):
        raise ValueError(f"--bpm must be between 20 and 400, got {bpm}")
    return float(bpm)


def grid_seconds(bpm: float, division: int) -> float:
    """Length of one grid step in seconds.

    >>> grid_seconds(120, 16)
    0.125
    """
    return 60.0 / check_bpm(bpm) * 4.0 / division


def quantize_notes(notes, bpm: float, division: int, return_index: bool = False):
    """Snap note onsets and offsets to the nearest grid step.

    Every note keeps at least one step; a note whose snapped onset falls on
    or before the previous note's is dropped (a monophonic line cannot hold
    both), and a note is cut where the next one starts.

    Parameters
    ----------
    notes : array_like, shape (n, 3)
        ``(onset_s, offset_s, midi)`` rows sorted by onset.
    bpm : float
        Tempo, quarter notes per minute.
    division : int
        Grid: 8 for eighth notes, 16 for sixteenths...

    return_index : bool
        Also return which input notes were kept.

    Returns
    -------
    numpy.ndarray, shape (m, 3)
        Quantized notes, ``m <= n``, times exact multiples of the step (s).
    numpy.ndarray of int, shape (m,)
        Only with ``return_index``: the input row of each quantized note.

    Examples
    --------
    >>> quantize_notes([[0.02, 0.4, 60.2], [0.49, 0.61, 62.0], [0.52, 0.9, 64.0]], 120, 8).tolist()
    [[0.0, 0.5, 60.2], [0.5, 1.0, 64.0]]
    """
    step = grid_seconds(bpm, division)
    arr = np.asarray(notes, dtype=np.float64).reshape(-1, 3)
    out: list[list[float]] = []
    for i, (on, off, p) in enumerate(arr):
        a = round(on / step)
        b = max(a + 1, round(off / step))
        if out and a <= round(out[-1][0] / step):
            if off - on > out[-1][4]:  # the longer sung note keeps the step
                out[-1] = [a * step, b * step, p, i, off - on]
            continue
        if out and round(out[-1][1] / step) > a:
            out[-1][1] = a * step
        out.append([a * step, b * step, p, i, off - on])
    q = np.asarray([r[:3] for r in out], dtype=np.float64).reshape(-1, 3)
    return (q, np.asarray([r[3] for r in out], dtype=np.int64)) if return_index else q
