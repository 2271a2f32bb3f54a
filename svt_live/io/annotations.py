"""Note files: one home per format, each with one reader and one writer, in one table.

:data:`FORMATS` is the table; :func:`load_notes` reads and :func:`write_notes`
writes any of its formats, chosen by the file's extension. The command line
(``--eval``, ``--json``, ``--midi-file``, ``--musicxml``), live takes,
svt-gui, training data and exercises all read and write notes through it, and
:func:`svt_live.write` is its front door in the Python API.

============ =================== ======================================== =========================================
format       extensions          read                                     written
============ =================== ======================================== =========================================
JSON         .json               MIR-ST500 ``{"<song id>": [[on, off,     ``{name: [[on, off, midi], ...]}``
                                 midi], ...]}``, or a bare list
CSV          .csv                svt-live (header ``onset,offset,midi``)  header ``onset,offset,midi``
                                 or vocadito (``onset,frequency_hz,
                                 duration``, no header)
TXT          .txt                SSVD ``onset<TAB>offset<TAB>midi``       the same
MIDI         .mid .midi          every note of every voice                one track; tempo map and key from the
                                 (:mod:`svt_live.io.midifile`)            lead sheet when one is given
MusicXML     .musicxml .xml .mxl every note of every part, in seconds at  the lead sheet (``.mxl`` is read only;
                                 the score's tempo (:mod:`~.musicxml`)    inferred when none is given)
============ =================== ======================================== =========================================

Readers return notes ``[n, 3]`` (onset s, offset s, MIDI) validated by
:func:`svt_live.notes.validate_notes`; writers round times to 0.1 ms and
pitches to 0.01 semitone in the text formats and write through
:mod:`svt_live.io.outputs` (atomically, special files written into).

Text files may start with a UTF-8 byte order mark (spreadsheet programs
write one) and a header line (a line with no numbers: ``onset, offset,
midi`` with or without spaces); any other line that is not numbers is an
error, never skipped. A file that cannot be read is a
:class:`~svt_live.notes.NoteError`, as is JSON nested too deeply.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from svt_live.io.midifile import MIDI_EXTENSIONS, load_midi_notes, write_midi_file
from svt_live.io.musicxml import MUSICXML_EXTENSIONS, load_musicxml_notes, write_lead_sheet_score
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


def write_txt(path: str | Path, notes: np.ndarray) -> None:
    """Write notes as SSVD-style text: ``onset<TAB>offset<TAB>midi`` per line, no header."""
    text = "".join(f"{a}\t{b}\t{p}\n" for a, b, p in notes_to_rows(notes))
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


# ---------------------------------------------------------------- the table


def _read_json(path: Path, song_id: str | None) -> np.ndarray:
    songs = load_json_notes(path)
    key = pick_song(songs, song_id)
    if key is None:
        raise NoteError(f"{path}: holds {len(songs)} songs; say which with a song id" if song_id is None
                        else f"{path}: no song with id {song_id!r}")
    return songs[key]


def _read_csv(path: Path, song_id: str | None) -> np.ndarray:
    head = "".join(_read_text(path).lstrip().split("\n", 1)[0].lower().split())
    return load_svt_csv(path) if head.startswith("onset,offset") else load_vocadito_csv(path)


def _write_json(path, notes, *, name, **_):
    write_json(path, {name: notes})


def _write_csv(path, notes, **_):
    write_csv(path, notes)


def _write_txt(path, notes, **_):
    write_txt(path, notes)


def _write_midi(path, notes, *, velocities, sheet, midi_options, **_):
    options = dict(midi_options or {})
    if sheet is not None:
        options.setdefault("key", sheet.key)
        options.setdefault("rhythm", sheet.rhythm)
    write_midi_file(path, notes, velocities, **options)


def _write_musicxml(path, notes, *, name, title, sheet, **_):
    if sheet is None:
        from svt_live.theory.leadsheet import infer_lead_sheet
        sheet = infer_lead_sheet(notes)
    write_lead_sheet_score(path, sheet, title=name if title is None else title)


@dataclass(frozen=True)
class NoteFormat:
    """One row of :data:`FORMATS`: the format's ``name``, its ``extensions`` (the first is the usual
    one), ``writable`` extensions, ``read(path, song_id)`` and ``write(path, notes, **what)``."""

    name: str
    extensions: tuple[str, ...]
    read: Callable[[Path, str | None], np.ndarray]
    write: Callable[..., None]
    writable: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.writable:
            object.__setattr__(self, "writable", self.extensions)


FORMATS: tuple[NoteFormat, ...] = (
    NoteFormat("JSON", (".json",), _read_json, _write_json),
    NoteFormat("CSV", (".csv",), _read_csv, _write_csv),
    NoteFormat("TXT", (".txt",), lambda path, song_id: load_ssvd_txt(path), _write_txt),
    NoteFormat("MIDI", MIDI_EXTENSIONS, lambda path, song_id: load_midi_notes(path), _write_midi),
    NoteFormat("MusicXML", MUSICXML_EXTENSIONS, lambda path, song_id: load_musicxml_notes(path), _write_musicxml,
               writable=(".musicxml", ".xml")),
)
READ_EXTENSIONS = tuple(ext for f in FORMATS for ext in f.extensions)
WRITE_EXTENSIONS = tuple(ext for f in FORMATS for ext in f.writable)
# the names an annotation beside an audio file may have, in the order they are looked for (a .xml
# beside a song is more often something else than its notes)
ANNOTATION_EXTENSIONS = tuple(ext for f in FORMATS if f.name != "MusicXML" for ext in f.extensions)


def note_format(path: str | Path, *, writing: bool = False) -> NoteFormat:
    """The :data:`FORMATS` row for ``path``'s extension; :class:`~svt_live.notes.NoteError` (a
    ``ValueError``) naming the extensions there are when none fits.

    >>> note_format("take.MID").name, note_format("song.mxl").name
    ('MIDI', 'MusicXML')
    """
    ext = Path(path).suffix.lower()
    for f in FORMATS:
        if ext in (f.writable if writing else f.extensions):
            return f
    known = WRITE_EXTENSIONS if writing else READ_EXTENSIONS
    raise NoteError(f"{path}: unknown note file format {ext or '(no extension)'!r} "
                    f"(use {', '.join(known)})")


def load_notes(path: str | Path, song_id: str | None = None) -> np.ndarray:
    """Notes from any file of :data:`FORMATS`, chosen by extension.

    For a MIR-ST500 JSON holding several songs, ``song_id`` picks one; it is
    required unless the file holds exactly one song. Raises
    :class:`~svt_live.notes.NoteError` (one line) for an unknown extension or a
    file that cannot be read.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "take.txt")
    >>> write_notes(path, [[0.5, 1.0, 60.0], [1.0, 1.5, 62.25]])
    'TXT'
    >>> load_notes(path).tolist()
    [[0.5, 1.0, 60.0], [1.0, 1.5, 62.25]]
    """
    path = Path(path)
    return note_format(path).read(path, song_id)


def write_notes(path: str | Path, notes, velocities=None, *, fmt: str | None = None, name: str = "notes",
                title: str | None = None, sheet=None, midi_options: dict | None = None) -> str:
    """Write notes to ``path`` in format ``fmt``, or the one its extension names; returns the format's name.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file (:data:`WRITE_EXTENSIONS`); written atomically, a special file written into.
    notes : array_like, shape (n, 3)
        ``(onset_s, offset_s, midi)`` rows.
    fmt : str, optional
        A :data:`FORMATS` name (``"JSON"``, ``"CSV"``, ``"TXT"``, ``"MIDI"``, ``"MusicXML"``) whatever
        the extension (``--json notes.out``); ``None``: chosen by the extension.
    velocities : array_like of int, optional
        MIDI velocities, one a note (MIDI files; 80 when not given).
    name : str
        The song's id in a JSON file, and a lead sheet's title unless ``title`` is given.
    sheet : svt_live.theory.leadsheet.LeadSheet, optional
        The notes' lead sheet: a MIDI file takes its tempo map and key, MusicXML is it
        (inferred from the notes when not given; a MIDI file is then on a 120 BPM grid).
    midi_options : dict, optional
        More options of :func:`svt_live.io.midifile.notes_to_midi` (``pitch_bends``,
        ``contours``, ``division``, ``tuning_cents``).

    Raises
    ------
    NoteError
        An extension no format writes (without ``fmt``), or an unknown ``fmt``.
    OSError
        The file cannot be written, or music21 cannot notate the notes (naming ``path``).
    """
    if fmt is None:
        row = note_format(path, writing=True)
    else:
        row = next((f for f in FORMATS if f.name == fmt), None)
        if row is None:
            raise NoteError(f"unknown note format {fmt!r} (one of {', '.join(f.name for f in FORMATS)})")
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 3)
    row.write(path, notes, velocities=velocities, name=name, title=title, sheet=sheet, midi_options=midi_options)
    return row.name
