"""Read and write note annotations in the formats singing datasets use.

Readers return notes ``[n, 3]`` (onset s, offset s, MIDI) validated by
:func:`svt_live.notes.validate_notes`. Supported:

- MIR-ST500 JSON ``{"<song id>": [[on, off, midi], ...], ...}`` (also a bare list)
- SSVD ``.txt``: ``onset<TAB>offset<TAB>midi`` per line
- vocadito ``.csv``: ``onset,frequency_hz,duration`` per line, no header
- MIDI files (``.mid``/``.midi``): every note of every voice (:func:`svt_live.io.midifile.read_midi`)
- svt-live ``.csv`` as written by :func:`write_csv` (header ``onset,offset,midi``)

Text files may start with a UTF-8 byte order mark (spreadsheet programs
write one) and a header line (a line with no numbers: ``onset, offset,
midi`` with or without spaces); any other line that is not numbers is an
error, never skipped. A file that cannot be read is a
:class:`~svt_live.notes.NoteError`, as is JSON nested too deeply.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from svt_live.io.midifile import load_midi_notes
from svt_live.io.outputs import atomic_write
from svt_live.notes import NoteError, validate_notes
from svt_live.theory.tuning import hz_to_midi


def _read_text(path: Path) -> str:
    if not path.exists():
        raise NoteError(f"{path}: no such annotation file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except (UnicodeDecodeError, OSError) as exc:
        raise NoteError(f"{path}: cannot read as text ({exc})") from None


def load_json_notes(path: str | Path) -> dict[str, np.ndarray]:
    """All songs of a MIR-ST500-style JSON: ``{song_id: notes [n, 3]}``.

    A bare list of notes is returned under the file's stem.
    """
    path = Path(path)
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NoteError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno})") from None
    except (RecursionError, ValueError) as exc:  # nesting deeper than Python's stack; integers of 4300+ digits
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]
        raise NoteError(f"{path}: malformed JSON ({why})") from None
    if isinstance(data, list):
        data = {path.stem: data}
    if not isinstance(data, dict):
        raise NoteError(f"{path}: expected an object {{song_id: [[onset, offset, midi], ...]}}")
    return {str(k): validate_notes(v, source=f"{path}[{k}]")[0] for k, v in data.items()}


def pick_song(songs: dict, song_id: str | None = None, audio: str | Path | None = None) -> str | None:
    """Which song of a MIR-ST500 JSON is meant: its id, or ``None`` when none fits.

    Parameters
    ----------
    songs : dict
        ``{song_id: notes}`` as :func:`load_json_notes` returns.
    song_id : str, optional
        The id asked for: that song, or ``None`` when the file lacks it.
    audio : str or Path, optional
        Without ``song_id``, the audio file the notes are for: its folder's
        name (the MIR-ST500 layout ``<id>/Mixture.mp3``), then its stem, when
        the file holds that song.

    Returns
    -------
    str or None
        ``song_id``; else the only song of a one-song file; else the audio's
        song; else ``None``.

    Examples
    --------
    >>> songs = {"65": [], "66": []}
    >>> pick_song(songs, "65"), pick_song(songs, "404"), pick_song(songs)
    ('65', None, None)
    >>> pick_song(songs, audio="mir_st500/test/66/Mixture.mp3")
    '66'
    """
    if song_id is not None:
        return str(song_id) if str(song_id) in songs else None
    if len(songs) == 1:
        return next(iter(songs))
    if audio is not None:
        audio = Path(audio).resolve()
        return next((key for key in (audio.parent.name, audio.stem) if key in songs), None)
    return None


def _numbers(parts: list[str]) -> list[float] | None:
    """The fields as floats, or None when any is not a number."""
    try:
        return [float(p) for p in parts]
    except ValueError:
        return None


def _rows(path: Path, sep: str | None) -> list[list[float]]:
    """Number rows of a text file; blank and ``#`` lines skipped, and a first line without any number
    (a header) too."""
    rows, first = [], True
    for i, line in enumerate(_read_text(path).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(sep) if sep else line.split()
        row = _numbers(parts)
        if row is None and not (first and all(_numbers([p]) is None for p in parts)):
            raise NoteError(f"{path}:{i}: not numbers: {line!r}")
        first = False
        if row is not None:
            rows.append(row)
    return rows


def load_ssvd_txt(path: str | Path) -> np.ndarray:
    """SSVD ``onset<TAB>offset<TAB>midi`` lines -> notes ``[n, 3]``."""
    path = Path(path)
    rows = _rows(path, None)
    if any(len(r) != 3 for r in rows):
        raise NoteError(f"{path}: each line must be onset, offset, midi")
    return validate_notes(rows, source=str(path))[0]


def load_vocadito_csv(path: str | Path) -> np.ndarray:
    """vocadito ``onset,frequency_hz,duration`` lines -> notes ``[n, 3]``."""
    path = Path(path)
    rows = _rows(path, ",")
    if any(len(r) != 3 for r in rows):
        raise NoteError(f"{path}: each line must be onset, frequency_hz, duration")
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    notes = np.stack([arr[:, 0], arr[:, 0] + arr[:, 2], hz_to_midi(arr[:, 1])], axis=1)
    return validate_notes(notes, source=str(path))[0]


def load_notes(path: str | Path, song_id: str | None = None) -> np.ndarray:
    """Reference notes from any supported file, chosen by extension.

    For a MIR-ST500 JSON holding several songs, ``song_id`` picks one; it is
    required unless the file holds exactly one song.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".json":
        songs = load_json_notes(path)
        key = pick_song(songs, song_id)
        if key is None:
            raise NoteError(f"{path}: holds {len(songs)} songs; say which with a song id" if song_id is None
                            else f"{path}: no song with id {song_id!r}")
        return songs[key]
    if ext == ".txt":
        return load_ssvd_txt(path)
    if ext == ".csv":
        head = "".join(_read_text(path).lstrip().split("\n", 1)[0].lower().split())
        return load_svt_csv(path) if head.startswith("onset,offset") else load_vocadito_csv(path)
    if ext in (".mid", ".midi"):
        return load_midi_notes(path)
    raise NoteError(f"{path}: unknown annotation format {ext!r} (use .json, .txt, .csv or .mid)")


