"""The Python API: audio in, notes out, whole files or streamed.

Conventions: a :class:`Note` has ``onset`` and ``offset`` in seconds from
the start of the audio, ``pitch`` in fractional MIDI numbers (69.0 = A4 =
440 Hz) and a MIDI ``velocity`` 1-127. Samples are mono ``[n]`` or
``[n, channels]`` arrays (floats at full scale 1.0, or integers) at
``sample_rate`` Hz, resampled to the model's 16 kHz. A model is a bundled
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

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .checkpoint import LoadedModel
from .notes import note_name

EXAMPLE_AUDIO = Path(__file__).parent / "data" / "vocadito_10.wav"  # 10 s of solo singing (vocadito)


@dataclass(frozen=True)
class Note:
    """One transcribed note: ``onset`` and ``offset`` (s), fractional MIDI ``pitch``, ``velocity`` 1-127."""

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
    from .checkpoint import load_model as load
    return load(name_or_path, device)


def load_model(name_or_path: str | Path | None = None, device: str = "cpu") -> LoadedModel:
    """Load a model once; later calls with the same name return the same object.

    Parameters
    ----------
    name_or_path : str or pathlib.Path, optional
        A bundled model's name or a checkpoint file (default: the shipped default).
    device : str
        ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.

    Returns
    -------
    LoadedModel
        The network in eval mode with its feature and decoding settings.

    Raises
    ------
    svt_live.checkpoint.CheckpointError
        The name is not bundled, or the file is not a usable checkpoint.

    Examples
    --------
    >>> import svt_live
    >>> model = svt_live.load_model()
    >>> model is svt_live.load_model(), model.features.sample_rate
    (True, 16000)
    """
    return _cached(None if name_or_path is None else str(name_or_path), str(device))


def _model(model) -> LoadedModel:
    return model if isinstance(model, LoadedModel) else load_model(model)


def transcribe(path_or_samples, sample_rate: int | None = None, model=None) -> list[Note]:
    """Transcribe an audio file or an array of samples.

    Parameters
    ----------
    path_or_samples : str, pathlib.Path or numpy.ndarray
        An audio file (any format FFmpeg reads), or samples ``[n]`` / ``[n, channels]``.
    sample_rate : int, optional
        Rate of the samples in Hz (default: the model's, 16000). Not used for a file.
    model : str, pathlib.Path or LoadedModel, optional
        The model (default: the shipped default).

    Returns
    -------
    list of Note
        In onset order.

    Raises
    ------
    svt_live.audio.AudioError
        A file that is missing or holds no decodable audio.

    Examples
    --------
    >>> import numpy as np, svt_live
    >>> from svt_live.audio import load_audio
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
        from .offline import transcribe_path
        t = transcribe_path(path_or_samples, lm)
        return _notes(t.notes, t.velocities)
    stream = Transcriber(lm, sample_rate)
    stream.push(path_or_samples)
    stream.finish()
    return stream.notes


class Transcriber:
    """Streaming transcription: push samples as they come, get note events.

    Parameters
    ----------
    model : str, pathlib.Path or LoadedModel, optional
        The model (default: the shipped default).
    sample_rate : int, optional
        Rate of the pushed samples in Hz (default: the model's, 16000).

    Examples
    --------
    >>> import svt_live
    >>> from svt_live.audio import load_audio
    >>> from svt_live.events import NoteOff, NoteOn
    >>> audio = load_audio(svt_live.EXAMPLE_AUDIO, 16000)
    >>> t = svt_live.Transcriber()
    >>> events = []
    >>> for i in range(0, len(audio), 1600):  # 100 ms at a time, as from a microphone
    ...     events += t.push(audio[i:i + 1600])
    >>> events += t.finish()
    >>> sum(isinstance(e, NoteOn) for e in events) == sum(isinstance(e, NoteOff) for e in events) == len(t.notes)
    True
    >>> whole = svt_live.transcribe(audio, 16000)  # the same notes, to float32 rounding of the pitch
    >>> [(n.onset, n.offset, n.velocity) for n in t.notes] == [(n.onset, n.offset, n.velocity) for n in whole]
    True
    """

    def __init__(self, model=None, sample_rate: int | None = None):
        from .engine import LIVE_HOP, Engine
        lm = _model(model)
        self._engine = Engine(lm, sample_rate, LIVE_HOP)

    def push(self, samples) -> list:
        """Feed samples ``[n]`` or ``[n, channels]``; return the new
        :class:`~svt_live.events.NoteOn` / :class:`~svt_live.events.NoteOff` events."""
        return self._engine.push(samples)

    def finish(self) -> list:
        """End of the stream: return the remaining events (open notes are closed)."""
        return self._engine.finish()

    @property
    def notes(self) -> list[Note]:
        """Notes closed so far, in onset order."""
        return _notes(self._engine.notes, self._engine.velocities)
