"""Audio file decoding with PyAV: any format FFmpeg reads, any rate, to mono."""
from __future__ import annotations

import warnings
from pathlib import Path

import av
import numpy as np

READ_ERRORS = (av.error.FFmpegError, OSError, ValueError)


class AudioError(ValueError):
    """Audio that cannot be used: missing, unreadable, empty or not audio."""


def _check_path(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty")


def _mono(frame: av.AudioFrame) -> np.ndarray:
    """Packed float frame ``[1, n * channels]`` -> channel average ``[n]`` float32.

    (Packed, not planar: PyAV's ``to_ndarray`` reads past the last plane of 8-channel planar frames.)
    """
    x = frame.to_ndarray().reshape(-1)
    channels = len(frame.layout.channels)
    return x if channels == 1 else x.reshape(-1, channels).mean(axis=1, dtype=np.float32)


def _finite(block: np.ndarray) -> np.ndarray:
    """``block`` with NaN / Inf samples set to 0, in place."""
    return block if np.isfinite(block).all() else np.nan_to_num(block, copy=False, nan=0.0, posinf=0.0, neginf=0.0)


def _samples(container, path: Path, sample_rate: int):
    """Mono float32 arrays at ``sample_rate`` from the container's first audio stream, in order.

    A packet that does not decode (corrupt bytes) is skipped, and one warning
    counts them; where the container's timestamps place the next good frame
    later, the gap becomes silence so that later notes keep their times. A
    read error (a file cut short) ends the stream there. Raises
    :class:`AudioError` when nothing decodes before an error.
    """
    # layout=None keeps the source's channels: forcing "stereo" upmixed mono files at -3 dB
    resampler = av.AudioResampler(format="flt", layout=None, rate=sample_rate)
    packets = container.demux(container.streams.audio[0])
    first_error, bad, decoded, after_bad = None, 0, False, False
    resume = None  # stream time (s) where the next frame should start
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except READ_ERRORS as exc:  # the file breaks off: keep what decoded
            first_error = first_error or exc
            break
        try:
            frames = packet.decode()
        except READ_ERRORS as exc:  # corrupt data: skip this packet
            first_error, bad, after_bad = first_error or exc, bad + 1, True
            continue
        for frame in frames:
            if after_bad and resume is not None and frame.time is not None and frame.time > resume:
                yield np.zeros(int(round((frame.time - resume) * sample_rate)), np.float32)
            after_bad, decoded = False, True
            resume = None if frame.time is None else frame.time + frame.samples / frame.sample_rate
            for out in resampler.resample(frame):
                yield _mono(out)
    if not decoded:
        if first_error is not None:
            raise AudioError(f"{path}: not a readable audio file ({first_error.__class__.__name__})")
        return
    for out in resampler.resample(None):
        yield _mono(out)
    if bad:
        warnings.warn(f"{path}: skipped {bad} undecodable packet(s), the file is corrupt or cut short "
                      f"({first_error.__class__.__name__})", stacklevel=2)


def iter_audio(path: str | Path, sample_rate: int = 16000, block_seconds: float = 1.0):
    """Decode ``path`` incrementally: yields mono float32 blocks ``[n]`` at ``sample_rate``.

    Memory stays flat in the file's length. Blocks are about ``block_seconds``
    long (the last one shorter). Same errors as :func:`load_audio`; a file
    that breaks off mid-way (truncated) ends the stream where decoding stops,
    and corrupt data in the middle is skipped with a warning.
    """
    path = Path(path)
    _check_path(path)
    target = max(1, int(block_seconds * sample_rate))
    buf, n, total = [], 0, 0
    try:
        container = av.open(str(path))
    except READ_ERRORS as exc:
        raise AudioError(f"{path}: not a readable audio file ({exc.__class__.__name__})") from None
    with container:
        if not container.streams.audio:
            raise AudioError(f"{path}: contains no audio stream")
        for x in _samples(container, path, sample_rate):
            buf.append(x)
            n += x.size
            if n >= target:
                block, buf, n = np.concatenate(buf), [], 0
                total += block.size
                yield _finite(block)
        if n:
            total += n
            yield _finite(np.concatenate(buf))
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
