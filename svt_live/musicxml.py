"""MusicXML lead sheets from notes (music21, imported only when a score is written).

Conventions: notes are ``(onset_s, offset_s, midi)`` rows; the score has one
part on a tempo grid (a beat is a quarter note, ``bpm`` per minute): note
times are quantized to ``division`` (16 = sixteenth notes,
:func:`svt_live.grid.quantize_notes`), measures follow ``meter``, notes that
cross a barline are tied, gaps become rests. Note numbers are rounded
against the tuning (:mod:`svt_live.tuning`) and spelled for the key: sharps
in sharp keys and C major, flats in flat keys.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .grid import DEFAULT_BPM, DEFAULT_METER, check_bpm, quantize_notes
from .key import Key
from .outputs import write_bytes
from .tuning import round_to_tuning

SCORE_DIVISION = 16  # the grid of a score when none is asked for
PART_NAME = "Voice"


def _music21_key(key: Key):
    from music21 import key as m21key

    tonic = key.name.split()[0].replace("b", "-")
    return m21key.Key(tonic if key.mode == "major" else tonic.lower())


def notes_to_score(notes, *, bpm: float = DEFAULT_BPM, meter: tuple[int, int] = DEFAULT_METER,
                   division: int = SCORE_DIVISION, key: Key | None = None, tuning_cents: float = 0.0,
                   title: str = ""):
    """Notes -> a music21 ``Score`` with one voice part: measures, ties, rests, tempo, meter, key.

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
    key : svt_live.key.Key, optional
        Key signature and spelling (C major when ``None``).
    tuning_cents : float
        Tuning the pitches are rounded against.
    title : str
        Score title.

    Returns
    -------
    music21.stream.Score
    """
    from music21 import clef, metadata, note, stream, tempo
    from music21 import meter as m21meter

    beat_s = 60.0 / check_bpm(bpm)
    q = quantize_notes(notes, bpm, division)
    numbers = round_to_tuning(q[:, 2], tuning_cents)
    m21key = _music21_key(key or Key(0, "major"))
    flats = (key.sharps if key else 0) < 0
    part = stream.Part()
    part.partName = PART_NAME
    part.insert(0, m21meter.TimeSignature(f"{meter[0]}/{meter[1]}"))
    part.insert(0, m21key)
    part.insert(0, tempo.MetronomeMark(number=round(bpm, 2), referent=note.Note(type="quarter")))
    for (on, off, _), number in zip(q, numbers):
        n = note.Note(int(np.clip(number, 0, 127)))
        accidental = n.pitch.accidental.name if n.pitch.accidental is not None else None
        if accidental == ("sharp" if flats else "flat"):  # music21 spells black keys C# Eb F# G# Bb
            n.pitch = n.pitch.getLowerEnharmonic() if flats else n.pitch.getHigherEnharmonic()
        n.quarterLength = round((off - on) / beat_s, 6)
        part.insert(round(on / beat_s, 6), n)
    score = stream.Score()
    score.metadata = metadata.Metadata(title=title or "svt-live transcription")
    part.insert(0, clef.bestClef(part, allowTreble8vb=True))
    end = part.highestTime
    bar = meter[0] * 4.0 / meter[1]
    if end % bar or not end:  # rests fill the last bar
        part.insert(end, note.Rest(quarterLength=bar - end % bar))
    part.makeRests(fillGaps=True, inPlace=True)
    measured = part.makeMeasures()
    measured.makeTies(inPlace=True)
    measured.splitAtDurations(recurse=True)  # 1.25 beats -> a quarter tied to a sixteenth
    score.insert(0, measured)
    return score


def write_musicxml(path: str | Path, notes, **options) -> None:
    """Write notes as an uncompressed MusicXML lead sheet (atomically); ``options`` as :func:`notes_to_score`'s."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    exporter = GeneralObjectExporter(notes_to_score(notes, **options))
    exporter.makeNotation = False
    write_bytes(path, exporter.parse())  # music21 writing a path itself would add .musicxml to /dev/null
