"""The engine thread: a take run by :func:`svt_live.engine.runner.run_take` with Qt signals as its sinks.

The block sources (:mod:`svt_live.io.blocks`), the engine (:func:`svt_live.engine.runner.pick_engine`)
and the MIDI port (:func:`svt_live.io.midiport.open_midi`, a
:class:`~svt_live.engine.driver.MidiSink`) are the library's, as for ``svt-live``; this module
keeps the Qt signalling. Three sources, all through the same engine (so the GUI's notes for a file
equal ``svt-live FILE``'s notes):

- ``file`` at full speed: 5 s blocks, ``FILE_HOP`` (2 s) model calls, exactly
  the ``svt-live`` file path;
- ``file`` at real-time pace: 20 ms blocks released at the pace of a clock
  (as ``svt-live --realtime``), ``LIVE_HOP`` (20 ms) model calls, as if the file were sung
  into a microphone;
- ``mic``: :class:`svt_live.io.mic.MicSource` blocks, ``LIVE_HOP`` model calls.

Live sources run live mode's two paths (:class:`svt_live.engine.lowlatency.LowLatencyEngine`):
the live network's early events go to the MIDI port, the accurate network's
events build the take (its notes are what file mode gives).

The worker never touches widgets. It emits :class:`Update` batches (events,
contour frames, stream time, progress, statistics) that Qt queues to the GUI
thread; a NoteOn is sent as soon as the engine emits it, other updates at
most every ``UPDATE_INTERVAL`` seconds. Errors are reported through
``failed`` after the engine has been finished, so the notes decoded so far
(including the sounding note, closed at the stream's end) are kept.
"""
from __future__ import annotations

import atexit
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QThread, Signal

from svt_live.engine.checkpoint import CheckpointError, LoadedModel, load_model
from svt_live.engine.driver import MidiSink
from svt_live.engine.lowlatency import LIVE_MODEL, LowLatencyEngine
from svt_live.engine.runner import pick_engine, run_take
from svt_live.engine.streaming import FILE_HOP, LIVE_HOP
from svt_live.events import NoteOn
from svt_live.io.audio import AudioError
from svt_live.io.blocks import file_blocks, mic_blocks
from svt_live.io.midiport import MidiChoice, open_midi

UPDATE_INTERVAL = 0.05  # seconds between GUI updates when nothing new was decided
MIC_BLOCK_SECONDS = 0.01  # microphone blocks
MIC_READ_SECONDS = 0.1  # longest wait for a microphone block: levels and statistics move in silence
TAKE_FAILURES = (AudioError, CheckpointError, OSError, RuntimeError, ValueError)  # reported, the take kept


@dataclass
class SourceSpec:
    """What to record: ``kind`` 'file' (``path``, ``realtime`` pace) or 'mic' (``device``: index, name or None)."""

    kind: str
    path: str | None = None
    realtime: bool = False
    device: int | str | None = None

    @property
    def live(self) -> bool:
        """True when audio arrives at real-time pace (mic, or a file played in real time)."""
        return self.kind == "mic" or self.realtime


@dataclass
class Update:
    """One batch of engine output for the GUI.

    ``events``: NoteOn/NoteOff in emission order; ``contour``: list of
    ``(first_frame, pitch [m])`` with MIDI pitch, NaN where unvoiced;
    ``stream_time``: seconds of audio consumed; ``progress``: 0-1 for files of
    known length, else None; ``cpu``: engine-thread CPU seconds per wall
    second over the last interval (1.0 = one core busy); ``speed``: audio
    seconds per wall second since the start; ``overflows``: input blocks the
    microphone dropped; ``level_db``: input level (dBFS) or None;
    ``port_latency``: for each NoteOn sent to the MIDI port (live sources),
    seconds from the note's start to its sending (``emitted_at - time``).
    """

    events: list = field(default_factory=list)
    contour: list = field(default_factory=list)
    stream_time: float = 0.0
    progress: float | None = None
    cpu: float = 0.0
    speed: float = 0.0
    overflows: int = 0
    level_db: float | None = None
    port_latency: list = field(default_factory=list)


class ModelCache:
    """Loaded models by name or path, shared between takes (thread-safe)."""

    def __init__(self, device: str = "cpu"):
        self.device = device
        self._models: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()

    def get(self, name_or_path: str | None) -> LoadedModel:
        """Load (once) a bundled model name or checkpoint path; raises CheckpointError."""
        key = str(name_or_path or "")
        with self._lock:
            if key not in self._models:
                self._models[key] = load_model(name_or_path or None, self.device)
            return self._models[key]


def close_quietly(close) -> None:
    """Call ``close()``; a broken device failing to close must not hide the real error."""
    try:
        close()
    except Exception:  # noqa: BLE001
        pass


