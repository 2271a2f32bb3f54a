"""The sung fundamental under notes: a harmonic-sum search near a pitch, frame by frame.

Pitches in fractional MIDI numbers; frames are the feature frames of
:class:`~svt_live.features.FeatureConfig` (frame ``t`` centred on sample
``t * hop``). :func:`note_pitches` measures each note's pitch the way the
as-sung references of ``svt_train.f0`` are measured (the note's median
frame f0, its first and last frame left out when it has more than four:
onset and release glides), so a check against a score rounded from them
compares like with like.
"""
from __future__ import annotations

import numpy as np
import torch

from .features import FeatureConfig, audio_frames
from .tuning import midi_to_hz

F0_NFFT, F0_TOP_HZ, F0_STEP = 4096, 4000.0, 0.05  # zero-padded FFT, highest harmonic, search step (semitones)


def harmonic_f0(audio: np.ndarray, near: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Sung fundamental (MIDI) of each feature frame ``[T]`` within a semitone of ``near [T]`` (MIDI, 0 =
    skip): the candidate whose harmonics (``k f0 < 4 kHz``) sum the most magnitude in the frame's
    zero-padded spectrum (the features' framing and Hann window)."""
    n = len(near)
    frames = audio_frames(torch.from_numpy(np.asarray(audio, np.float32)), cfg)[:n]
    mag = torch.fft.rfft(frames * torch.hann_window(cfg.win), n=F0_NFFT).abs().numpy()
    steps = np.arange(-1.0, 1.0 + 1e-9, F0_STEP)
    out = np.zeros(n, np.float32)
    for t in np.nonzero(near[:len(mag)] > 0)[0]:
        hz = midi_to_hz(near[t] + steps)
        k = np.arange(1, max(1, int(F0_TOP_HZ / hz.max())) + 1)
        pos = np.outer(hz, k) * F0_NFFT / cfg.sample_rate  # fractional FFT bins [candidates, harmonics]
        lo = np.floor(pos).astype(int)
        frac = pos - lo
        salience = (mag[t, lo] * (1 - frac) + mag[t, lo + 1] * frac).sum(1)
        out[t] = near[t] + steps[np.argmax(salience)]
    return out


def note_pitches(notes: np.ndarray, audio: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Sung pitch (MIDI) of each note ``[n, 3]`` (onset s, offset s, MIDI) of mono ``audio [N]`` at
    ``cfg.sample_rate``: the median :func:`harmonic_f0` within a semitone of the note's pitch over its
    frames (first and last left out when it has more than four); the note's own pitch where it has
    no frame."""
    notes = np.asarray(notes, np.float64).reshape(-1, 3)
    n_frames = len(audio) // cfg.hop + 1
    spans = [(int(round(on / cfg.frame_seconds)), min(max(int(round(off / cfg.frame_seconds)),
                                                          int(round(on / cfg.frame_seconds)) + 1), n_frames))
             for on, off, _ in notes]
    near = np.zeros(n_frames, np.float32)
    for (a, b), midi in zip(spans, notes[:, 2]):
        near[a:b] = midi  # a later note takes frames it shares with the one before
    f0 = harmonic_f0(audio, near, cfg)
    out = notes[:, 2].copy()
    for i, ((a, b), midi) in enumerate(zip(spans, notes[:, 2])):
        own = f0[a:b][near[a:b] == np.float32(midi)]
        own = own[1:-1] if len(own) > 4 else own
        if len(own):
            out[i] = float(np.median(own))
    return out
