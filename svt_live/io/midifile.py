"""Standard MIDI files: notes -> a file (mido) and a file -> notes, the project's one MIDI file reader and writer.

Written files hold one named track on channel 1: tempo, time signature and key
meta messages, then the notes (note numbers rounded against the tuning,
:mod:`svt_live.theory.tuning`), optionally on a grid (:mod:`svt_live.theory.grid`) and
with pitch bends (:mod:`svt_live.io.bends`).

Read files (:func:`read_midi`) give every note of every voice (track and channel)
in seconds. Types 0 and 1 share one timeline and one tempo map; each type-2 track
is its own timeline from 0 s with its own tempo map. The tempo map is followed in
time linear in its length; SMPTE time division runs at its frame rate; a tempo
of 0 or a time division of 0, or a file mido cannot parse, is a
:class:`~svt_live.notes.NoteError` with a one-line reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from svt_live.io.bends import BEND_RANGE_SEMITONES, bend_range_controls, bend_value, contour_bends
from svt_live.io.outputs import atomic_write
from svt_live.notes import NoteError, validate_notes
from svt_live.theory.grid import DEFAULT_BPM, DEFAULT_METER, check_bpm, quantize_notes
from svt_live.theory.tuning import round_to_tuning

MIDI_EXTENSIONS = (".mid", ".midi")
TICKS_PER_BEAT = 960
TRACK_NAME = "svt-live voice"
DEFAULT_VELOCITY = 80  # notes that carry no velocity (annotations read from files)


def _bend_messages(notes, key_numbers, contours, bend_range, shift) -> list[tuple[float, int, mido.Message]]:
    """Timed pitch-wheel messages: each note's contour (or its one offset) from its onset on."""
    msgs = []
    for i, (on, off, p) in enumerate(notes):
        if contours is not None and len(contours[i][0]):
            steps = contour_bends(contours[i][0] + shift[i], contours[i][1], int(key_numbers[i]), bend_range)
        else:
            steps = []
        if not steps or steps[0][0] > on:  # the note starts at its bend, never at the last note's
            steps.insert(0, (on, bend_value(p - key_numbers[i], bend_range)))
        for t, value in steps:
            if t < off:
                msgs.append((max(t, on), 0.5, mido.Message("pitchwheel", pitch=value)))
    return msgs


def tempo_map(rhythm) -> tuple[np.ndarray, np.ndarray]:
    """Knots ``(seconds [k], quarter notes [k])`` from a take's time to its MIDI file's quarter notes.

    Second 0 is quarter 0; from the first tracked beat on, the quarters follow
    the beats of ``rhythm`` (:class:`svt_live.theory.rhythm.Rhythm`), shifted so that
    the score's first bar line falls on a whole bar of the file (the time before
    the first beat becomes whole bars, plus the pickup, at a tempo near the
    song's). Between knots the tempo is constant; after the last one it stays.
    """
    s, q = np.asarray(rhythm.beats_s, dtype=np.float64), np.asarray(rhythm.beats_q, dtype=np.float64)
    keep = s > 0.01  # beats at or before second 0 cannot be placed after it
    if keep.sum() < 2:
        spq = 60.0 / rhythm.qpm
        return np.array([0.0, 1.0]), np.array([0.0, 1.0 / spq])
    s, q = s[keep], q[keep]
    bar_q = rhythm.meter[0] * 4.0 / rhythm.meter[1]
    natural = s[0] / ((s[1] - s[0]) / (q[1] - q[0]))  # quarters before the first beat at its tempo
    bars = max(np.ceil((-q[0] + 1e-9) / bar_q), np.round((natural - q[0]) / bar_q))
    first = q[0] + bars * bar_q  # the first beat's quarter in the file: q = 0 lands on a bar line
    return np.concatenate([[0.0], s]), np.concatenate([[0.0], q - q[0] + first])


