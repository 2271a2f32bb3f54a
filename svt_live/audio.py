"""Audio file decoding with PyAV: any format FFmpeg reads, any rate, to mono."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np


class AudioError(ValueError):
    """Audio that cannot be used: missing, unreadable, empty or not audio."""


def _check_path(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty")


def iter_audio(path: str | Path, sample_rate: int = 16000, block_seconds: float = 1.0):
    """Decode ``path`` incrementally: yields mono float32 blocks ``[n]`` at ``sample_rate``.

    Memory stays flat in the file's length. Blocks are about ``block_seconds``
    long (the last one shorter). Same errors as :func:`load_audio`; a file
    that breaks off mid-way (truncated) ends the stream where decoding stops.
    """
    path = Path(path)
    _check_path(path)
    target = max(1, int(block_seconds * sample_rate))
    buf, n, total = [], 0, 0
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise AudioError(f"{path}: not a readable audio file ({exc.__class__.__name__})") from None
    with container:
        if not container.streams.audio:
            raise AudioError(f"{path}: contains no audio stream")
        # layout=None keeps the source's channels: forcing "stereo" upmixed mono files at -3 dB
        resampler = av.AudioResampler(format="fltp", layout=None, rate=sample_rate)
        frames = container.decode(container.streams.audio[0])
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                frame = None
            except (av.error.FFmpegError, OSError, ValueError) as exc:
                if total + n == 0:
                    raise AudioError(f"{path}: not a readable audio file ({exc.__class__.__name__})") from None
                frame = None  # truncated or corrupt tail: keep what decoded
            for out in resampler.resample(frame):
                x = np.nan_to_num(out.to_ndarray().mean(axis=0), nan=0.0, posinf=0.0, neginf=0.0)
                buf.append(x.astype(np.float32))
                n += x.size
            if n >= target or (frame is None and n):
                block = np.concatenate(buf)
                buf, n = [], 0
                total += block.size
                yield block
            if frame is None:
                break
    if total == 0:
        raise AudioError(f"{path}: contains no audio samples")


def load_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """Decode ``path`` to mono float32 samples ``[N]`` at ``sample_rate`` Hz.

    Channels are averaged (PyAV's own mono downmix adds +3 dB and clips, so
    the resampler keeps the source's channels and we average; a mono file
    comes back sample for sample). NaN/Inf samples become 0.
    Raises :class:`AudioError` with a one-line reason for a missing file,
    a file with no audio stream, undecodable data or zero-length audio.
    """
    return np.concatenate(list(iter_audio(path, sample_rate, block_seconds=60.0)))
