"""Notes to 20 ms frame labels (the course's label scheme) and back.

For a song of ``T`` frames (frame ``t`` centred at ``t * frame_seconds``):

- ``onset [T]``: 1 at ``round(onset / frame_seconds)`` of each note, else 0
- ``offset [T]``: 1 at ``round(offset / frame_seconds)`` of each note, else 0
- ``octave [T]``: 0 = silence or pitch outside MIDI 36-83, 1-4 = MIDI 36-47, 48-59, 60-71, 72-83
- ``pitch_class [T]``: 0 = silence, 1-12 = C..B of the rounded pitch
- ``pitch [T]``: the note's (fractional) MIDI pitch, 0 = silence

A note covers frames ``round(onset/fs) .. round(offset/fs) - 1`` (at least
one frame); where notes overlap, the later one wins.
"""
from __future__ import annotations

import numpy as np

from svt_live.engine.decode import DecodeParams, decode_notes
from svt_live.models.base_cnn_mini import LOWEST_MIDI

LABEL_KEYS = ("onset", "offset", "octave", "pitch_class", "pitch")


def pitch_classes(pitch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frame pitch ``[T]`` (MIDI, 0 = silence) -> ``(octave [T], pitch_class [T])`` of the rounded
    pitch, as in the module docstring (int64)."""
    pitch = np.asarray(pitch, dtype=np.float64)
    m = np.round(pitch).astype(np.int64)
    voiced = pitch > 0
    inside = voiced & (m >= LOWEST_MIDI) & (m <= LOWEST_MIDI + 47)
    return np.where(inside, (m - LOWEST_MIDI) // 12 + 1, 0), np.where(voiced, m % 12 + 1, 0)


def notes_to_frames(notes: np.ndarray, n_frames: int, frame_seconds: float = 0.02) -> dict:
    """Notes ``[n, 3]`` -> frame labels, each ``[n_frames]`` (see module docstring)."""
    onset = np.zeros(n_frames, np.float32)
    offset = np.zeros(n_frames, np.float32)
    pitch = np.zeros(n_frames, np.float64)
    for on, off, midi in np.asarray(notes, dtype=np.float64).reshape(-1, 3):
        a = int(round(on / frame_seconds))
        b = max(int(round(off / frame_seconds)), a + 1)
        if a >= n_frames:
            continue
        onset[a] = 1
        if b < n_frames:
            offset[b] = 1
        pitch[a:b] = midi
    octave, pitch_class = pitch_classes(pitch)
    return {"onset": onset, "offset": offset, "octave": octave, "pitch_class": pitch_class,
            "pitch": pitch.astype(np.float32)}


def frames_to_notes(labels: dict, frame_seconds: float = 0.02) -> np.ndarray:
    """Frame labels -> notes ``[n, 3]``, through the same decoder the model uses.

    Round trip: ``frames_to_notes(notes_to_frames(notes, T))`` returns the
    notes with times on the 20 ms grid (for non-overlapping notes).
    """
    post = {
        "onset": labels["onset"],
        "offset": labels["offset"],
        "voiced": (labels["pitch"] > 0).astype(np.float32),
        "pitch": labels["pitch"],
    }
    return decode_notes(post, DecodeParams(min_note_frames=1, silence_frames=1), frame_seconds)