def _seconds_to_ticks(times, knots_s: np.ndarray, knots_q: np.ndarray) -> np.ndarray:
    """Seconds -> ticks through the tempo map (the last tempo continues past the last knot)."""
    t = np.asarray(times, dtype=np.float64)
    last = (knots_q[-1] - knots_q[-2]) / (knots_s[-1] - knots_s[-2])
    q = np.where(t > knots_s[-1], knots_q[-1] + (t - knots_s[-1]) * last, np.interp(t, knots_s, knots_q))
    return np.round(q * TICKS_PER_BEAT).astype(np.int64)


def notes_to_midi(notes: np.ndarray, velocities=None, *, bpm: float = DEFAULT_BPM,
                  meter: tuple[int, int] = DEFAULT_METER, division: int | None = None,
                  tuning_cents: float = 0.0, pitch_bends: bool = False, contours=None, key=None,
                  track_name: str = TRACK_NAME, bend_range: float = BEND_RANGE_SEMITONES,
                  rhythm=None) -> mido.MidiFile:
    """Notes -> a one-track MIDI file with tempo, time signature, key and optional grid and bends.

    Parameters
    ----------
    notes : array_like, shape (n, 3)
        ``(onset_s, offset_s, midi)`` rows sorted by onset; MIDI may be fractional.
    velocities : array_like of int, shape (n,), optional
        1-127 per note (default ``DEFAULT_VELOCITY``).
    bpm : float
        Tempo written to the file (quarter notes per minute). Without ``division``
        notes keep their real timing whatever the tempo.
    meter : (int, int)
        Time signature.
    division : int, optional
        Quantize onsets and offsets to this grid (8 = eighth notes, see :mod:`svt_live.theory.grid`).
    tuning_cents : float
        Tuning the note numbers are rounded against (:mod:`svt_live.theory.tuning`).
    pitch_bends : bool
        Write each note's offset from its note number as pitch-wheel messages
        (bend range set by RPN first, see :mod:`svt_live.io.bends`).
    contours : list of (times_s [k], midi [k]), optional
        Per note, its sung pitch contour: with ``pitch_bends`` the wheel follows it.
    key : svt_live.theory.key.Key, optional
        Written as a key-signature meta message.
    track_name : str
        The track's name.
    rhythm : svt_live.theory.rhythm.Rhythm, optional
        The take's inferred beats and meter (:func:`svt_live.theory.leadsheet.infer_lead_sheet`):
        the file then carries its tempo map (a ``set_tempo`` wherever the tempo changes)
        and meter instead of ``bpm`` and ``meter``, so that a DAW's bars line up with
        the notes, which keep their real timing; with ``division`` they move to the
        lead sheet's note values instead, rounded to that grid.

    Returns
    -------
    mido.MidiFile
    """
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 3)
    vel = (np.full(len(notes), DEFAULT_VELOCITY) if velocities is None
           else np.clip(np.asarray(velocities, dtype=np.int64).reshape(-1), 1, 127))
    if len(vel) != len(notes):
        raise ValueError(f"{len(vel)} velocities for {len(notes)} notes")
    shift = np.zeros(len(notes))
    knots = tempo_map(rhythm) if rhythm is not None else None
    if rhythm is not None:
        meter = rhythm.meter
    if rhythm is not None and division is not None and len(notes) == len(rhythm.onset_q):
        s_q = knots[1][1] - np.asarray(rhythm.beats_q)[np.asarray(rhythm.beats_s) > 0.01][0]  # score q -> file q
        step = 4.0 / division
        on_q = np.round(rhythm.onset_q / step) * step
        off_q = np.maximum(np.round(rhythm.offset_q / step) * step, on_q + step)
        on_s = np.interp(on_q + s_q, knots[1], knots[0])
        off_s = np.interp(off_q + s_q, knots[1], knots[0])
        shift = on_s - notes[:, 0]
        notes = np.column_stack([on_s, off_s, notes[:, 2]])
    elif division is not None:
        q, kept = quantize_notes(notes, bpm, division, return_index=True)
        shift = q[:, 0] - notes[kept, 0]  # contours move with their note's onset
        notes, vel = q, vel[kept]
        contours = None if contours is None else [contours[i] for i in kept]
    tempo = mido.bpm2tempo(check_bpm(bpm))
    key_numbers = np.clip(round_to_tuning(notes[:, 2], tuning_cents), 0, 127)
    mid = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("track_name", name=track_name, time=0))
    track.append(mido.MetaMessage("time_signature", numerator=meter[0], denominator=meter[1], time=0))
    if key is not None:
        track.append(mido.MetaMessage("key_signature", key=key.midi_name, time=0))
    if pitch_bends:
        track.extend(mido.Message("control_change", control=c, value=v) for c, v in bend_range_controls(bend_range))
    msgs = []  # (time s, order at equal times: note_off 0, bend 0.5, note_on 1, message)
    for (on, off, _), k, v in zip(notes, key_numbers, vel):
        msgs.append((on, 1, mido.Message("note_on", note=int(k), velocity=int(v))))
        msgs.append((off, 0, mido.Message("note_off", note=int(k), velocity=0)))
    if pitch_bends:
        msgs += _bend_messages(notes, key_numbers, contours, bend_range, shift)
        if len(notes):
            msgs.append((notes[-1, 1], 0.75, mido.Message("pitchwheel", pitch=0)))
    if knots is None:
        knots = (np.array([0.0, 1.0]), np.array([0.0, 1e6 / tempo]))
    ticks = _seconds_to_ticks([m[0] for m in msgs], *knots) if msgs else []
    tempos = []  # (tick, order -1: before the notes at that tick, set_tempo)
    spq = np.diff(knots[0]) / np.diff(knots[1])
    for k_q, sec in zip(knots[1][:-1], spq):
        us = int(round(sec * 1e6))
        if not tempos or us != tempos[-1][2].tempo:
            tempos.append((int(round(k_q * TICKS_PER_BEAT)), -1, mido.MetaMessage("set_tempo", tempo=us)))
    events = sorted([(tk, o, msg) for tk, (_, o, msg) in zip(ticks, msgs)] + tempos, key=lambda e: (e[0], e[1]))
    last = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=int(tick) - last))
        last = int(tick)
    track.append(mido.MetaMessage("end_of_track", time=0))
    return mid


