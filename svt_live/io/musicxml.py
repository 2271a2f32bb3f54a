"""MusicXML: lead sheets from notes, and the notes of a score (music21, imported only when used).

Conventions: notes are ``(onset_s, offset_s, midi)`` rows, or already
placed in quarter notes (:func:`score_from_positions`, what
:mod:`svt_live.theory.leadsheet` infers from the performance). The score has one
part named "Voice": measures follow the meter (a first bar may be a pickup),
notes that cross a barline are tied, gaps become rests, beams group by beat.
Note numbers are rounded against the tuning (:mod:`svt_live.theory.tuning`) and
spelled in the key by scale degree and melodic direction
(:func:`svt_live.theory.key.spell`); accidentals are written only where the key
signature (or an earlier note in the bar) doesn't already say them.
:func:`notes_to_score` is the fixed grid: ``bpm`` from second 0, notes
quantized to ``division`` (:func:`svt_live.theory.grid.quantize_notes`).

Reading (:func:`read_musicxml`): each part's notes in seconds at the score's
tempo (ties joined, tempo changes followed, grace notes left out, every pitch
of a chord), its first tempo and beats per bar. A file that would inflate past
``MAX_XML_BYTES`` (an ``.mxl`` by the sizes its zip declares) is refused before
music21 reads it, and the XML itself is parsed, never a cached pickle.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from svt_live.io.outputs import write_bytes
from svt_live.notes import NoteError, validate_notes
from svt_live.theory.grid import DEFAULT_BPM, DEFAULT_METER, check_bpm, quantize_notes
from svt_live.theory.key import Key
from svt_live.theory.leadsheet import LeadSheet
from svt_live.theory.tuning import round_to_tuning

SCORE_DIVISION = 16  # the grid of a score when none is asked for
PART_NAME = "Voice"
MUSICXML_EXTENSIONS = (".musicxml", ".xml", ".mxl")  # .mxl: compressed, read only
MAX_XML_BYTES = 20_000_000  # MusicXML read into music21's tree costs about 20 times its size


def _music21_key(key: Key):
    from music21 import key as m21key

    tonic = key.name.split()[0].replace("b", "-")
    return m21key.Key(tonic if key.mode == "major" else tonic.lower())


STEP_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def _pitch(number: int, step: str, alter: int):
    """A music21 pitch of MIDI ``number`` spelled ``step`` + ``alter`` semitones."""
    from music21 import pitch

    p = pitch.Pitch(step)
    if alter:
        p.accidental = pitch.Accidental(alter)
    p.octave = (number - alter - STEP_PC[step]) // 12 - 1
    return p


def score_from_positions(onset_q, offset_q, numbers, *, meter: tuple[int, int], qpm: float,
                         key: Key | None = None, pickup_q: float = 0.0, title: str = ""):
    """Notes placed in quarter notes -> a music21 ``Score``: one "Voice" part in measures, notes spelled
    in the key (:func:`svt_live.theory.key.spell`), accidentals only where the signature doesn't cover a note,
    ties across barlines, beams by beat.

    Parameters
    ----------
    onset_q, offset_q : array_like, shape (n,)
        Start and end of each note in quarter notes from the first bar's downbeat, increasing.
    numbers : array_like of int, shape (n,)
        MIDI note numbers.
    meter : (int, int)
        Time signature.
    qpm : float
        Tempo mark, quarter notes per minute.
    key : svt_live.theory.key.Key, optional
        Key signature and spelling (C major when ``None``).
    pickup_q : float
        Quarter notes missing from the first bar (a pickup bar; 0 for none).
    title : str
        Score title (``"svt-live transcription"`` when empty).

    Returns
    -------
    music21.stream.Score
    """
    from music21 import clef, metadata, note, stream, tempo
    from music21 import meter as m21meter
    from music21.stream import makeNotation

    from svt_live.theory.key import spell

    numbers = np.clip(np.asarray(numbers, dtype=np.int64).reshape(-1), 0, 127)
    ts = m21meter.TimeSignature(f"{meter[0]}/{meter[1]}")
    bar = float(ts.barDuration.quarterLength)
    part = stream.Part()
    part.partName = PART_NAME
    part.insert(0, ts)
    part.insert(0, _music21_key(key or Key(0, "major")))
    beat_q = float(ts.beatDuration.quarterLength)
    referent = note.Note(quarterLength=beat_q) if beat_q != 1 else note.Note(type="quarter")
    part.insert(0, tempo.MetronomeMark(number=round(qpm / beat_q, 1), referent=referent))
    for on, off, number, (step, alter) in zip(onset_q, offset_q, numbers, spell(numbers, key)):
        n = note.Note()
        n.pitch = _pitch(int(number), step, alter)
        n.quarterLength = round(float(off - on), 6)
        part.insert(round(float(on), 6), n)
    part.insert(0, clef.bestClef(part, allowTreble8vb=True))
    end = part.highestTime
    if end % bar or not end:  # rests fill the last bar
        part.insert(end, note.Rest(quarterLength=bar - end % bar))
    part.makeRests(fillGaps=True, inPlace=True)
    measured = part.makeMeasures()
    measured.partName = PART_NAME
    measured.makeTies(inPlace=True)
    measures = list(measured.getElementsByClass("Measure"))
    if pickup_q > 0 and measures:
        _make_pickup(measured, measures, pickup_q)
    measured.splitAtDurations(recurse=True)  # 1.25 beats -> a quarter tied to a sixteenth
    makeNotation.makeAccidentalsInMeasureStream(measured, useKeySignature=True, cautionaryNotImmediateRepeat=False)
    makeNotation.makeBeams(measured, inPlace=True)
    score = stream.Score()
    score.metadata = metadata.Metadata(title=title or "svt-live transcription")
    score.metadata.addContributor(metadata.Contributor(role="transcriber", name="svt-live"))
    score.insert(0, measured)
    return score


def _make_pickup(part, measures, pickup_q: float) -> None:
    """Turn the first bar's leading ``pickup_q`` quarter notes of rest into a pickup (anacrusis) bar."""
    from music21.stream.enums import ShowNumber

    first = measures[0]
    for r in list(first.getElementsByClass("Rest")):
        if r.offset < pickup_q:
            first.remove(r)
    for el in list(first.notes):
        first.setElementOffset(el, el.offset - pickup_q)
    first.paddingLeft = pickup_q
    first.number = 0
    first.showNumber = ShowNumber.NEVER  # written implicit="yes": engravers count bar 1 after it
    for i, m in enumerate(measures[1:], start=1):
        part.setElementOffset(m, m.offset - pickup_q)
        m.number = i


