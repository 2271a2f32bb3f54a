"""The sung fundamental under annotated notes, and note pitches re-measured from it.

SSVD's note pitches are measured pitches that sit above the sung f0, the more
the lower the voice (about +0.15 semitone above MIDI 66, +0.25 at 54-66, up
to +0.75 below 54 in its training split; ``benchmarks/pitch_by_register.py``
with the model ``f0``). A model trained on them reads low voices sharp.
:func:`f0_pitched` replaces each note's pitch by the sung one: the note's
median frame f0 from a harmonic-sum search within a semitone of the
annotation, the search that measured that offset.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from svt_live.engine.f0 import harmonic_f0
from svt_live.engine.features import FeatureConfig
from svt_live.io.audio import load_audio

from .labels import notes_to_frames


def frame_offsets(notes: np.ndarray, audio: np.ndarray, cfg: FeatureConfig = FeatureConfig()):
    """``(reference, sung)``: the annotated pitch of every feature frame ``[T]`` of mono ``audio [N]``
    (MIDI, 0 = no note) and its :func:`harmonic_f0` there (MIDI, 0 where no note)."""
    ref = notes_to_frames(notes, len(audio) // cfg.hop + 1, cfg.frame_seconds)["pitch"]
    return ref, harmonic_f0(audio, ref, cfg)


def note_offsets(notes: np.ndarray, audio: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Sung minus annotated pitch (semitones, within +-1) of each note ``[n, 3]`` of mono ``audio [N]`` at
    ``cfg.sample_rate``: the median over the note's frames of :func:`harmonic_f0`, its first and last
    frame left out when it has more than four (onset and release glide)."""
    ref, f0 = frame_offsets(notes, audio, cfg)
    n_frames = len(ref)
    out = np.zeros(len(notes))
    for i, (on, off, midi) in enumerate(np.asarray(notes, np.float64).reshape(-1, 3)):
        a = int(round(on / cfg.frame_seconds))
        b = min(max(int(round(off / cfg.frame_seconds)), a + 1), n_frames)
        own = np.abs(ref[a:b] - midi) < 1e-3  # frames a later, overlapping note took are left out
        d = f0[a:b][own] - midi
        d = d[1:-1] if len(d) > 4 else d
        out[i] = float(np.median(d)) if len(d) else 0.0
    return out


def f0_pitched(song, cfg: FeatureConfig = FeatureConfig()):
    """A :class:`~svt_train.song.Song` (as recorded) with every note's pitch moved to the sung
    pitch (see :func:`note_offsets`)."""
    notes = np.array(song.notes, dtype=np.float64).reshape(-1, 3)
    notes[:, 2] += note_offsets(notes, load_audio(song.audio, cfg.sample_rate), cfg)
    return replace(song, notes=notes)
