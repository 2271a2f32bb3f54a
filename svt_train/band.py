"""Generated accompaniment ("band") excerpts to mix under solo singing.

The training set has only a few minutes of real band-alone audio (intros
and interludes of the accompanied songs). :func:`band_audio` writes
endless variations of a pop backing track instead, by additive synthesis:

- a key (major or minor), a tempo of 70-150 BPM and a chord progression
  of diatonic triads or sevenths, one chord per bar or half bar;
- up to five parts, each at a random level: a sustained **pad** (chord
  tones in MIDI 48-72, slow attack), struck **keys** (chords or eighth-note
  arpeggios in MIDI 45-76, partials decaying faster the higher they are),
  a **bass** on the chord roots (MIDI 28-47), a **lead** instrument
  playing scale notes in the singing range (MIDI 55-84: a distractor the
  model must not transcribe) and **drums** (kick, snare, hi-hat);
- every harmonic part has its own spectral tilt (partial ``k`` at
  ``k ** -tilt``) and jittered partial levels.

No note of the band is labelled: mixed under a song its labels stay the
song's. :func:`band_backgrounds` turns excerpts into log-mel arrays for
:class:`~svt_train.augment.Augment`.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from svt_live.engine.features import FeatureConfig, log_mel
from svt_live.io.outputs import atomic_write
from svt_live.theory.tuning import midi_to_hz

BAND_VERSION = 1  # bump when band_audio changes: it is part of the cache key
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
PROGRESSIONS = ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 4, 0), (5, 3, 0, 4), (0, 4, 3, 4), (1, 4, 0, 0), (0, 2, 3, 4))


def _tone(f0: float, n: int, sr: int, rng: np.random.Generator, tilt: float, decay_s: float,
          attack_s: float) -> np.ndarray:
    """One harmonic note ``[n]`` samples: at most 30 partials, up to 0.45 ``sr``; linear attack, exponential decay
    (``decay_s`` = inf: sustained), partial ``k`` decaying ``k ** 0.5`` times faster, 20 ms release."""
    k = np.arange(1, max(1, min(30, int(0.45 * sr / f0))) + 1)
    amp = k ** -tilt * rng.uniform(0.4, 1.0, len(k))
    t = np.arange(n) / sr
    phase = rng.uniform(0, 2 * np.pi, len(k))
    partials = np.sin(2 * np.pi * f0 * k[:, None] * t + phase[:, None])
    env = np.exp(-t * np.sqrt(k)[:, None] / decay_s) if np.isfinite(decay_s) else 1.0
    x = (amp[:, None] * env * partials).sum(0)
    x *= np.minimum(1.0, t / max(attack_s, 1e-3)) * np.minimum(1.0, (n - np.arange(n)) / (0.02 * sr))
    return x


def _fit(m: int, lo: int, hi: int) -> int:
    """Move MIDI ``m`` by octaves into ``[lo, hi]``."""
    while m < lo:
        m += 12
    while m > hi:
        m -= 12
    return m


def _drums(n: int, sr: int, beat: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n)
    t = np.arange(int(0.3 * sr)) / sr
    kick = np.sin(2 * np.pi * np.cumsum(45 + 100 * np.exp(-t / 0.03)) / sr) * np.exp(-t / 0.12)
    noise = rng.standard_normal(len(t))
    snare = (0.6 * noise + 0.4 * np.sin(2 * np.pi * 185 * t)) * np.exp(-t / 0.07)
    hat = np.diff(noise, prepend=0.0) * np.exp(-t / 0.02) * 0.5
    for i, start in enumerate(range(0, n, beat // 2)):
        hits = [hat] + ([kick] if i % 8 in (0, 5) else []) + ([snare] if i % 4 == 2 else [])
        for h in hits:
            m = min(len(h), n - start)
            out[start:start + m] += h[:m]
    return out


def band_audio(rng: np.random.Generator, seconds: float, sample_rate: int = 16000) -> np.ndarray:
    """One random band excerpt ``[round(seconds * sample_rate)]`` float32, peak 0.9 (see module docstring)."""
    sr, n = sample_rate, int(round(seconds * sample_rate))
    scale = SCALES[rng.choice(list(SCALES))]
    key = int(rng.integers(12))
    beat = int(sr * 60 / rng.uniform(70, 150))
    chord_len = beat * int(rng.choice([2, 4]))
    prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    seventh = rng.random() < 0.3

    def chord(i: int) -> list[int]:
        deg = prog[i % len(prog)]
        steps = (0, 2, 4, 6) if seventh else (0, 2, 4)
        return [key + scale[(deg + s) % 7] + 12 * ((deg + s) // 7) for s in steps]

    parts = {name: np.zeros(n) for name in ("pad", "keys", "bass", "lead", "drums")}
    use = {"pad": rng.random() < 0.6, "keys": rng.random() < 0.7, "bass": rng.random() < 0.8,
           "lead": rng.random() < 0.3, "drums": rng.random() < 0.7}
    if not (use["pad"] or use["keys"]):
        use[rng.choice(["pad", "keys"])] = True
    tilt = {k: rng.uniform(1.0, 2.5) for k in parts}
    arpeggio = rng.random() < 0.4
    decay = rng.uniform(0.3, 1.5)
    for i, start in enumerate(range(0, n, chord_len)):
        m = min(chord_len, n - start)
        notes = chord(i)
        if use["pad"]:
            for p in notes:
                hz = float(midi_to_hz(_fit(p, 48, 72)))
                parts["pad"][start:start + m] += _tone(hz, m, sr, rng, tilt["pad"] + 0.5, np.inf,
                                                       rng.uniform(0.05, 0.3))
        if use["keys"]:
            step = beat // 2 if arpeggio else beat
            for j, s in enumerate(range(start, start + m, step)):
                ring = min(chord_len, n - s)
                for p in ([notes[j % len(notes)]] if arpeggio else notes):
                    parts["keys"][s:s + ring] += _tone(float(midi_to_hz(_fit(p, 45, 76))), ring, sr, rng, tilt["keys"],
                                                       decay, 0.005)
        if use["bass"]:
            for s in range(start, start + m, beat):
                ring = min(beat, n - s)
                parts["bass"][s:s + ring] += _tone(float(midi_to_hz(_fit(notes[0], 28, 47))), ring, sr, rng,
                                                   tilt["bass"] + 0.5, 0.5, 0.01)
    if use["lead"]:
        s = 0
        while s < n:
            length = min(beat // 2 * int(rng.integers(1, 5)), n - s)
            if rng.random() < 0.8:
                p = _fit(key + scale[int(rng.integers(7))], 55, 84)
                parts["lead"][s:s + length] += _tone(float(midi_to_hz(p)), length, sr, rng, tilt["lead"], np.inf, 0.02)
            s += length
    if use["drums"]:
        parts["drums"] = _drums(n, sr, beat, rng)
    out = np.zeros(n)
    for name, x in parts.items():
        rms = np.sqrt(np.mean(x ** 2))
        if use[name] and rms > 0:
            out += x / rms * 10 ** (rng.uniform(-12, 0) / 20)
    return (0.9 * out / max(np.abs(out).max(), 1e-9)).astype(np.float32)


def band_backgrounds(n_clips: int, seconds: float, cfg: FeatureConfig, seed: int,
                     cache_dir: str | Path | None = None) -> np.ndarray:
    """``n_clips`` band excerpts as log-mel ``[n_clips, T, n_mels]`` (float16), reproducible from ``seed``.

    With ``cache_dir``, the array is stored there as ``<key>.band.npy`` (key: a SHA-1 of the
    arguments, the feature settings and :data:`BAND_VERSION`) and read back on the next call.
    """
    key = hashlib.sha1(json.dumps([n_clips, seconds, seed, BAND_VERSION, cfg.to_dict()], sort_keys=True)
                       .encode()).hexdigest()
    path = Path(cache_dir) / f"{key}.band.npy" if cache_dir is not None else None
    if path is not None and path.exists():
        try:
            return np.load(path, mmap_mode="r")
        except (OSError, ValueError):
            path.unlink()
    rng = np.random.default_rng(seed)
    mels = np.stack([log_mel(band_audio(rng, seconds, cfg.sample_rate), cfg).numpy().astype(np.float16)
                     for _ in tqdm(range(n_clips), desc="generating band", unit="clip")])
    if path is not None:
        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:  # a file object: np.save would append .npy to a name
                np.save(f, mels)

        atomic_write(path, write)
    return mels
