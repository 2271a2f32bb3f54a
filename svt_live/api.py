"""The Python API: audio in, notes out, whole files or streamed.

Conventions: a :class:`Note` has ``onset`` and ``offset`` in seconds from
the start of the audio, ``pitch`` in fractional MIDI numbers (69.0 = A4 =
440 Hz) and a MIDI ``velocity`` 1-127. Samples are mono ``[n]``,
``[n, channels]`` or ``[channels, n]`` arrays (floats at full scale 1.0, or
integers; at most 64 channels) at ``sample_rate`` Hz (required: a whole
number from 1000 to 768000), resampled to the model's 16 kHz and fed to the
model a few seconds at a time (memory does not grow with the length). Bad
arguments raise one :class:`ValueError` saying which. A model is a bundled
name (``svt-live --list-models``), a checkpoint path or a model already
loaded with :func:`load_model`; ``None`` is the shipped default.

Examples
--------
>>> import svt_live
>>> notes = svt_live.transcribe(svt_live.EXAMPLE_AUDIO)
>>> len(notes) > 10, notes[0].onset < notes[0].offset <= notes[1].onset
(True, True)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from svt_live.engine.checkpoint import LoadedModel
from svt_live.notes import note_name

EXAMPLE_AUDIO = Path(__file__).parent / "data" / "vocadito_10.wav"  # 10 s of solo singing (vocadito)
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1000, 768_000  # Hz: below, FFmpeg resamples 1 s to hours; above, no audio
PUSH_SECONDS = 10.0  # a long array goes to the engine in blocks of this much audio: bounded memory, few calls


def check_sample_rate(sample_rate) -> int:
    """``sample_rate`` (Hz) as an int, or a :class:`ValueError` saying what a usable one is.

    >>> check_sample_rate(44100.0)
    44100
    >>> check_sample_rate(None)
    Traceback (most recent call last):
    ...
    ValueError: sample_rate is required with an array of samples: its rate in Hz, e.g. sample_rate=44100
    """
    if sample_rate is None:
        raise ValueError("sample_rate is required with an array of samples: its rate in Hz, e.g. sample_rate=44100")
    try:
        rate = float(sample_rate)
    except (TypeError, ValueError):
        rate = math.nan
    if not (math.isfinite(rate) and rate == int(rate) and MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE):
        raise ValueError(f"sample_rate must be a whole number of Hz from {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE}, "
                         f"got {sample_rate!r}")
    return int(rate)


@dataclass(frozen=True)
class Note:
    """One transcribed note.

    Attributes
    ----------
    onset, offset : float
        Seconds from the start of the audio.
    pitch : float
        Fractional MIDI note number, the pitch as sung (60.3 is C4, 30 cents sharp).
    velocity : int
        1-127, from the onset's strength.

    Examples
    --------
    >>> n = Note(0.5, 1.25, 60.3, 80)
    >>> n.name, round(n.offset - n.onset, 2)
    ('C4', 0.75)
    """

    onset: float
    offset: float
    pitch: float
    velocity: int

    @property
    def name(self) -> str:
        """Nearest equal-tempered note name, e.g. ``'A4'``."""
        return note_name(self.pitch)


def _notes(rows: np.ndarray, velocities) -> list[Note]:
    return [Note(float(a), float(b), float(p), int(v)) for (a, b, p), v in zip(rows, velocities)]


@lru_cache(maxsize=4)
def _cached(name_or_path: str | None, device: str) -> LoadedModel:
    from svt_live.engine.checkpoint import load_model as load
    return load(name_or_path, device)


def load_model(name_or_path: str | Path | None = None, device: str = "cpu") -> LoadedModel:
    """Load a model once; later calls with the same name return the same object.

    Parameters
    ----------
    name_or_path : str or pathlib.Path, optional
        A bundled model's name or a checkpoint file (default: the shipped default).
    device : str
        ``'cpu'``, ``'cuda'``, ``'cuda:N'``, ``'mps'`` or ``'auto'`` (CUDA, then MPS, else CPU).

    Returns
    -------
    LoadedModel
        The network in eval mode with its feature and decoding settings.

    Raises
    ------
    svt_live.engine.checkpoint.CheckpointError
        The name is not bundled, or the file is not a usable checkpoint.
    ValueError
        ``device`` is not one of the above, or not on this machine (``'cuda'`` without CUDA).

    Examples
    --------
    >>> import svt_live
    >>> model = svt_live.load_model()
    >>> model is svt_live.load_model(), model.features.sample_rate
    (True, 16000)
    """
    from svt_live.engine.device import pick_device

    try:
        pick_device(str(device))
    except ValueError as exc:
        raise ValueError(f"load_model(device={device!r}): {str(exc).split(': ', 1)[-1]}") from None
    return _cached(None if name_or_path is None else str(name_or_path), str(device))


def _model(model) -> LoadedModel:
    return model if isinstance(model, LoadedModel) else load_model(model)


def transcribe(path_or_samples, sample_rate: int | None = None, model=None) -> list[Note]:
    """Transcribe an audio file or an array of samples.

    Parameters
    ----------
    path_or_samples : str, pathlib.Path or numpy.ndarray
        An audio file (any format FFmpeg reads), or samples ``[n]``, ``[n, channels]`` or ``[channels, n]``.
    sample_rate : int
        Rate of the samples in Hz, required with samples. Not used for a file.
    model : str, pathlib.Path or LoadedModel, optional
        The model (default: the shipped default).

    Returns
    -------
    list of Note
        In onset order.

    Raises
    ------
    svt_live.io.audio.AudioError
        A file that is missing or holds no decodable audio.
    ValueError
        Samples without a usable ``sample_rate``, or not of a shape above.

    Examples
    --------
    >>> import numpy as np, svt_live
    >>> from svt_live.io.audio import load_audio
    >>> samples = load_audio(svt_live.EXAMPLE_AUDIO, 44100)
    >>> notes = svt_live.transcribe(samples, sample_rate=44100)
    >>> from_file = svt_live.transcribe(svt_live.EXAMPLE_AUDIO)
    >>> [(n.onset, n.offset) for n in notes] == [(n.onset, n.offset) for n in from_file]
    True
    >>> print(f"{notes[0].name} from {notes[0].onset:.2f} s")  # doctest: +SKIP
    B2 from 0.40 s
    """
    lm = _model(model)
    if isinstance(path_or_samples, (str, Path)):
        from svt_live.engine.offline import transcribe_path
        t = transcribe_path(path_or_samples, lm)
        return _notes(t.notes, t.velocities)
    stream = Transcriber(lm, sample_rate)
    stream.push(path_or_samples)  # in blocks: memory stays flat
    stream.finish()
    return stream.notes


class Transcriber:
    """Streaming transcription: push samples as they come, get note events.

    Two paths, both pushed the same way:

    - default (``live=False``): the model's own streaming decoder. Its NoteOns come a median of
      120 ms (p95 160 ms) after the sung onset: the "accurate path" of ``python -m
      benchmarks.latency`` (SSVD dev, docs/low-latency.md).
    - ``live=True``: live mode's low-latency path (:class:`~svt_live.engine.lowlatency.LowLatencyEngine`,
      as ``svt-live --input mic`` runs it): :meth:`push` returns the early events of the live
      network (``live_model``, default ``singing_crnn_live``), NoteOns a median of 30 ms (p95 70
      ms) after the sung onset (``python -m benchmarks.latency``, SSVD dev, 26 songs;
      docs/low-latency.md), with fewer right notes than the files (81.3 % COnP F1 as heard against
      89.0 %); :attr:`notes` stay the model's accurate notes, those of :func:`transcribe`.

    Both latencies are engine latency: from the audio reaching :meth:`push` to the event; the
    audio's own buffering before that (sound card period, PortAudio) comes on top.

    Parameters
    ----------
    model : str, pathlib.Path or LoadedModel, optional
        The model (default: the shipped default): the notes.
    sample_rate : int
        Rate of the pushed samples in Hz (required).
    live : bool
        Run the low-latency path (above).
    live_model : str, pathlib.Path or LoadedModel, optional
        With ``live``: the causal network of the early events (default ``singing_crnn_live``).
    bends : bool
        With ``live``: also return :class:`~svt_live.events.PitchBend` events (the sung contour
        around each note's number, as ``--pitch-bends`` sends them).

    Examples
    --------
    >>> import svt_live
    >>> from svt_live.io.audio import load_audio
    >>> from svt_live.events import NoteOff, NoteOn
    >>> audio = load_audio(svt_live.EXAMPLE_AUDIO, 16000)
    >>> t = svt_live.Transcriber(sample_rate=16000)
    >>> events = []
    >>> for i in range(0, len(audio), 1600):  # 100 ms at a time, as from a microphone
    ...     events += t.push(audio[i:i + 1600])
    >>> events += t.finish()
    >>> sum(isinstance(e, NoteOn) for e in events) == sum(isinstance(e, NoteOff) for e in events) == len(t.notes)
    True
    >>> whole = svt_live.transcribe(audio, 16000)  # the same notes, to float32 rounding of the pitch
    >>> [(n.onset, n.offset, n.velocity) for n in t.notes] == [(n.onset, n.offset, n.velocity) for n in whole]
    True
    >>> fast = svt_live.Transcriber(sample_rate=16000, live=True)  # early events, the same notes
    >>> early = [e for i in range(0, len(audio), 160) for e in fast.push(audio[i:i + 160])] + fast.finish()
    >>> [(n.onset, n.offset) for n in fast.notes] == [(n.onset, n.offset) for n in whole]
    True
    """

    def __init__(self, model=None, sample_rate: int | None = None, live: bool = False, live_model=None,
                 bends: bool = False):
        from svt_live.engine.streaming import LIVE_HOP, Engine
        rate = check_sample_rate(sample_rate)
        lm = _model(model)
        if live:
            from svt_live.engine.lowlatency import LowLatencyEngine, load_live_model
            device = next(lm.model.parameters()).device
            live_lm = live_model if isinstance(live_model, LoadedModel) else load_live_model(
                None if live_model is None else str(live_model), device)
            self._engine = LowLatencyEngine(lm, live_lm, rate, LIVE_HOP, bends)
        elif live_model is not None or bends:
            raise ValueError("live_model and bends need live=True")
        else:
            self._engine = Engine(lm, rate, LIVE_HOP)
        self.live = bool(live)
        self._block = int(PUSH_SECONDS * rate)

    def push(self, samples) -> list:
        """Feed audio; return the events it completed.

        Parameters
        ----------
        samples : array_like, shape (n,), (n, channels) or (channels, n)
            Audio at the transcriber's ``sample_rate``, any length: a long array is fed
            :data:`PUSH_SECONDS` at a time, so memory does not grow with it.

        Returns
        -------
        list
            The new :class:`~svt_live.events.NoteOn` / :class:`~svt_live.events.NoteOff` events in
            time order (with ``live``: the live network's early events, and
            :class:`~svt_live.events.PitchBend` with ``bends``).
        """
        from svt_live.engine.streaming import time_major

        x = time_major(samples)
        events = []
        for start in range(0, len(x), self._block):
            events += self._engine.push(x[start:start + self._block])
        return events

    def finish(self) -> list:
        """End of the stream.

        Returns
        -------
        list
            The remaining events: the audio still buffered is transcribed and every open note is
            closed with its :class:`~svt_live.events.NoteOff`.
        """
        return self._engine.finish()

    @property
    def notes(self) -> list[Note]:
        """Notes closed so far, in onset order (with ``live``: the model's accurate notes, not the
        early events')."""
        return _notes(self._engine.notes, self._engine.velocities)
