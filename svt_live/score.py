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
unreadable score raises :class:`ScoreError` with a one-line reason.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .notes import NoteError, validate_notes

MIDI_EXTENSIONS = (".mid", ".midi")
MUSICXML_EXTENSIONS = (".musicxml", ".xml", ".mxl")
DEFAULT_BPM, DEFAULT_BEATS = 120.0, 4


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


def _tick_seconds(mid) -> callable:
    """Ticks from the start -> seconds, following every ``set_tempo`` of the file."""
    import mido

    changes = sorted((tick, msg.tempo) for track in mid.tracks
                     for tick, msg in zip(np.cumsum([m.time for m in track]), track) if msg.type == "set_tempo")
    points = [(0, 0.0, 500000)]  # (tick, seconds, tempo from there)
    for tick, tempo in changes:
        t0, s0, tempo0 = points[-1]
        points.append((tick, s0 + mido.tick2second(tick - t0, mid.ticks_per_beat, tempo0), tempo))

    def seconds(tick: int) -> float:
        t0, s0, tempo0 = next(p for p in reversed(points) if p[0] <= tick)
        return s0 + mido.tick2second(tick - t0, mid.ticks_per_beat, tempo0)
    return seconds


def _read_midi(path: Path) -> Score:
    import mido

    try:
        mid = mido.MidiFile(str(path))
        seconds = _tick_seconds(mid)
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise ScoreError(f"{path}: not a readable MIDI file ({exc})") from None
    tempo = next((mido.tempo2bpm(m.tempo) for m in mido.merge_tracks(mid.tracks) if m.type == "set_tempo"), None)
    beats = next((m.numerator for m in mido.merge_tracks(mid.tracks) if m.type == "time_signature"), None)
    voices: dict[tuple, list] = {}
    for n, track in enumerate(mid.tracks):
        tick, open_at = 0, {}
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                open_at.setdefault((msg.channel, msg.note), tick)
            elif msg.type in ("note_off", "note_on"):
                start = open_at.pop((msg.channel, msg.note), None)
                if start is not None:
                    voices.setdefault((n, msg.channel), []).append([seconds(start), seconds(tick), float(msg.note)])
    if not voices:
        raise ScoreError(f"{path}: no notes in this MIDI file")
    (track, channel), notes = min(voices.items())
    name = next((m.name for m in mid.tracks[track] if m.type == "track_name"), "")
    voice = f"track {track + 1}{f' {name!r}' if name else ''} channel {channel + 1}"
    if len(voices) > 1:
        warnings.warn(f"{path}: {len(voices)} voices with notes; the exercise is the first, {voice}", stacklevel=3)
    notes = validate_notes(sorted(notes), source=str(path))[0]
    return Score(_monophonic(notes, path, voice), tempo or DEFAULT_BPM, beats or DEFAULT_BEATS, voice, str(path))


def _read_musicxml(path: Path) -> Score:
    try:
        from music21 import converter, meter, tempo
    except ImportError:
        raise ScoreError(f"{path}: reading MusicXML needs music21 (pip install music21)") from None
    try:  # forceSource: parse the XML itself, never a cached pickle
        parsed = converter.parse(str(path), format="musicxml", forceSource=True)
    except Exception as exc:  # music21 raises many types for a bad file; each becomes one line
        raise ScoreError(f"{path}: not a readable MusicXML score ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else 'no detail'})") from None
    parts = list(getattr(parsed, "parts", [])) or [parsed]
    part = next((p for p in parts if p.recurse().notes), None)
    if part is None:
        raise ScoreError(f"{path}: no notes in this MusicXML score")
    index = parts.index(part)
    voice = f"part {index + 1}{f' {part.partName!r}' if part.partName else ''}"
    if sum(bool(p.recurse().notes) for p in parts) > 1:
        warnings.warn(f"{path}: {len(parts)} parts with notes; the exercise is the first, {voice}", stacklevel=2)
    flat = part.stripTies().flatten()
    rows = []
    for entry in flat.secondsMap:
        el = entry["element"]
        if not getattr(el, "isNote", False) and not getattr(el, "isChord", False):
            continue
        if entry["durationSeconds"] <= 0:  # grace notes
            continue
        on = entry["offsetSeconds"]
        for p in el.pitches:
            rows.append([on, on + entry["durationSeconds"], float(p.midi)])
    marks = list(parsed.recurse().getElementsByClass(tempo.MetronomeMark))
    sigs = list(parsed.recurse().getElementsByClass(meter.TimeSignature))
    bpm = marks[0].getQuarterBPM() if marks and marks[0].getQuarterBPM() else DEFAULT_BPM
    notes = validate_notes(sorted(rows), source=str(path))[0]
    return Score(_monophonic(notes, path, voice), float(bpm), sigs[0].numerator if sigs else DEFAULT_BEATS,
                 voice, str(path))


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
        from .annotations import load_notes
        try:
            notes = load_notes(path)
        except NoteError as exc:
            raise ScoreError(f"{exc} (scores: .mid, .musicxml, .mxl, or svt-live notes)") from None
        score = Score(_monophonic(notes, path, "the notes"), path=str(path), voice="the notes")
    if not len(score.notes):
        raise ScoreError(f"{path}: no notes in this score")
    return score