def write_midi_file(path: str | Path, notes: np.ndarray, velocities=None, **options) -> None:
    """Write notes as a standard MIDI file (atomically); ``options`` as :func:`notes_to_midi`'s."""
    mid = notes_to_midi(notes, velocities, **options)
    atomic_write(path, lambda tmp: mid.save(tmp))


# ---------------------------------------------------------------- reading


def smpte_tick_seconds(division: int) -> float | None:
    """Seconds per tick of a MIDI file's SMPTE time division (16 bits, unsigned: frames per second x
    ticks per frame); ``None`` for a division in ticks per beat.

    >>> smpte_tick_seconds(480) is None, smpte_tick_seconds(0xE728)  # 25 frames/s x 40 ticks
    (True, 0.001)
    """
    if not division & 0x8000:
        return None
    fps = 256 - (division >> 8)  # the high byte is minus the frame rate, two's complement
    return 1.0 / ((29.97 if fps == 29 else fps) * (division & 0xFF))


def tick_seconds(division: int, tempo_changes) -> callable:
    """Absolute ticks ``[k]`` -> seconds ``[k]`` for a MIDI file's time division (16 bits, unsigned) and its
    tempo map ``[(tick, microseconds per beat), ...]`` (any order; 120 per minute before the first), in
    time linear in the map's length: SMPTE divisions run at their fixed rate.

    >>> tick_seconds(480, [(960, 1000000)])([480, 960, 1440]).tolist()
    [0.5, 1.0, 2.0]
    """
    per_tick = smpte_tick_seconds(division)
    if per_tick is not None:
        return lambda ticks: np.asarray(ticks, np.float64) * per_tick
    changes = sorted(tempo_changes)
    at = np.array([0] + [t for t, _ in changes], np.float64)  # a breakpoint's tick, and the tempo from it
    tempo = np.array([500000] + [v for _, v in changes], np.float64)
    start = np.concatenate([[0.0], np.cumsum(np.diff(at) * tempo[:-1] * 1e-6 / division)])

    def seconds(ticks):
        ticks = np.asarray(ticks, np.float64)
        k = np.searchsorted(at, ticks, side="right") - 1
        return start[k] + (ticks - at[k]) * tempo[k] * 1e-6 / division
    return seconds


