"""MIDI files from notes (mido)."""
from __future__ import annotations

from pathlib import Path

import mido
import numpy as np

from .annotations import atomic_write

TICKS_PER_BEAT = 960
TEMPO = 500000  # microseconds per beat (120 BPM): 1 tick = 1/1920 s, well under 1 ms


def notes_to_midi(notes: np.ndarray, velocities=None) -> mido.MidiFile:
    """Notes ``[n, 3]`` (onset s, offset s, MIDI) -> a one-track MIDI file (nearest MIDI note)."""
    mid = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=TEMPO, time=0))
    msgs = []
    for i, (on, off, p) in enumerate(np.asarray(notes).reshape(-1, 3)):
        pitch = int(np.clip(round(p), 0, 127))
        vel = int(velocities[i]) if velocities is not None else 80
        msgs.append((on, 1, mido.Message("note_on", note=pitch, velocity=vel)))
        msgs.append((off, 0, mido.Message("note_off", note=pitch, velocity=0)))
    msgs.sort(key=lambda m: (m[0], m[1]))  # at equal times, note_off first
    last = 0
    for t, _, msg in msgs:
        tick = int(round(mido.second2tick(t, TICKS_PER_BEAT, TEMPO)))
        track.append(msg.copy(time=tick - last))
        last = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return mid


def write_midi_file(path: str | Path, notes: np.ndarray, velocities=None) -> None:
    """Write notes as a standard MIDI file (atomically)."""
    mid = notes_to_midi(notes, velocities)
    atomic_write(path, lambda tmp: mid.save(tmp))
