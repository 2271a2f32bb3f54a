"""One way to run a take: a block source -> the engine the take needs -> the caller's sinks, finished cleanly.

Every take runs through :func:`run_take`: ``svt-live FILE`` and ``--realtime``
(:func:`svt_live.engine.offline.transcribe_blocks`), ``svt-live --input mic``
(:func:`svt_live.commands.live.run_live`) and svt-gui's engine thread (``gui.worker.EngineWorker``).
Each caller brings its block source (:mod:`svt_live.io.blocks`), its engine (:func:`pick_engine`) and
its sinks (printed lines, a :class:`~svt_live.engine.driver.MidiSink`, the GUI's updates); the
runner feeds the :class:`~svt_live.engine.driver.Driver` and, however the take ends, stops the
source, finishes the engine and closes the sinks. The caller then writes its files from the engine's
notes.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from svt_live.engine.checkpoint import LoadedModel
from svt_live.engine.driver import Driver
from svt_live.engine.lowlatency import LowLatencyEngine
from svt_live.engine.streaming import FILE_HOP, LIVE_HOP, Engine
from svt_live.io.audio import AudioError
from svt_live.io.mic import MicError

SOURCE_FAILURES = (AudioError, MicError)  # a file that breaks off, a microphone or audio server that goes away


def pick_engine(lm: LoadedModel, sample_rate: int, live_lm: LoadedModel | None = None,
                hop_seconds: float | None = None, bends: bool = False, on_event: Callable | None = None,
                on_frames: Callable | None = None, on_audio: Callable | None = None, overlap: bool = False):
    """The engine of a take: live mode's two networks when there is a live network, else one network.

    Parameters
    ----------
    lm : LoadedModel
        The accurate network (the take's notes).
    sample_rate : int
        Rate of the blocks the engine gets, Hz.
    live_lm : LoadedModel, optional
        The live network (:func:`~svt_live.engine.lowlatency.load_live_model`). Given: a
        :class:`~svt_live.engine.lowlatency.LowLatencyEngine` whose events are the live network's early
        ones (for a MIDI port); not given: an :class:`~svt_live.engine.streaming.Engine`.
    hop_seconds : float, optional
        Audio per model call, seconds (default ``LIVE_HOP`` with a live network, else ``FILE_HOP``).
    bends : bool
        Live network: pitch-bend events with the notes.
    on_event, on_frames, on_audio : callable, optional
        The engine's callbacks (every accurate note event; frame posteriors; the audio the accurate
        network gets).
    overlap : bool
        Without a live network: run the recurrent part on a second thread (file mode at full speed).
    """
    if live_lm is not None:
        return LowLatencyEngine(lm, live_lm, sample_rate, hop_seconds or LIVE_HOP, bends, on_event,
                                on_frames=on_frames, on_audio=on_audio)
    return Engine(lm, sample_rate, hop_seconds or FILE_HOP, on_event=on_event, on_frames=on_frames,
                  overlap=overlap, on_audio=on_audio)


def run_take(engine, blocks: Iterable, sinks: Iterable[Callable] = (), stop: Callable[[], bool] | None = None,
             failures: tuple[type[BaseException], ...] = SOURCE_FAILURES) -> str | None:
    """Run a take to its end and finish it cleanly.

    Parameters
    ----------
    engine : Engine or LowLatencyEngine
        Turns blocks into events (:func:`pick_engine`).
    blocks : iterable of ndarray
        The block source (:mod:`svt_live.io.blocks`); a generator is closed when the take ends, which
        stops a microphone it reads.
    sinks : iterable of callable
        Called with the events after every block and after finishing (:class:`Driver`); every sink
        with a ``close()`` (:class:`~svt_live.engine.driver.MidiSink`: note-offs, all-notes-off) is
        closed at the end, however the take ends.
    stop : callable, optional
        Returns true once no further block should be pushed.
    failures : tuple of exception types
        Errors of the source that end the take with a reason: the notes so far are kept, the sounding
        note is closed. Any other error (or ``KeyboardInterrupt``) still stops the source and closes the
        sinks, then propagates.

    Returns
    -------
    str or None
        The one-line reason the source failed, or None when it ended or ``stop()`` became true.
    """
    sinks = list(sinks)
    driver = Driver(engine, sinks, stop)
    failure = None
    try:
        try:
            driver.feed(blocks)
        except failures as exc:
            failure = str(exc) or exc.__class__.__name__
        finally:
            close = getattr(blocks, "close", None)
            if close is not None:
                close()
        driver.finish()
    finally:
        for sink in sinks:
            close = getattr(sink, "close", None)
            if close is not None:
                close()
    return failure
