"""The sung fundamental under notes: a harmonic-sum search near a pitch, frame by frame.

Pitches in fractional MIDI numbers; frames are the feature frames of
:class:`~svt_live.engine.features.FeatureConfig` (frame ``t`` centred on sample
``t * hop``). :func:`note_pitches` measures each note's pitch the way the
as-sung references of ``svt_train.f0`` are measured (the note's median
frame f0, its first and last frame left out when it has more than four:
onset and release glides), so a check against a score rounded from them
compares like with like. :class:`NotePitcher` does the same for a take as
it runs (live marks, and the file check, which streams its audio), keeping
only the last half minute of audio.
"""
from __future__ import annotations

import numpy as np
import torch

from svt_live.engine.features import FeatureConfig, audio_frames
from svt_live.theory.tuning import midi_to_hz

F0_NFFT, F0_TOP_HZ, F0_STEP = 4096, 4000.0, 0.05  # zero-padded FFT, highest harmonic, search step (semitones)
F0_CHUNK = 512  # frames per FFT batch: the spectrum held at once is this many frames, whatever the audio's length


def harmonic_f0(audio: np.ndarray, near: np.ndarray, cfg: FeatureConfig = FeatureConfig(),
                semitones: float = 1.0) -> np.ndarray:
    """Sung fundamental (MIDI) of each feature frame ``[T]`` within ``semitones`` of ``near [T]`` (MIDI, 0 =
    skip): the candidate whose harmonics (``k f0 < 4 kHz``) sum the most magnitude in the frame's
    zero-padded spectrum (the features' framing and Hann window)."""
    n = len(near)
    frames = audio_frames(torch.from_numpy(np.asarray(audio, np.float32)), cfg)[:n]  # a view
    window = torch.hann_window(cfg.win)
    steps = np.arange(-semitones, semitones + 1e-9, F0_STEP)
    out = np.zeros(n, np.float32)
    wanted = np.nonzero(near[:len(frames)] > 0)[0]
    for c in range(0, len(wanted), F0_CHUNK):  # only the frames asked for, a batch at a time
        idx = wanted[c:c + F0_CHUNK]
        mag = torch.fft.rfft(frames[torch.from_numpy(idx)] * window, n=F0_NFFT).abs().numpy()
        for row, t in enumerate(idx):
            hz = midi_to_hz(near[t] + steps)
            k = np.arange(1, max(1, int(F0_TOP_HZ / hz.max())) + 1)
            pos = np.outer(hz, k) * F0_NFFT / cfg.sample_rate  # fractional FFT bins [candidates, harmonics]
            lo = np.floor(pos).astype(int)
            frac = pos - lo
            salience = (mag[row, lo] * (1 - frac) + mag[row, lo + 1] * frac).sum(1)
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


