"""pYIN f0 tracking (librosa) followed by a Tony-style note segmentation.

:func:`f0_midi` gives a frame-wise pitch track in fractional MIDI (NaN where
unvoiced); :func:`segment` turns it into notes. The segmentation is written
for this benchmark after the idea of Tony (Mauch et al., 2015): a note is a
stretch of voiced frames whose smoothed pitch stays near the note's running
median; a stable jump of more than ``split_semitones`` starts a new note.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import median_filter


@dataclass(frozen=True)
class PyinParams:
    """Settings of the pYIN peer. Times in seconds, pitches in semitones/Hz."""

    sample_rate: int = 16000     # Hz, audio decoded with svt_live.io.audio.load_audio
    hop: int = 160               # samples per frame step (10 ms)
    frame_length: int = 1024     # samples per analysis window (64 ms)
    fmin: float = 65.0           # Hz
    fmax: float = 1000.0         # Hz
    smooth_frames: int = 5       # median filter on the pitch before splitting
    split_semitones: float = 0.7  # deviation from the note median that splits
    split_frames: int = 4        # ... when it lasts this many frames (40 ms)
    max_gap_frames: int = 1      # unvoiced gaps this short are bridged
    min_duration: float = 0.08   # s, shorter notes are dropped

    def as_dict(self) -> dict:
        return asdict(self)


def f0_midi(audio: np.ndarray, p: PyinParams = PyinParams()) -> np.ndarray:
    """Pitch ``[T]`` in fractional MIDI per hop (frame i centred at ``i * hop / sample_rate`` s),
    NaN where pYIN calls the frame unvoiced. ``audio``: mono float32 ``[N]`` at ``p.sample_rate``.
    """
    import librosa

    f0, voiced, _prob = librosa.pyin(audio, fmin=p.fmin, fmax=p.fmax, sr=p.sample_rate,
                                     frame_length=p.frame_length, hop_length=p.hop, center=True)
    midi = np.full(f0.shape, np.nan)
    ok = voiced & np.isfinite(f0) & (f0 > 0)
    midi[ok] = 69.0 + 12.0 * np.log2(f0[ok] / 440.0)
    return midi


def voiced_runs(midi: np.ndarray, max_gap: int = 0) -> list:
    """``[(start, end), ...]`` frame ranges (end exclusive) of voiced frames in ``midi [T]``
    (NaN = unvoiced), bridging unvoiced gaps of at most ``max_gap`` frames."""
    voiced = np.isfinite(midi)
    idx = np.flatnonzero(voiced)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > max_gap + 1)
    starts = np.concatenate(([idx[0]], idx[breaks + 1]))
    ends = np.concatenate((idx[breaks] + 1, [idx[-1] + 1]))
    return list(zip(starts.tolist(), ends.tolist()))


def split_run(pitch: np.ndarray, semitones: float, frames: int) -> list:
    """Split one voiced run's smoothed pitch ``[n]`` (MIDI) where it leaves the running
    median of the current note by more than ``semitones`` for ``frames`` frames in a row.
    Returns ``[(start, end), ...]`` index ranges (end exclusive) covering the run."""
    bounds, start, out_count = [], 0, 0
    for i in range(len(pitch)):
        med = np.median(pitch[start:i]) if i > start else pitch[i]
        out_count = out_count + 1 if abs(pitch[i] - med) > semitones else 0
        if out_count >= frames:
            cut = i - frames + 1
            bounds.append((start, cut))
            start, out_count = cut, 0
    bounds.append((start, len(pitch)))
    return bounds


def segment(midi: np.ndarray, p: PyinParams = PyinParams()) -> np.ndarray:
    """Notes ``[n, 3]`` (onset s, offset s, fractional MIDI) from a pitch track ``midi [T]``.

    Voiced runs are split by :func:`split_run` on the median-filtered pitch;
    a note spans its frames' centres to one hop past the last; its pitch is
    the median of its unsmoothed voiced frames; notes shorter than
    ``p.min_duration`` are dropped.
    """
    hop_s = p.hop / p.sample_rate
    notes = []
    for a, b in voiced_runs(midi, p.max_gap_frames):
        run = midi[a:b].copy()
        gaps = ~np.isfinite(run)
        if gaps.any():  # bridged gaps: interpolate the pitch across them
            run[gaps] = np.interp(np.flatnonzero(gaps), np.flatnonzero(~gaps), run[~gaps])
        smooth = median_filter(run, size=p.smooth_frames, mode="nearest")
        for s, e in split_run(smooth, p.split_semitones, p.split_frames):
            on, off = (a + s) * hop_s, (a + e) * hop_s
            frames = midi[a + s:a + e]
            frames = frames[np.isfinite(frames)]
            if off - on >= p.min_duration and frames.size:
                notes.append((on, off, float(np.median(frames))))
    return np.asarray(notes, dtype=np.float64).reshape(-1, 3)


def transcribe(audio: np.ndarray, p: PyinParams = PyinParams()) -> np.ndarray:
    """Notes ``[n, 3]`` (onset s, offset s, fractional MIDI) for mono audio ``[N]`` at ``p.sample_rate``."""
    return segment(f0_midi(audio, p), p)
