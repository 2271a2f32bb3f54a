"""Audio file decoding with PyAV: any format FFmpeg reads, any rate, to mono."""
from __future__ import annotations

import contextlib
import signal
import threading
import warnings
from pathlib import Path

import av
import numpy as np

READ_ERRORS = (av.error.FFmpegError, OSError, ValueError)


class AudioError(ValueError):
    """Audio that cannot be used: missing, unreadable, empty or not audio."""


_DEFERRED = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def deferred_signals():
    """Defer SIGINT and SIGTERM while FFmpeg decodes, then hand them to the handlers they had.

    PyAV's compiled code drops an exception raised inside it, and Python runs a
    signal's handler wherever the main thread happens to be: 4 of 60 Ctrl-Cs sent
    while a file was decoding vanished, the ``KeyboardInterrupt`` raised inside
    ``AudioResampler.resample``. Here a signal only records itself until the call
    returns; then the previous handler runs in Python code that lets its exception
    through. Main thread only (Python runs signal handlers nowhere else).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    saved = {sig: signal.getsignal(sig) for sig in _DEFERRED}
    saved = {sig: h for sig, h in saved.items() if h is not None}  # None: set outside Python, left alone
    for sig in saved:
        signal.signal(sig, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        for sig in caught:
            if callable(saved[sig]):
                saved[sig](sig, None)
            elif saved[sig] == signal.SIG_DFL:  # the default action (terminate), as if it came now
                signal.raise_signal(sig)


STDIN = "-"  # the input file name that reads standard input
# what a folder of songs is searched for (svt-live's batches, svt-train's folder data sets); any
# other file FFmpeg decodes is still read when named
AUDIO_EXTENSIONS = frozenset({".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".aif",
                              ".aiff", ".wma", ".webm", ".mp4", ".mka"})


def _check_path(path: Path) -> None:
    """Refuse a missing file, a folder or an empty regular file; a FIFO, a pipe (``/dev/stdin``,
    ``<(...)``) or ``-`` passes: its size is only known once read."""
    if str(path) == STDIN:
        return
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if path.is_file() and path.stat().st_size == 0:
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


def _resampled(resampler, frame, path: Path):
    """Mono blocks of one frame through ``resampler`` (``None``: what it still holds); a layout
    FFmpeg cannot convert (more than 64 channels) is an :class:`AudioError`."""
    try:
        blocks = resampler.resample(frame)
    except READ_ERRORS as exc:
        channels = f"{len(frame.layout.channels)}-channel " if frame is not None else ""
        raise AudioError(f"{path}: cannot convert its {channels}audio ({exc.__class__.__name__})") from None
    for out in blocks:
        yield _mono(out)


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
            yield from _resampled(resampler, frame, path)
    if not decoded:
        if first_error is not None:
            raise AudioError(f"{path}: not a readable audio file ({first_error.__class__.__name__})")
        raise AudioError(f"{path}: contains no audio samples")
    yield from _resampled(resampler, None, path)
    if bad:
        warnings.warn(f"{path}: skipped {bad} undecodable packet(s), the file is corrupt or cut short "
                      f"({first_error.__class__.__name__})", stacklevel=2)


def _gather(samples, target: int) -> np.ndarray | None:
    """The next ``target`` or more samples from the ``_samples`` generator (fewer at its end, None after)."""
    buf, n = [], 0
    for x in samples:
        buf.append(x)
        n += x.size
        if n >= target:
            break
    return np.concatenate(buf) if n else None


def iter_audio(path: str | Path, sample_rate: int = 16000, block_seconds: float = 1.0):
    """Decode ``path`` incrementally: yields mono float32 blocks ``[n]`` at ``sample_rate``.

    ``path`` may be a FIFO or a pipe, and ``"-"`` reads standard input.

    Memory stays flat in the file's length. Blocks are about ``block_seconds``
    long (the last one shorter). Same errors as :func:`load_audio`; a file
    that breaks off mid-way (truncated) ends the stream where decoding stops,
    and corrupt data in the middle is skipped with a warning.
    """
    path = Path(path)
    _check_path(path)
    target = max(1, int(block_seconds * sample_rate))
    total = 0
    try:
        container = av.open("pipe:0" if str(path) == STDIN else str(path))
    except READ_ERRORS as exc:
        raise AudioError(f"{path}: not a readable audio file ({exc.__class__.__name__})") from None
    with container:
        if not container.streams.audio:
            raise AudioError(f"{path}: contains no audio stream")
        samples = _samples(container, path, sample_rate)
        while True:
            with deferred_signals():  # FFmpeg decodes in here; the consumer runs outside
                block = _gather(samples, target)
            if block is None:
                break
            total += block.size
            yield _finite(block)
    if total == 0:  # samples decoded, fewer than one at sample_rate (1 sample at 44.1 kHz): no audio to hear
        yield np.zeros(0, np.float32)


def load_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """Decode ``path`` to mono float32 samples ``[N]`` at ``sample_rate`` Hz.

    Channels are averaged (PyAV's own mono downmix adds +3 dB and clips, so
    the resampler keeps the source's channels and we average; a mono file
    comes back sample for sample). NaN/Inf samples become 0.
    Raises :class:`AudioError` with a one-line reason for a missing file,
    a file with no audio stream, undecodable data or zero-length audio.
    """
    return np.concatenate(list(iter_audio(path, sample_rate, block_seconds=60.0)))
