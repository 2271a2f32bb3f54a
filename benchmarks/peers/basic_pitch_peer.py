"""basic-pitch (Spotify, ICASSP 2022) through its ONNX model, plus a
monophonic reduction of its output.

:func:`transcribe` calls the installed ``basic_pitch`` package with its
default settings (onset 0.5, frame 0.3, min note 127.7 ms, melodia trick on)
but always the ONNX model file the wheel ships (no TensorFlow needed).
:func:`monophonic` is pure numpy and keeps, at every instant, only the
strongest sounding note.
"""
from __future__ import annotations

import contextlib
import io
import logging

import numpy as np

_MODEL = None


def _model():
    """The basic-pitch ONNX model, loaded once (imports basic_pitch lazily)."""
    global _MODEL
    if _MODEL is None:
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # its import warns about every backend it lacks
        try:
            from basic_pitch import FilenameSuffix, build_icassp_2022_model_path
            from basic_pitch.inference import Model
        finally:
            root.setLevel(level)
        _MODEL = Model(build_icassp_2022_model_path(FilenameSuffix.onnx))
    return _MODEL


def transcribe(audio_path) -> np.ndarray:
    """Notes ``[n, 4]`` (onset s, offset s, MIDI integer, amplitude 0..1) for one file, sorted by onset.

    basic-pitch decodes the file itself (librosa, 22.05 kHz mono). The
    amplitude is its mean frame activation over the note: its confidence.
    """
    from basic_pitch.inference import predict

    with contextlib.redirect_stdout(io.StringIO()):  # it prints a line per file
        _, _, events = predict(str(audio_path), _model())
    rows = [(on, off, pitch, amp) for on, off, pitch, amp, _bends in events]
    notes = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    return notes[np.lexsort((notes[:, 2], notes[:, 0]))]


def _free_pieces(on: float, off: float, taken: list) -> list:
    """Parts of ``[on, off)`` not covered by the intervals in ``taken`` (list of (on, off))."""
    pieces, start = [], on
    for t_on, t_off in sorted(taken):
        if t_off <= start or t_on >= off:
            continue
        if t_on > start:
            pieces.append((start, t_on))
        start = max(start, t_off)
        if start >= off:
            break
    if start < off:
        pieces.append((start, off))
    return pieces


def monophonic(notes: np.ndarray, min_duration: float = 0.05) -> np.ndarray:
    """Reduce polyphonic notes ``[n, 4]`` (onset s, offset s, MIDI, amplitude) to a melody ``[m, 3]``.

    Notes are taken strongest first; each keeps only the time no stronger
    note already holds. A note whose onset is free keeps its first free piece
    (it is trimmed where a stronger note starts); a note whose onset is
    taken by a stronger one is dropped, since any piece left of it would
    start with an onset that was never sung. Pieces shorter than
    ``min_duration`` seconds are dropped. Returns notes sorted by onset.
    """
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 4)
    taken, kept = [], []
    for on, off, pitch, _amp in notes[np.argsort(-notes[:, 3], kind="stable")]:
        pieces = _free_pieces(on, off, taken)
        if not pieces or pieces[0][0] > on:
            continue
        start, end = pieces[0]
        if end - start >= min_duration:
            taken.append((start, end))
            kept.append((start, end, pitch))
    out = np.asarray(kept, dtype=np.float64).reshape(-1, 3)
    return out[np.argsort(out[:, 0], kind="stable")]
