"""The streaming engine: audio blocks in, note events out.

One engine serves file mode, microphone mode and the GUI::

    blocks (any size, rate, channels)
      -> mono float32, non-finite samples zeroed          (_to_mono)
      -> resampled to 16 kHz (FFmpeg's swresample, stateful)
      -> every ``hop_seconds`` of audio:
           MelStream        new mel frames only               [k, 256]
           PosteriorStream  frames with enough right context  onset/offset/voiced/pitch [m]
           NoteDecoder      NoteOn / NoteOff events
      -> finish(): zero-pad the end, commit every frame, close open notes

Nothing is recomputed between hops: each mel frame and each model frame is
computed once (the conv front end sees its receptive field, the GRU carries
its state), which is equivalent to sliding overlapping 5 s windows over the
stream and keeping, for every frame, its first prediction that has the
model's full lookahead (that is the merge rule). Memory is bounded: the
engine keeps one window of samples, the model's context frames and the
open note. The notes do not depend on the block size or the hop: they equal
the offline transcription (:func:`svt_live.engine.offline.transcribe_audio`).

A non-causal model (a bidirectional recurrent part, for files) runs its
recurrent part over overlapping windows on a fixed grid of the stream
instead (see :mod:`svt_live.engine.inference`): the notes still equal the offline
ones, but its events arrive up to one window plus its context late (about
6 s for the default 5 s windows with 1 s of context); ``finish()`` flushes.
"""
from __future__ import annotations

from collections.abc import Callable

import av
import numpy as np
import torch

from svt_live.engine.checkpoint import LoadedModel
from svt_live.engine.decode import NoteDecoder
from svt_live.engine.features import MelExtractor, MelStream
from svt_live.engine.inference import PosteriorStream

LIVE_HOP = 0.02  # seconds of audio per model call in live mode: one frame (benchmarks/latency.py)
FILE_HOP = 2.0  # file mode: latency does not matter, bigger hops cost less overhead
MAX_SAMPLE = 1e6  # 120 dB over full scale: larger samples would overflow the mel power (float32)


MAX_CHANNELS = 64  # as FFmpeg's: an array with more columns than this holds samples, not channels


def time_major(samples) -> np.ndarray:
    """Samples as ``[n]`` or ``[n, channels]``: a ``[channels, n]`` array (librosa's and torchaudio's
    layout: at most :data:`MAX_CHANNELS` rows, more columns) is transposed (a view, no copy).

    Raises :class:`ValueError` for another number of dimensions, or when neither axis can be
    the channels (both longer than :data:`MAX_CHANNELS`).

    >>> time_major(np.zeros((2, 44100))).shape, time_major(np.zeros((44100, 2))).shape
    ((44100, 2), (44100, 2))
    """
    x = np.asarray(samples)
    if x.ndim == 2 and x.shape[1] > MAX_CHANNELS:
        if x.shape[0] > MAX_CHANNELS:
            raise ValueError(f"audio of shape {x.shape}: samples [n, channels] or [channels, n] with at most "
                             f"{MAX_CHANNELS} channels")
        return x.T
    if x.ndim not in (1, 2):
        raise ValueError(f"audio blocks must be [n] or [n, channels], got shape {x.shape}")
    return x


def _to_mono(block) -> np.ndarray:
    """Samples ``[n]`` or ``[n, channels]`` of any numeric dtype -> mono float32 ``[n]``.

    A ``[channels, n]`` array is read as such (:func:`time_major`).
    Integer samples are scaled to [-1, 1); NaN and Inf become 0; samples
    are clipped to +-``MAX_SAMPLE``, so a burst of garbage from a device
    cannot make the features infinite and the model's recurrent state NaN
    for the rest of the stream.
    """
    x = time_major(block)
    if x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        x = (x.astype(np.float64) - (info.max + info.min + 1) / 2) / ((info.max - info.min + 1) / 2)
    elif x.dtype != np.float64:  # float64 is clipped before it is narrowed; float16 and bool widened first
        x = x.astype(np.float32, copy=False)
    x = np.clip(np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0), -MAX_SAMPLE, MAX_SAMPLE)
    x = x.astype(np.float32, copy=False)
    return x.mean(axis=1, dtype=np.float32) if x.ndim == 2 else x