def probe_audio(path: str | Path) -> float | None:
    """Check that ``path`` is a readable audio file (header only, fast); return its length
    in seconds, or None when the header does not say. Raises AudioError with the reason."""
    import av
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if not path.is_file():
        raise AudioError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty")
    try:
        with av.open(str(path)) as c:
            if not c.streams.audio:
                raise AudioError(f"{path}: contains no audio stream")
            s = c.streams.audio[0]
            if s.duration is not None and s.time_base is not None:
                return float(s.duration * s.time_base)
            return c.duration / 1e6 if c.duration else None
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        if isinstance(exc, AudioError):
            raise
        raise AudioError(f"{path}: not a readable audio file ({exc.__class__.__name__})") from None


class EngineWorker(QThread):
    """Runs one take on its own thread.

    Signals: ``update(Update)``, ``failed(str)`` (a one-line reason; the take
    so far is kept), ``warning(str)`` (the take goes on, e.g. MIDI port busy),
    ``started_source(dict)`` (``sample_rate`` Hz, ``duration`` s or None,
    ``model`` name, ``frame_seconds``) before any update. QThread's own
    ``finished`` follows the last update.
    """

    update = Signal(object)
    failed = Signal(str)
    warning = Signal(str)
    started_source = Signal(object)

    def __init__(self, source: SourceSpec, model: str | None, models: ModelCache,
                 midi_out: MidiChoice | None = None, after: threading.Thread | None = None, parent=None, aids=None):
        super().__init__(parent)
        self.after = after  # a level monitor still closing the device: waited for before opening it
        self.source, self.model_name, self.models = source, model, models
        self.midi_choice = midi_out or MidiChoice()  # the MIDI output of a live source
        self.aids = aids  # the port's playing aids (svt_live.engine.playaids.PortAids) or None
        self._stop = threading.Event()
        self.mic = None  # the open MicSource (GUI reads level_db and overflows)
        self.audio = None  # a microphone take's recording (gui.take.TakeAudio), complete once run() ends
        self._midi = None  # a MidiSink: the open MidiOut, if any, while the take runs
        self._pending = Update()
        self._last_emit = 0.0
        self._cpu_mark = (time.monotonic(), time.thread_time())
        self._t_start = time.monotonic()
        self._last_cpu = 0.0
        self.duration: float | None = None

    def request_stop(self) -> None:
        """Ask the take to end: the engine finishes and closes the sounding note."""
        self._stop.set()

    # ---- thread body ----------------------------------------------------------
    def run(self) -> None:
        import torch

        error = None
        threads = torch.get_num_threads()
        live = self.source.live
        if live:  # small model calls every 20 ms: extra threads only add hand-over jitter
            torch.set_num_threads(1)
        try:
            lm = self.models.get(self.model_name)
            live_lm = self.models.get(LIVE_MODEL) if live else None
            blocks, rate = self._open_source(lm.features.sample_rate)
            self.started_source.emit({"sample_rate": rate, "duration": self.duration, "model": lm.label,
                                      "frame_seconds": lm.features.frame_seconds})
            engine = pick_engine(lm, rate, live_lm, LIVE_HOP if live else FILE_HOP,
                                 on_frames=self._frames_cb(lm.decoding.voiced_threshold), overlap=True)
            self._midi = MidiSink(open_midi(self.midi_choice, self.warning.emit) if live else None,
                                  lambda msg: self.warning.emit(f"MIDI output stopped: {msg}"), self.aids,
                                  clock=lambda: engine.stream_time)
            self._t_start = time.monotonic()
            self._cpu_mark = (self._t_start, time.thread_time())  # this thread's CPU clock
            error = run_take(engine, blocks, [self._midi, lambda events: self._emit_events(events, engine,
                                                                                            engine.finished)],
                             self._stop.is_set, failures=TAKE_FAILURES)
        except ImportError as exc:
            error = f"microphone input is not available in this installation ({exc.name or exc})"
        except TAKE_FAILURES as exc:
            error = str(exc) or exc.__class__.__name__
        finally:
            if self.mic is not None:
                close_quietly(self.mic.stop)
            if self.audio is not None:
                try:
                    self.audio.close()
                except OSError as exc:
                    error, self.audio = error or f"recording not kept: {exc}", None
        torch.set_num_threads(threads)
        if error:
            self.failed.emit(error)

    def _open_source(self, model_rate: int):
        """-> (block iterator, its sample rate in Hz); raises AudioError/MicError."""
        src = self.source
        if src.kind == "file":
            if not src.path:
                raise AudioError("no audio file chosen")
            path = Path(src.path)
            self.duration = probe_audio(path)  # fails now, not at the first block
            return file_blocks(path, model_rate, paced=src.realtime, stop=self._stop), model_rate
        from svt_live.io.mic import MicSource
        if self.after is not None:
            self.after.join(5.0)
        self.mic = MicSource(device=src.device, block_seconds=MIC_BLOCK_SECONDS)
        self.mic.start()  # fails now, before the take starts
        for warning in self.mic.warnings():
            self.warning.emit(warning)
        return mic_blocks(self.mic, self._stop, record=self._record, on_idle=lambda: self._emit_events([], None),
                          timeout_s=MIC_READ_SECONDS), int(self.mic.sample_rate)

    def _record(self, block: np.ndarray) -> None:
        """Keep a microphone block in the take's recording (started with the first block)."""
        if self.audio is None:
            from .take import TakeAudio
            self.audio = TakeAudio(int(self.mic.sample_rate), block.shape[1] if block.ndim == 2 else 1)
        self.audio.write(block)

    def _frames_cb(self, voiced_threshold: float):
        def on_frames(first: int, post: dict) -> None:
            pitch = np.where(np.asarray(post["voiced"]) >= voiced_threshold,
                             np.asarray(post["pitch"], dtype=np.float32), np.nan).astype(np.float32)
            self._pending.contour.append((first, pitch))
        return on_frames

    def _emit_events(self, events: list, engine, force: bool = False) -> None:
        """Queue ``events`` (a :class:`LowLatencyEngine`'s are its live events, sent to the port by the
        driver's MIDI sink; the take gets its accurate events) and emit the pending update when due."""
        p = self._pending
        if isinstance(engine, LowLatencyEngine):
            p.port_latency += [e.emitted_at - e.time for e in events if isinstance(e, NoteOn)]
            p.events.extend(engine.take_accurate_events())
        else:
            p.events.extend(events)
        if engine is not None:
            p.stream_time = engine.stream_time
        now = time.monotonic()
        urgent = any(isinstance(e, NoteOn) for e in events + p.events)
        if not (force or urgent or now - self._last_emit >= UPDATE_INTERVAL):
            return
        t0, c0 = self._cpu_mark
        if now - t0 >= 0.25:
            self._cpu_mark = (now, time.thread_time())
            p.cpu = (self._cpu_mark[1] - c0) / (now - t0)
        else:
            p.cpu = self._last_cpu
        self._last_cpu = p.cpu
        p.speed = p.stream_time / max(1e-6, now - self._t_start)
        if self.duration:
            p.progress = min(1.0, p.stream_time / self.duration)
        if self.mic is not None:
            p.overflows = int(getattr(self.mic, "overflows", 0))
            p.level_db = getattr(self.mic, "level_db", None)
        self._last_emit = now
        self._pending = Update(stream_time=p.stream_time)
        self.update.emit(p)


