"""Audio file decoding with PyAV: any format FFmpeg reads, any rate, to mono."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np


class AudioError(ValueError):
    """Audio that cannot be used: missing, unreadable, empty or not audio."""


def load_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """Decode ``path`` to mono float32 samples ``[N]`` at ``sample_rate`` Hz.

    Channels are averaged (PyAV's own mono downmix adds +3 dB and clips, so
    the resampler keeps stereo and we average). NaN/Inf samples become 0.
    Raises :class:`AudioError` with a one-line reason for a missing file,
    a file with no audio stream, undecodable data or zero-length audio.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty")
    chunks = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioError(f"{path}: contains no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=sample_rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
    except AudioError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        if not chunks:
            raise AudioError(f"{path}: not a readable audio file ({exc.__class__.__name__}: {exc})") from None
        # a truncated file: keep what decoded
    if not chunks:
        raise AudioError(f"{path}: contains no audio samples")
    audio = np.concatenate(chunks, axis=1).mean(axis=0).astype(np.float32)
    if audio.size == 0:
        raise AudioError(f"{path}: contains no audio samples")
    return np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