def notes_to_score(notes, *, bpm: float = DEFAULT_BPM, meter: tuple[int, int] = DEFAULT_METER,
                   division: int = SCORE_DIVISION, key: Key | None = None, tuning_cents: float = 0.0,
                   title: str = ""):
    """Notes -> a music21 ``Score`` on a fixed grid: ``bpm`` from second 0 (no tempo or bar inference).

    Parameters
    ----------
    notes : array_like, shape (n, 3)
        ``(onset_s, offset_s, midi)`` rows sorted by onset.
    bpm : float
        Tempo mark (quarter notes per minute) and the beat the notes are placed on.
    meter : (int, int)
        Time signature.
    division : int
        Grid the notes are quantized to (8, 16, 32...).
    key : svt_live.theory.key.Key, optional
        Key signature and spelling (C major when ``None``).
    tuning_cents : float
        Tuning the pitches are rounded against.
    title : str
        Score title.

    Returns
    -------
    music21.stream.Score
    """
    beat_s = 60.0 / check_bpm(bpm)
    q = quantize_notes(notes, bpm, division)
    return score_from_positions(q[:, 0] / beat_s, q[:, 1] / beat_s, round_to_tuning(q[:, 2], tuning_cents),
                                meter=meter, qpm=bpm, key=key, title=title)


def score_bytes(score) -> bytes:
    """A music21 score as uncompressed MusicXML, in memory (its notation exactly as built)."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    exporter = GeneralObjectExporter(score)
    exporter.makeNotation = False
    return exporter.parse()


def write_score(path: str | Path, score) -> None:
    """Write a music21 score as uncompressed MusicXML (through :func:`svt_live.io.outputs.write_bytes`)."""
    write_bytes(path, score_bytes(score))  # music21 writing a path itself would add .musicxml to /dev/null


def write_musicxml(path: str | Path, notes, **options) -> None:
    """Write notes on the fixed grid as a MusicXML lead sheet (atomically); ``options`` as :func:`notes_to_score`'s."""
    write_score(path, notes_to_score(notes, **options))


def lead_sheet_score(sheet: LeadSheet, title: str = ""):
    """A :class:`LeadSheet` as a music21 ``Score`` (:func:`score_from_positions`)."""
    r = sheet.rhythm
    return score_from_positions(r.onset_q, r.offset_q, sheet.numbers, meter=r.meter, qpm=r.qpm, key=sheet.key,
                                pickup_q=r.pickup_q, title=title)