class LevelMonitor(threading.Thread):
    """Opens a microphone while idle so the window can show its level (dBFS).

    Reads and discards blocks; ``level_db`` is the source's level (None until
    known); ``error`` is set (and the thread ends) when the device fails.
    ``after``: a previous monitor still closing its stream; this one waits
    for it (in its own thread) before opening the device.
    """

    def __init__(self, device: int | str | None = None, after: threading.Thread | None = None):
        super().__init__(name="svt-gui level monitor", daemon=True)
        self.device, self.after = device, after
        self.level_db: float | None = None
        self.error: str | None = None
        self._halt = threading.Event()

    def start(self) -> None:
        # before PortAudio's own exit handler (atexit runs last-registered first): an open
        # stream left to Pa_Terminate hangs the interpreter's exit
        atexit.register(self.stop, 5.0)
        super().start()

    def run(self) -> None:
        mic = None
        try:
            from svt_live.io.mic import MicSource
            if self.after is not None:
                self.after.join(5.0)
            if self._halt.is_set():
                return
            mic = MicSource(device=self.device, block_seconds=0.02)
            mic.start()
            while not self._halt.is_set():
                mic.read(timeout=0.1)
                self.level_db = mic.level_db
        except ImportError as exc:
            self.error = f"microphone input is not available in this installation ({exc.name or exc})"
        except Exception as exc:  # noqa: BLE001 - MicError, PortAudioError: reported, never raised
            self.error = str(exc) or exc.__class__.__name__
        finally:
            if mic is not None:
                close_quietly(mic.stop)
            atexit.unregister(self.stop)

    def request_stop(self) -> None:
        """Ask the thread to close the device; returns at once (closing a stream that has not
        delivered audio yet takes about a second with PulseAudio's ALSA plugin)."""
        self._halt.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Close the device and wait up to ``timeout`` seconds for the thread to end."""
        self._halt.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)
