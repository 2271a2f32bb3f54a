"""Block sources: the audio of a take as sample blocks, from a file (at full speed or at the song's pace)
or from a microphone.

Every take reads its audio through one of these (:func:`svt_live.engine.runner.run_take` runs the
blocks through an engine): ``svt-live FILE`` and the sight-singing check (:func:`file_blocks`),
``svt-live FILE --realtime`` and svt-gui's real-time file (:func:`file_blocks` with ``paced=True``),
``svt-live --input mic`` and svt-gui's microphone (:func:`mic_blocks`).

A stop request is ``stop``: a callable returning true once the take should end
(``threading.Event.is_set``), an object whose truth says so (:class:`svt_live.engine.stop.StopRequest`),
or ``None`` (never).
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from svt_live.io.audio import iter_audio

FILE_BLOCK_SECONDS = 5.0  # a file at full speed: memory flat in its length, few model calls
PACED_BLOCK_SECONDS = 0.02  # a file at the song's pace: a sound card's period
LATE_SECONDS = 0.2  # behind the song's clock by more than this, notes reach a MIDI port noticeably late
MIC_READ_SECONDS = 0.25  # how often a microphone source checks for a stop request while no audio arrives


def stop_test(stop) -> Callable[[], bool]:
    """``stop`` (a callable, an object whose truth is the request, or ``None``) as a callable.

    Examples
    --------
    >>> import threading
    >>> event = threading.Event()
    >>> asked = stop_test(event)
    >>> asked(), event.set(), asked()
    (False, None, True)
    >>> stop_test(None)()
    False
    """
    if stop is None:
        return lambda: False
    if hasattr(stop, "is_set"):  # a threading.Event: always true as an object
        return stop.is_set
    if callable(stop):
        return lambda: bool(stop())
    return lambda: bool(stop)


def at_pace(blocks: Iterable[np.ndarray], sample_rate: int, stop=None, clock=time.monotonic,
            sleep=time.sleep) -> Iterator[np.ndarray]:
    """Yield sample blocks ``[n]`` no sooner than their start time after the first (seconds of audio =
    seconds of ``clock``); stop early once ``stop`` asks. The first block more than
    :data:`LATE_SECONDS` behind its time gives one warning (the machine is too busy for real time)."""
    asked = stop_test(stop)
    start, done, warned = None, 0, False
    for block in blocks:
        if asked():
            return
        start = clock() if start is None else start
        wait = start + done / sample_rate - clock()
        if wait > 0:
            sleep(wait)
        elif -wait > LATE_SECONDS and not warned:
            warned = True
            warnings.warn(f"falling behind real time: audio at {done / sample_rate:.1f} s is {-wait:.1f} s late "
                          "(the machine is busy); MIDI notes arrive late", stacklevel=2)
        done += len(block)
        yield block


def file_blocks(path: str | Path, sample_rate: int, paced: bool = False, stop=None) -> Iterator[np.ndarray]:
    """The mono blocks ``[n]`` of an audio file at ``sample_rate`` Hz.

    Parameters
    ----------
    path : str or Path
        Any file PyAV reads (``"-"``: standard input); errors are
        :class:`~svt_live.io.audio.AudioError` raised as the blocks are read.
    sample_rate : int
        Rate of the blocks, Hz.
    paced : bool
        False: :data:`FILE_BLOCK_SECONDS` blocks as fast as they are asked for. True:
        :data:`PACED_BLOCK_SECONDS` blocks, each released at its time in the song (:func:`at_pace`), as a
        microphone would deliver them.
    stop : callable or StopRequest, optional
        The blocks end once it asks.
    """
    if paced:
        return at_pace(iter_audio(path, sample_rate, block_seconds=PACED_BLOCK_SECONDS), sample_rate, stop)
    return _until(iter_audio(path, sample_rate, block_seconds=FILE_BLOCK_SECONDS), stop_test(stop))


def _until(blocks: Iterable[np.ndarray], asked: Callable[[], bool]) -> Iterator[np.ndarray]:
    for block in blocks:
        if asked():
            return
        yield block


def mic_blocks(mic, stop=None, seconds: float | None = None, record: Callable[[np.ndarray], None] | None = None,
               on_idle: Callable[[], None] | None = None, on_start: Callable[[], None] | None = None,
               timeout_s: float = MIC_READ_SECONDS) -> Iterator[np.ndarray]:
    """The blocks ``[n, channels]`` of a microphone until a stop request or ``seconds`` of audio.

    The microphone is started when the first block is asked for (a no-op when it runs already) and
    stopped when the blocks end, however they end: a stop request, ``seconds``, the device failing
    (:class:`~svt_live.io.mic.MicError` from its read, raised here) or the consumer closing the blocks.

    Parameters
    ----------
    mic : MicSource
        The microphone (:class:`svt_live.io.mic.MicSource`: ``start()``, ``read(timeout)``, ``stop()``).
    stop : callable or StopRequest, optional
        Asked before every read.
    seconds : float, optional
        Audio to deliver, seconds (the last block is cut to it); None: until stopped.
    record : callable, optional
        Called with every block before it is yielded (a recording of the take).
    on_idle : callable, optional
        Called after each read that timed out (statistics and levels keep moving in silence).
    on_start : callable, optional
        Called once the microphone runs, before the first read.
    timeout_s : float
        Longest wait for a block before the stop request is asked again, seconds.
    """
    asked = stop_test(stop)
    limit = None if seconds is None else int(round(seconds * mic.sample_rate))
    n = 0
    mic.start()
    try:
        if on_start is not None:
            on_start()
        while not asked() and (limit is None or n < limit):
            block = mic.read(timeout_s)
            if block is None:
                if on_idle is not None:
                    on_idle()
                continue
            if limit is not None:
                block = block[:limit - n]
            n += len(block)
            if record is not None:
                record(block)
            yield block
    finally:
        mic.stop()
