"""Offline transcription: audio -> features -> posteriors -> notes."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from svt_live.engine.checkpoint import LoadedModel
from svt_live.engine.decode import decode_notes
from svt_live.engine.features import MelExtractor
from svt_live.engine.inference import frame_posteriors
from svt_live.io.audio import load_audio


def transcribe_audio(audio: np.ndarray, lm: LoadedModel) -> tuple[np.ndarray, dict]:
    """Transcribe mono ``audio [N]`` at ``lm.features.sample_rate``.

    Returns ``(notes [n, 3] (onset s, offset s, MIDI), posteriors)`` where
    ``posteriors`` holds the frame curves ``onset``, ``offset``, ``voiced``,
    ``pitch``, each ``[T]`` with ``T = N // hop + 1``.
    """
    device = next(lm.model.parameters()).device
    mel = MelExtractor(lm.features, device)(audio)
    post = frame_posteriors(lm, mel)
    return decode_notes(post, lm.decoding, lm.features.frame_seconds), post


def transcribe_file(path: str | Path, lm: LoadedModel) -> tuple[np.ndarray, dict]:
    """Decode an audio file (any format PyAV reads) and transcribe it."""
    return transcribe_audio(load_audio(path, lm.features.sample_rate), lm)


@dataclass
class Transcription:
    """What file mode keeps of one input.

    ``notes``: ``[n, 3]`` (onset s, offset s, fractional MIDI); ``velocities``:
    ``[n]`` int, the NoteOn velocity of each note
    (:func:`svt_live.engine.decode.note_velocity`); ``contours``: with
    ``contours=True`` in :func:`transcribe_path`, each note's sung pitch as
    ``(times_s [k], midi [k])`` over its voiced frames, else ``None``.
    """

    notes: np.ndarray
    velocities: np.ndarray
    contours: list | None = None


def note_contours(notes: np.ndarray, pitch: np.ndarray, voiced: np.ndarray, frame_seconds: float,
                  voiced_threshold: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each note's voiced frames: ``[(times_s [k], midi [k]), ...]`` from frame curves ``pitch [T]``, ``voiced [T]``."""
    out = []
    for on, off, _ in notes:
        a, b = int(round(on / frame_seconds)), int(round(off / frame_seconds))
        idx = np.arange(a, min(b, len(pitch)))
        idx = idx[voiced[idx] >= voiced_threshold]
        out.append((idx * frame_seconds, pitch[idx].astype(np.float64)))
    return out


def transcribe_blocks(blocks, lm: LoadedModel, sample_rate: int, hop_seconds: float, contours: bool = False,
                      on_block: Callable | None = None, sinks=(), overlap: bool = True,
                      on_audio: Callable | None = None) -> Transcription:
    """Run sample blocks ``[n]`` at ``sample_rate`` through a fresh engine; keep what file mode needs.

    ``contours``: also keep each note's sung pitch contour (for pitch bends);
    ``on_block``: called after every block (e.g. to honour a stop request);
    ``sinks``: :class:`~svt_live.engine.driver.Driver` sinks, given the events of every block (those with a
    ``close()`` are closed at the end: :func:`~svt_live.engine.runner.run_take`); an error of the
    source propagates;
    ``on_audio``: the engine's audio callback (:class:`~svt_live.engine.streaming.Engine`).
    """
    from svt_live.engine.runner import pick_engine, run_take

    frames: dict[str, list] = {"pitch": [], "voiced": []}

    def keep(first: int, post: dict) -> None:
        for k in frames:
            frames[k].append(post[k])
    eng = pick_engine(lm, sample_rate, hop_seconds=hop_seconds, on_frames=keep if contours else None,
                      overlap=overlap, on_audio=on_audio)
    run_take(eng, blocks, list(sinks) + ([lambda events: on_block()] if on_block is not None else []), failures=())
    result = Transcription(eng.notes, eng.velocities)
    if contours:
        pitch, voiced = (np.concatenate(frames[k]) if frames[k] else np.zeros(0) for k in ("pitch", "voiced"))
        result.contours = note_contours(result.notes, pitch, voiced, lm.features.frame_seconds,
                                        lm.decoding.voiced_threshold)
    return result


def transcribe_path(path: str | Path, lm: LoadedModel, contours: bool = False,
                    on_block: Callable | None = None, hop_seconds: float | None = None,
                    overlap: bool = True) -> Transcription:
    """Transcribe an audio file in 5 s blocks (memory flat in its length: :func:`~svt_live.io.blocks.file_blocks`);
    see :func:`transcribe_blocks`.

    ``hop_seconds``: audio per model call (default ``FILE_HOP``; the notes do not change); ``overlap``:
    run the recurrent part on a second thread (see :class:`~svt_live.engine.inference.PosteriorStream`).
    """
    from svt_live.engine.streaming import FILE_HOP
    from svt_live.io.blocks import file_blocks

    sr = lm.features.sample_rate
    return transcribe_blocks(file_blocks(path, sr), lm, sr, hop_seconds or FILE_HOP, contours, on_block,
                             overlap=overlap)