class Engine:
    """Streaming transcriber for one stream.

    ``lm``: loaded model; ``sample_rate``: rate of the pushed blocks (Hz);
    ``hop_seconds``: audio gathered before each model call (live: 0.02,
    file: 2.0); ``on_event``: optional callback for every event;
    ``on_frames``: optional callback ``(first_frame_index, posteriors)``
    for committed frame posteriors (used by the GUI's pitch contour);
    ``overlap``: file mode's throughput option, the recurrent part of one hop
    runs on a worker thread during the next hop (see
    :class:`~svt_live.engine.inference.PosteriorStream`), so events come one hop
    later but are the same; ``decoder``: what turns posteriors into events
    (default a :class:`~svt_live.engine.decode.NoteDecoder` with the model's settings;
    live mode's port uses an :class:`~svt_live.engine.early.EarlyNoteDecoder`);
    ``on_audio``: optional callback given every block of resampled audio (model
    rate) before the events it leads to (the sight-singing check measures sung
    pitches from it).
    """

    def __init__(self, lm: LoadedModel, sample_rate: int | None = None, hop_seconds: float = LIVE_HOP,
                 on_event: Callable | None = None, on_frames: Callable | None = None, overlap: bool = False,
                 decoder=None, on_audio: Callable | None = None):
        self.lm = lm
        self.sr = lm.features.sample_rate
        self.input_rate = self.sr if sample_rate is None else int(sample_rate)
        if self.input_rate <= 0:
            raise ValueError(f"sample rate must be positive, got {self.input_rate}")
        device = next(lm.model.parameters()).device
        self.mel = MelStream(MelExtractor(lm.features, device))
        self.post = PosteriorStream(lm, overlap)
        self.decoder = decoder or NoteDecoder(lm.decoding, lm.features.frame_seconds)
        self.hop = max(1, int(round(hop_seconds * self.sr)))
        self.on_event, self.on_frames, self.on_audio = on_event, on_frames, on_audio
        self._resampler = (av.AudioResampler(format="flt", layout="mono", rate=self.sr)
                           if self.input_rate != self.sr else None)
        self._pending: list[np.ndarray] = []
        self._n_pending = 0
        self.finished = False

    @property
    def stream_time(self) -> float:
        """Seconds of (16 kHz) audio consumed so far."""
        return self.mel.n_samples / self.sr

    @property
    def notes(self) -> np.ndarray:
        """Notes closed so far ``[n, 3]`` (onset s, offset s, MIDI)."""
        return self.decoder.notes

    @property
    def velocities(self) -> np.ndarray:
        """MIDI velocity of each note in :attr:`notes` ``[n]`` (the NoteOn's)."""
        return self.decoder.velocities

    def _resample(self, x: np.ndarray | None) -> np.ndarray:
        if self._resampler is None:
            return x if x is not None else np.zeros(0, np.float32)
        frame = None
        if x is not None:
            if not x.size:
                return np.zeros(0, np.float32)
            frame = av.AudioFrame.from_ndarray(x.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = self.input_rate
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def push(self, block) -> list:
        """Feed samples ``[n]`` or ``[n, channels]`` at ``sample_rate``; return new events."""
        if self.finished:
            raise RuntimeError("engine already finished")
        x = self._resample(_to_mono(block))
        if x.size:
            self._pending.append(x)
            self._n_pending += x.size
        if self._n_pending < self.hop:
            return []
        return self._process(final=False)

    def finish(self) -> list:
        """End of stream: process what is left, commit all frames, close open notes."""
        if self.finished:
            return []
        tail = self._resample(None)
        if tail.size:
            self._pending.append(tail)
        events = self._process(final=True)
        self.finished = True
        return events

    def _process(self, final: bool) -> list:
        samples = np.concatenate(self._pending) if self._pending else np.zeros(0, np.float32)
        self._pending, self._n_pending = [], 0
        if self.on_audio is not None and samples.size:
            self.on_audio(samples)
        mel = self.mel.push(samples)
        if final:
            mel = torch.cat([mel, self.mel.flush()])
        first = self.post.n_done
        post = self.post.push(mel)
        if final:
            rest = self.post.flush()
            post = {k: np.concatenate([post[k], rest[k]]) for k in post}
        if self.on_frames is not None and len(post["onset"]):
            self.on_frames(first, post)
        now = self.stream_time
        events = self.decoder.push(post, now=now)
        if final:
            events += self.decoder.flush(now=now)
        if self.on_event is not None:
            for ev in events:
                self.on_event(ev)
        return events


def transcribe_stream(blocks, lm: LoadedModel, sample_rate: int, hop_seconds: float = FILE_HOP,
                      on_event: Callable | None = None, overlap: bool = True) -> np.ndarray:
    """Run an iterable of sample blocks through a fresh :class:`Engine`; return its notes ``[n, 3]``."""
    from svt_live.engine.driver import Driver

    eng = Engine(lm, sample_rate, hop_seconds, on_event, overlap=overlap)
    Driver(eng).run(blocks)
    return eng.notes