def write_lead_sheet_score(path: str | Path, sheet: LeadSheet, title: str = "") -> None:
    """Write a :class:`LeadSheet` as MusicXML (atomically); what music21 cannot notate is an
    ``OSError`` naming ``path``, as a file that cannot be written is."""
    from music21.exceptions21 import Music21Exception

    try:
        score = lead_sheet_score(sheet, title)
        data = score_bytes(score)
    except Music21Exception as exc:
        raise OSError(None, f"music21 cannot notate this take ({str(exc).splitlines()[0]})", str(path)) from None
    write_bytes(path, data)


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class MusicXmlPart:
    """One part that has notes: ``label`` ("part 2 'Alto'"), ``notes [n, 3]`` (onset_s, offset_s, midi)."""

    label: str
    notes: np.ndarray


@dataclass(frozen=True)
class MusicXmlContents:
    """What :func:`read_musicxml` found: the parts that have notes, in file order, the first tempo
    (quarters per minute; ``None`` when the score has none) and beats per bar (``None``: no meter)."""

    parts: list[MusicXmlPart]
    bpm: float | None
    beats: int | None


def check_xml_size(path: str | Path) -> None:
    """Raise :class:`~svt_live.notes.NoteError` when MusicXML would inflate past ``MAX_XML_BYTES``:
    a ``.mxl`` by the sizes its zip declares (what inflating it yields at most), a plain file by its size."""
    import zipfile

    path = Path(path)
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                size = sum(i.file_size for i in z.infolist())
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise NoteError(f"{path}: not a readable MusicXML archive ({exc})") from None
    else:
        size = path.stat().st_size
    if size > MAX_XML_BYTES:
        raise NoteError(f"{path}: {size / 1e6:.0f} MB of MusicXML; at most {MAX_XML_BYTES / 1e6:.0f} MB is read")


def read_musicxml(path: str | Path) -> MusicXmlContents:
    """The parts of a MusicXML score (``.musicxml``, ``.xml`` or compressed ``.mxl``) with their notes in seconds.

    Raises :class:`~svt_live.notes.NoteError` (one line) for a missing, oversized or unreadable file.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "two.musicxml")
    >>> write_musicxml(path, [[0.0, 0.5, 60], [0.5, 1.0, 64]], bpm=120)
    >>> contents = read_musicxml(path)
    >>> contents.bpm, contents.parts[0].notes.tolist()
    (120.0, [[0.0, 0.5, 60.0], [0.5, 1.0, 64.0]])
    """
    path = Path(path)
    if not path.is_file():
        raise NoteError(f"{path}: no such MusicXML file")
    try:
        from music21 import converter, meter, tempo
    except ImportError:
        raise NoteError(f"{path}: reading MusicXML needs music21 (pip install music21)") from None
    check_xml_size(path)
    try:  # forceSource: parse the XML itself, never a cached pickle
        parsed = converter.parse(str(path), format="musicxml", forceSource=True)
    except Exception as exc:  # music21 raises many types for a bad file; each becomes one line
        raise NoteError(f"{path}: not a readable MusicXML score ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else 'no detail'})") from None
    parts = []
    for index, part in enumerate(list(getattr(parsed, "parts", [])) or [parsed]):
        if not part.recurse().notes:
            continue
        rows = []
        for entry in part.stripTies().flatten().secondsMap:
            el = entry["element"]
            if not (getattr(el, "isNote", False) or getattr(el, "isChord", False)) or entry["durationSeconds"] <= 0:
                continue  # rests, and grace notes (no duration)
            on = entry["offsetSeconds"]
            rows.extend([on, on + entry["durationSeconds"], float(p.midi)] for p in el.pitches)
        label = f"part {index + 1}{f' {part.partName!r}' if part.partName else ''}"
        parts.append(MusicXmlPart(label, validate_notes(sorted(rows), source=str(path))[0]))
    marks = list(parsed.recurse().getElementsByClass(tempo.MetronomeMark))
    sigs = list(parsed.recurse().getElementsByClass(meter.TimeSignature))
    bpm = marks[0].getQuarterBPM() if marks and marks[0].getQuarterBPM() else None
    return MusicXmlContents(parts, float(bpm) if bpm else None, sigs[0].numerator if sigs else None)


def load_musicxml_notes(path: str | Path) -> np.ndarray:
    """Every note of every part of a MusicXML score, sorted by onset: ``[n, 3]`` (onset_s, offset_s, midi)."""
    parts = read_musicxml(path).parts
    notes = np.concatenate([p.notes for p in parts]) if parts else np.zeros((0, 3))
    return notes[np.lexsort((notes[:, 2], notes[:, 0]))] if len(notes) else notes