def load_svt_csv(path: str | Path) -> np.ndarray:
    """svt-live CSV (header ``onset,offset,midi``) -> notes ``[n, 3]``."""
    path = Path(path)
    rows = _rows(path, ",")
    if any(len(r) < 3 for r in rows):
        raise NoteError(f"{path}: each line must be onset, offset, midi")
    return validate_notes([r[:3] for r in rows], source=str(path))[0]


def notes_to_rows(notes: np.ndarray) -> list[list[float]]:
    """Notes ``[n, 3]`` -> JSON-friendly rows, times rounded to 0.1 ms, pitch to 0.01."""
    return [[round(float(a), 4), round(float(b), 4), round(float(p), 2)] for a, b, p in notes]


def write_json(path: str | Path, songs: dict[str, np.ndarray]) -> None:
    """Write ``{song_id: notes}`` in the MIR-ST500 JSON format."""
    payload = json.dumps({k: notes_to_rows(v) for k, v in songs.items()}, indent=1)
    atomic_write(path, lambda tmp: Path(tmp).write_text(payload + "\n"))


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads a cell starting so as a formula


def csv_cell(value):
    """A CSV cell a spreadsheet shows as text: a string starting with ``= + - @``, a tab or a carriage
    return gets a leading ``'`` (OWASP's advice against CSV formula injection); numbers as they are.

    >>> csv_cell("=HYPERLINK(1)"), csv_cell("song"), csv_cell(-1.5)
    ("'=HYPERLINK(1)", 'song', -1.5)
    """
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def write_csv_rows(path: str | Path, header: list[str], rows) -> None:
    """The one CSV writer: ``header``, then ``rows`` with every cell through :func:`csv_cell`."""
    def write(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows([csv_cell(c) for c in row] for row in rows)
    atomic_write(path, write)


def write_csv(path: str | Path, notes: np.ndarray) -> None:
    """Write notes as CSV with header ``onset,offset,midi``."""
    write_csv_rows(path, ["onset", "offset", "midi"], notes_to_rows(notes))


def write_csv_table(path: str | Path, songs: dict) -> None:
    """Several inputs' notes as one CSV: header ``file,onset,offset,midi``, one row per note.

    ``songs``: ``{song id: notes [n, 3]}``; times rounded to 0.1 ms, pitch to 0.01; a song id
    that a spreadsheet would run as a formula is written as text (:func:`csv_cell`).
    """
    write_csv_rows(path, ["file", "onset", "offset", "midi"],
                   ([key, *row] for key, notes in songs.items() for row in notes_to_rows(notes)))
