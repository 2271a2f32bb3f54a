"""Exercise scores for the sight-singing check: one monophonic voice from MIDI or MusicXML.

A :class:`Score` holds notes ``[n, 3]`` ``(onset_s, offset_s, midi)`` in score
time (seconds at the written tempo from the start of the score, rests
included), the tempo (quarter notes per minute) and beats per bar for the
count-in, and ``voice``: which part of the file the notes come from.

- MIDI (``.mid``, ``.midi``): the first track (and channel) that has notes.
- MusicXML (``.musicxml``, ``.xml``, ``.mxl``, read with music21, imported
  only here): the first part, ties joined, tempo changes followed.
- svt-live note files (``.json``, ``.csv``, ``.txt``): the notes as they
  are, at 120 per minute in 4/4 (a take sung right becomes the exercise).

Where the file has more than one voice, or chords, the first voice is used,
the top note of each chord is kept, and a warning says so. An empty or
unreadable score raises :class:`ScoreError` with a one-line reason, and so does
one that would cost more than its size: more than ``MAX_SCORE_NOTES`` notes, or
MusicXML over :data:`svt_live.io.musicxml.MAX_XML_BYTES` (inflated, for ``.mxl``).
A MIDI file's tempo map is read in linear time; SMPTE time is read at its frame
rate; a tempo of 0 or a time division of 0 is refused.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from svt_live.io.midifile import MIDI_EXTENSIONS, read_midi
from svt_live.io.musicxml import MUSICXML_EXTENSIONS
from svt_live.notes import NoteError

DEFAULT_BPM, DEFAULT_BEATS = 120.0, 4
MAX_SCORE_NOTES = 2000  # an exercise's notes: the check holds score notes x sung notes (a 10-minute take: 0.5 GB)


class ScoreError(NoteError):
    """A score that cannot be used as an exercise (one-line reason)."""


@dataclass(frozen=True)
class Score:
    """An exercise: ``notes [n, 3]`` in score time, ``bpm`` (quarters per minute), ``beats_per_bar``,
    ``voice`` (which part of the file), ``path``."""

    notes: np.ndarray
    bpm: float = DEFAULT_BPM
    beats_per_bar: int = DEFAULT_BEATS
    voice: str = ""
    path: str = ""

    @property
    def beat_seconds(self) -> float:
        return 60.0 / self.bpm


def top_line(notes: np.ndarray) -> tuple[np.ndarray, int]:
    """Notes ``[n, 3]`` sorted by onset -> one voice: of notes starting together the highest, and a
    note cut where the next one starts. Returns ``(notes, how many were dropped)``."""
    if not len(notes):
        return notes, 0
    order = np.lexsort((-notes[:, 2], notes[:, 0]))
    arr = notes[order]
    keep = np.r_[True, np.diff(arr[:, 0]) > 1e-6]
    out = arr[keep].copy()
    out[:-1, 1] = np.minimum(out[:-1, 1], out[1:, 0])
    return out, int((~keep).sum())


def _monophonic(notes: np.ndarray, path: Path, voice: str) -> np.ndarray:
    line, dropped = top_line(notes)
    if dropped:
        warnings.warn(f"{path}: {voice} has chords; the top note of each is the exercise "
                      f"({dropped} lower notes left out)", stacklevel=3)
    return line


def _read_midi(path: Path) -> Score:
    try:
        contents = read_midi(path)
    except NoteError as exc:
        raise ScoreError(str(exc)) from None
    if not contents.voices:
        raise ScoreError(f"{path}: no notes in this MIDI file")
    first = contents.voices[0]
    _check_length(path, len(first.notes))
    voice = f"track {first.track + 1}{f' {first.name!r}' if first.name else ''} channel {first.channel + 1}"
    if len(contents.voices) > 1:
        warnings.warn(f"{path}: {len(contents.voices)} voices with notes; the exercise is the first, {voice}",
                      stacklevel=3)
    return Score(_monophonic(first.notes, path, voice), contents.bpm or DEFAULT_BPM, contents.beats or DEFAULT_BEATS,
                 voice, str(path))


def _check_length(path: Path, n_notes: int) -> None:
    """Refuse an exercise longer than ``MAX_SCORE_NOTES`` (the check's memory grows with score x sung notes)."""
    if n_notes > MAX_SCORE_NOTES:
        raise ScoreError(f"{path}: {n_notes} notes; an exercise has at most {MAX_SCORE_NOTES}")


def _read_musicxml(path: Path) -> Score:
    from svt_live.io.musicxml import read_musicxml

    try:
        contents = read_musicxml(path)
    except NoteError as exc:
        raise ScoreError(str(exc)) from None
    if not contents.parts:
        raise ScoreError(f"{path}: no notes in this MusicXML score")
    first = contents.parts[0]
    if len(contents.parts) > 1:
        warnings.warn(f"{path}: {len(contents.parts)} parts with notes; the exercise is the first, {first.label}",
                      stacklevel=3)
    _check_length(path, len(first.notes))
    return Score(_monophonic(first.notes, path, first.label), contents.bpm or DEFAULT_BPM,
                 contents.beats or DEFAULT_BEATS, first.label, str(path))


def read_score(path: str | Path) -> Score:
    """An exercise from a MIDI, MusicXML or svt-live note file (see the module docstring).

    Raises :class:`ScoreError` (one line) for a missing, unreadable or empty score.
    """
    path = Path(path)
    if not path.is_file():
        raise ScoreError(f"{path}: no such score file")
    ext = path.suffix.lower()
    if ext in MIDI_EXTENSIONS:
        score = _read_midi(path)
    elif ext in MUSICXML_EXTENSIONS:
        score = _read_musicxml(path)
    else:
        from svt_live.io.annotations import load_notes
        try:
            notes = load_notes(path)
        except NoteError as exc:
            raise ScoreError(f"{exc} (scores: .mid, .musicxml, .mxl, or svt-live notes)") from None
        _check_length(path, len(notes))
        score = Score(_monophonic(notes, path, "the notes"), path=str(path), voice="the notes")
    if not len(score.notes):
        raise ScoreError(f"{path}: no notes in this score")
    return score
