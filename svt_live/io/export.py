"""``svt_live.write``: notes to a file chosen by its extension (MusicXML lead sheet, MIDI, JSON, CSV, TXT).

The front door of the note-format table (:mod:`svt_live.io.annotations`).

Conventions: notes are the :class:`svt_live.Note` list that
:func:`svt_live.transcribe` returns, or ``(onset_s, offset_s, midi)`` rows.
The lead sheet and the MIDI file share one inference
(:func:`svt_live.theory.leadsheet.infer_lead_sheet`): ``None`` for ``bpm``,
``meter`` or ``key`` means inferred from the notes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from svt_live.io.annotations import WRITE_EXTENSIONS, note_format, write_notes
from svt_live.theory.grid import check_bpm, parse_meter
from svt_live.theory.key import Key, parse_key


def note_rows(notes) -> tuple[np.ndarray, np.ndarray | None]:
    """``(rows [n, 3] (onset_s, offset_s, midi), velocities [n] or None)`` from Notes or rows."""
    try:
        notes = list(notes) if not isinstance(notes, np.ndarray) else notes
    except TypeError:
        raise ValueError("notes need (onset_s, offset_s, midi) rows of numbers, or svt_live.Note objects") from None
    if len(notes) and hasattr(notes[0], "onset"):
        rows = np.array([[n.onset, n.offset, n.pitch] for n in notes], dtype=np.float64)
        return rows, np.array([n.velocity for n in notes], dtype=np.int64)
    try:
        rows = np.asarray(notes, dtype=np.float64) if len(notes) else np.zeros((0, 3))
    except (TypeError, ValueError):
        rows = None
    if rows is None or rows.ndim != 2 or rows.shape[1] != 3:
        raise ValueError("notes need (onset_s, offset_s, midi) rows of numbers, or svt_live.Note objects")
    if not np.isfinite(rows).all() or (rows[:, 1] < rows[:, 0]).any():
        raise ValueError("notes need finite (onset_s, offset_s, midi) rows with offset >= onset")
    return rows, None


def write(notes, path: str | Path, *, bpm: float | None = None, meter: tuple[int, int] | None = None,
          key: Key | str | None = None, tuning_cents: float = 0.0) -> None:
    """Write notes to ``path``: ``.musicxml`` (a lead sheet), ``.mid``, ``.json``, ``.csv`` or ``.txt``.

    Parameters
    ----------
    notes : list of svt_live.Note, or array_like, shape (n, 3)
        What :func:`svt_live.transcribe` returns, or ``(onset_s, offset_s, midi)`` rows.
    path : str or pathlib.Path
        Output file; its extension picks the format. Written atomically.
    bpm : float, optional
        Quarter notes per minute, held constant (``None``: the tempo is inferred and
        may drift; MIDI files then carry the tempo map).
    meter : (int, int) or str, optional
        Time signature such as ``(3, 4)`` or ``"6/8"`` (``None``: inferred).
    key : svt_live.theory.key.Key or str, optional
        Key such as ``"F major"``, ``"D minor"``, ``"Bb"`` or ``"F#m"`` (``None``: inferred).
    tuning_cents : float
        Tuning the pitches are rounded against (:mod:`svt_live.theory.tuning`).

    Raises
    ------
    ValueError
        An unknown extension, rows that are not ``(onset_s, offset_s, midi)``, a
        tempo outside 20-400, a meter or key that cannot be read; nothing is written.
    OSError
        The file cannot be written (naming ``path``).

    Examples
    --------
    >>> import os, tempfile, music21
    >>> import svt_live
    >>> beat = 0.6  # four bars of 3/4 at 100 BPM, G major
    >>> tune = [(67, 2), (71, 1), (74, 2), (71, 1), (72, 1), (74, 1), (76, 1), (74, 3)]
    >>> rows, t = [], 0.5
    >>> for midi, beats in tune:
    ...     rows.append([t, t + beats * beat * 0.85, midi]); t += beats * beat
    >>> path = os.path.join(tempfile.mkdtemp(), "waltz.musicxml")
    >>> svt_live.write(rows, path)
    >>> part = music21.converter.parse(path).parts[0]
    >>> part.recurse().getElementsByClass("TimeSignature")[0].ratioString, part.partName
    ('3/4', 'Voice')
    >>> [n.nameWithOctave for n in part.recurse().notes][:3]
    ['G4', 'B4', 'D5']
    """
    path = Path(path)
    try:
        fmt = note_format(path, writing=True)
    except ValueError:
        known = ", ".join(WRITE_EXTENSIONS)
        raise ValueError(f"cannot tell the format of {path.name!r}: give one of {known}") from None
    rows, velocities = note_rows(notes)
    if isinstance(key, str):
        key = parse_key(key)
    if isinstance(meter, str):
        meter = parse_meter(meter)
    if bpm is not None:
        bpm = check_bpm(bpm)
    sheet = None
    if fmt.name in ("MIDI", "MusicXML"):
        from svt_live.theory.leadsheet import infer_lead_sheet
        sheet = infer_lead_sheet(rows, bpm=bpm, meter=meter, key=key, tuning_cents=tuning_cents)
    write_notes(path, rows, velocities, name=path.stem, sheet=sheet, midi_options={"tuning_cents": tuning_cents})