class NotePitcher:
    """The sung pitch of each note of a running take, measured as the note ends.

    :meth:`push` the take's audio (mono, ``cfg.sample_rate``, in order); :meth:`measure` a note that
    has ended: :func:`note_pitches` over the audio around it, so a note measured here reads as it
    reads on the whole recording. Only the last ``keep_seconds`` of audio are kept (memory flat in
    the take's length); a longer note is measured over its part still kept.
    """

    MARGIN_S = 0.1  # audio kept either side of a note: frames at its edges see real samples, not padding

    def __init__(self, cfg: FeatureConfig = FeatureConfig(), keep_seconds: float = 30.0):
        if not keep_seconds > 0:
            raise ValueError(f"keep_seconds must be positive, got {keep_seconds}")
        self.cfg = cfg
        self.keep = int(keep_seconds * cfg.sample_rate)
        self._blocks: list[np.ndarray] = []
        self._start = 0  # sample index of the first sample kept
        self._end = 0  # samples pushed so far

    def push(self, samples: np.ndarray) -> None:
        """Append mono samples ``[n]`` at ``cfg.sample_rate``."""
        samples = np.asarray(samples, np.float32).reshape(-1)
        if not samples.size:
            return
        self._blocks.append(samples)
        self._end += samples.size
        while len(self._blocks) > 1 and self._end - self._start - self._blocks[0].size >= self.keep:
            self._start += self._blocks.pop(0).size

    def _window(self, onset_s: float, offset_s: float):
        """``(audio, its start s)`` kept around a note, starting on a frame of the whole take; None if none."""
        hop, sr = self.cfg.hop, self.cfg.sample_rate
        first = max(self._start, int(np.floor((onset_s - self.MARGIN_S) * sr / hop)) * hop)
        first += (-first) % hop  # a whole number of hops: frames fall where they fall on the whole take
        last = min(self._end, int(np.ceil((offset_s + self.MARGIN_S) * sr)))
        if last - first <= 0 or offset_s * sr <= first:
            return None
        return np.concatenate(self._blocks)[first - self._start:last - self._start], first / sr

    def measure(self, onset_s: float, offset_s: float, midi: float) -> float:
        """Sung pitch (MIDI) of the note ``(onset_s, offset_s, midi)`` (take seconds): as
        :func:`note_pitches`, ``midi`` where none of its audio is kept."""
        kept = self._window(onset_s, offset_s)
        if kept is None:
            return float(midi)
        audio, shift = kept
        note = np.array([[max(onset_s - shift, 0.0), offset_s - shift, midi]])
        return float(note_pitches(note, audio, self.cfg)[0])

    def measure_parts(self, onset_s: float, offset_s: float, midi: float) -> list[tuple[float, float, float]]:
        """The note as sung: ``[(onset_s, offset_s, pitch)]``, or two notes where its fundamental steps to
        another pitch and stays there (:func:`pitch_step`: a legato change the transcription did not
        split), each part's pitch as :meth:`measure` reads it."""
        kept = self._window(onset_s, offset_s)
        if kept is not None:
            audio, shift = kept
            fs = self.cfg.frame_seconds
            a, b = int(round((onset_s - shift) / fs)), int(round((offset_s - shift) / fs))
            near = np.zeros(len(audio) // self.cfg.hop + 1, np.float32)
            near[max(a, 0):b] = midi
            contour = harmonic_f0(audio, near, self.cfg, semitones=STEP_SEARCH)[max(a, 0):b]
            k = pitch_step(contour, fs)
            if k is not None:
                cut = shift + (max(a, 0) + k) * fs
                return [(onset_s, cut, self.measure(onset_s, cut, float(np.median(contour[:k])))),
                        (cut, offset_s, self.measure(cut, offset_s, float(np.median(contour[k:]))))]
        return [(onset_s, offset_s, self.measure(onset_s, offset_s, midi))]


STEP_SEARCH = 3.0  # semitones either side of a note searched for a change of pitch inside it
STEP_MIN, STEP_PART_S, STEP_SPREAD = 1.2, 0.2, 0.3  # semitones, seconds, semitones (median |deviation|)


def pitch_step(contour: np.ndarray, frame_seconds: float) -> int | None:
    """Where a note's f0 contour ``[k]`` (MIDI) steps to another pitch: the frame splitting it into two parts
    of at least ``STEP_PART_S`` whose medians differ by ``STEP_MIN`` semitones or more and each hold steady
    (median absolute deviation under ``STEP_SPREAD``, the edge frames of each left out); None if it does not.

    >>> pitch_step(np.r_[np.full(20, 58.0), np.full(15, 60.1)], 0.02)
    20
    >>> pitch_step(np.r_[np.full(20, 58.0), np.full(15, 58.9)], 0.02) is None
    True
    """
    m = int(np.ceil(STEP_PART_S / frame_seconds))
    if len(contour) < 2 * m:
        return None
    best, best_cost = None, np.inf
    for k in range(m, len(contour) - m + 1):
        left, right = contour[:k], contour[k:]
        cost = np.abs(left - np.median(left)).sum() + np.abs(right - np.median(right)).sum()
        if cost < best_cost:
            best, best_cost = k, cost
    left, right = contour[2:best - 2], contour[best + 2:-2]  # glides at the edges left out
    steady = all(np.median(np.abs(x - np.median(x))) < STEP_SPREAD for x in (left, right))
    return best if steady and abs(np.median(left) - np.median(right)) >= STEP_MIN else None