@dataclass(frozen=True)
class MidiVoice:
    """The notes ``[n, 3]`` (seconds, sorted by onset) of one track and channel (both counted from 0)."""

    track: int
    channel: int
    name: str
    notes: np.ndarray


@dataclass(frozen=True)
class MidiContents:
    """What a MIDI file holds for svt-live: its voices in (track, channel) order, the first tempo
    (quarter notes per minute; ``None`` when the file has none or runs on SMPTE time) and the first
    time signature's beats per bar (``None`` when it has none)."""

    voices: list[MidiVoice]
    bpm: float | None
    beats: int | None

    @property
    def notes(self) -> np.ndarray:
        """Every note of every voice ``[n, 3]``, sorted by onset, then offset, then pitch."""
        every = np.concatenate([v.notes for v in self.voices]) if self.voices else np.zeros((0, 3))
        return every[np.lexsort((every[:, 2], every[:, 1], every[:, 0]))]


def read_midi(path: str | Path) -> MidiContents:
    """Read a standard MIDI file's notes, voice by voice, in seconds (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise NoteError(f"{path}: no such MIDI file")
    try:
        mid = mido.MidiFile(str(path))
    except Exception as exc:  # noqa: BLE001  a damaged file fails mido in many ways
        raise NoteError(f"{path}: not a readable MIDI file ({exc})") from None
    division = mid.ticks_per_beat & 0xFFFF  # mido reads it as a signed number
    if division == 0 or division & 0x8000 and not (division & 0xFF and 256 - (division >> 8)):
        raise NoteError(f"{path}: time division {division}: 0 ticks per beat or per frame")
    timelines = [list(range(len(mid.tracks)))] if mid.type != 2 else [[n] for n in range(len(mid.tracks))]
    tempi_all, beats, voices, names = [], None, [], {}
    for tracks in timelines:
        tempi, ticked = [], {}
        for n in tracks:
            tick, open_at = 0, {}
            for msg in mid.tracks[n]:
                tick += msg.time
                if msg.type == "set_tempo":
                    if msg.tempo <= 0:
                        raise NoteError(f"{path}: tempo 0 at tick {tick}")
                    tempi.append((tick, msg.tempo))
                elif msg.type == "time_signature" and beats is None:
                    beats = msg.numerator
                elif msg.type == "track_name":
                    names.setdefault(n, msg.name)
                elif msg.type == "note_on" and msg.velocity > 0:
                    open_at.setdefault((msg.channel, msg.note), tick)
                elif msg.type in ("note_off", "note_on"):
                    start = open_at.pop((msg.channel, msg.note), None)
                    if start is not None:
                        ticked.setdefault((n, msg.channel), []).append((start, tick, float(msg.note)))
        seconds = tick_seconds(division, tempi)
        tempi_all += tempi
        for (n, channel), rows in ticked.items():
            t = np.array(rows, np.float64)
            notes = np.stack([seconds(t[:, 0]), seconds(t[:, 1]), t[:, 2]], axis=1)
            notes = validate_notes(notes[np.argsort(notes[:, 0], kind="stable")], source=str(path))[0]
            voices.append(MidiVoice(n, channel, names.get(n, ""), notes))
    first = min(tempi_all)[1] if tempi_all and division < 0x8000 else None
    return MidiContents(sorted(voices, key=lambda v: (v.track, v.channel)),
                        mido.tempo2bpm(first) if first else None, beats)


def load_midi_notes(path: str | Path) -> np.ndarray:
    """Every note of a MIDI file (all tracks and channels) -> notes ``[n, 3]``, sorted by onset."""
    return read_midi(path).notes
