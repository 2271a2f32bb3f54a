"""Microphone input with sounddevice (PortAudio).

:class:`MicSource` opens an input stream and hands its audio to the reader
thread in blocks ``[n, channels]`` float32 (full scale = 1.0) at
``sample_rate`` Hz: 16000 when the device supports it, else the device's
default rate (the engine resamples). PortAudio's callback only copies the
block into a queue, so slow model calls do not drop audio unless the
reader falls ``MAX_BACKLOG_SECONDS`` behind.

On Linux, start the audio server (PulseAudio, PipeWire, JACK) before this
module is first used: PortAudio lists devices once, when it starts.
"""
from __future__ import annotations

import atexit
import math
import queue

import numpy as np

from svt_live.io.jack import server_realtime, server_running

PREFERRED_RATE = 16000  # the models' rate: no resampling when the device offers it
MAX_BACKLOG_SECONDS = 20.0
_exit_guarded = False  # whether sounddevice's exit handler is wrapped by _terminate_portaudio


class MicError(RuntimeError):
    """No usable input device, or the input stream failed (one-line reason)."""


def _sd():
    global _exit_guarded
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio is missing
        raise MicError(f"PortAudio is not available ({exc}); install libportaudio2") from None
    if not _exit_guarded and hasattr(sounddevice, "_exit_handler"):
        atexit.unregister(sounddevice._exit_handler)
        atexit.register(_terminate_portaudio, sounddevice)
        _exit_guarded = True
    return sounddevice


def _terminate_portaudio(sd) -> None:
    """At exit: sounddevice's exit handler (it terminates PortAudio), skipped when the JACK server
    PortAudio attached to has gone. PortAudio's JACK host API would abort the process there (a
    failed assertion), after every output was written, e.g. when JACK, used for MIDI, stopped."""
    try:
        jack = any("JACK" in api["name"] for api in sd.query_hostapis())
    except sd.PortAudioError:  # already terminated
        return
    if not jack or server_running():
        sd._exit_handler()


def list_input_devices() -> list[dict]:
    """Input devices: dicts with ``index``, ``name``, ``hostapi`` (name), ``channels``,
    ``default_samplerate`` and ``default`` (True for the system's default input)."""
    sd = _sd()
    apis = sd.query_hostapis()
    default = _default_index()
    return [{"index": d["index"], "name": d["name"], "hostapi": apis[d["hostapi"]]["name"],
             "channels": d["max_input_channels"], "default_samplerate": float(d["default_samplerate"]),
             "default": d["index"] == default}
            for d in sd.query_devices() if d["max_input_channels"] > 0]


def _default_index() -> int | None:
    sd = _sd()
    try:
        return int(sd.query_devices(kind="input")["index"])
    except (sd.PortAudioError, ValueError):
        return None


def list_devices() -> str:
    """Printable table of input devices; ``*`` marks the default."""
    devices = list_input_devices()
    if not devices:
        return "no audio input devices found (is an audio server running, or a microphone plugged in?)"
    lines = [f"  {'index':>5}  {'name':<32} {'host API':<28} {'ch':>3} {'rate':>7}"]
    for d in devices:
        mark = "*" if d["default"] else " "
        lines.append(f"{mark} {d['index']:>5}  {d['name'][:32]:<32} {d['hostapi'][:28]:<28} "
                     f"{d['channels']:>3} {d['default_samplerate']:>7.0f}")
    return "\n".join(lines)


def find_device(device: int | str | None) -> dict:
    """The input device for ``device``: an index, a (case-insensitive sub)name, or ``None`` for the default."""
    devices = list_input_devices()
    if not devices:
        raise MicError("no audio input devices found (is an audio server running, or a microphone plugged in?)")
    if device is None:
        index = _default_index()
        if index is None:
            raise MicError("no default audio input device; pick one with --input-device (see --list-devices)")
        device = index
    if isinstance(device, str) and device.strip().isdigit():
        device = int(device)
    if isinstance(device, int):
        match = [d for d in devices if d["index"] == device]
    else:
        exact = [d for d in devices if d["name"].lower() == device.lower()]
        match = exact or [d for d in devices if device.lower() in d["name"].lower()]
    if len(match) != 1:
        what = "no input device" if not match else f"{len(match)} input devices"
        names = ", ".join(f"{d['index']}: {d['name']}" for d in (match or devices))
        raise MicError(f"{what} matching {device!r} (input devices: {names})")
    return match[0]


class MicSource:
    """A running microphone stream.

    ``device``: index, (sub)name or ``None`` (default input); ``sample_rate``:
    Hz, ``None`` = 16000 if supported else the device default;
    ``block_seconds``: audio per block; ``channels``: channels recorded.
    Attributes: ``sample_rate`` (actual Hz), ``device_name``, ``hostapi`` (PortAudio's host API name), ``overflows``
    (input overflows PortAudio reported plus blocks dropped because the reader
    fell behind), ``level_db`` (RMS of the latest block in dBFS, -120 floor).
    """

    def __init__(self, device: int | str | None = None, sample_rate: int | None = None,
                 block_seconds: float = 0.01, channels: int = 1):
        sd = _sd()
        info = find_device(device)
        self.device_index, self.device_name, self.hostapi = info["index"], info["name"], info["hostapi"]
        if channels > info["channels"]:
            raise MicError(f"{self.device_name!r} has {info['channels']} input channel(s), {channels} requested")
        self.channels = int(channels)
        rates = [sample_rate] if sample_rate else [PREFERRED_RATE, int(info["default_samplerate"])]
        self.sample_rate = None
        for rate in rates:
            try:
                sd.check_input_settings(self.device_index, channels=self.channels, dtype="float32",
                                        samplerate=rate)
            except (sd.PortAudioError, ValueError):
                continue
            self.sample_rate = int(rate)
            break
        if self.sample_rate is None:
            raise MicError(f"{self.device_name!r} does not record at {' or '.join(map(str, rates))} Hz")
        self.blocksize = max(1, int(round(block_seconds * self.sample_rate)))
        backlog = max(1, int(MAX_BACKLOG_SECONDS * self.sample_rate / self.blocksize))
        self._queue: queue.Queue = queue.Queue(maxsize=backlog)
        self._stream = None
        self._stopping = False
        self._died = False
        self.overflows = 0
        self.level_db = -120.0

    def _callback(self, indata, frames, time_info, status) -> None:
        if status.input_overflow:
            self.overflows += 1
        rms = math.sqrt(float(np.mean(np.square(indata, dtype=np.float64)))) if frames else 0.0
        self.level_db = 20.0 * math.log10(max(rms, 1e-6))
        try:
            self._queue.put_nowait(indata.copy())
        except queue.Full:
            self.overflows += 1

    def _finished(self) -> None:
        if not self._stopping:
            self._died = True
        try:
            self._queue.put_nowait(None)  # wakes a waiting reader
        except queue.Full:
            pass

    def warnings(self) -> list[str]:
        """One-line warnings about this input's setup that cost latency: a JACK server without
        realtime scheduling (its cycle then waits behind other processes: xruns, late audio)."""
        if "JACK" in self.hostapi and server_realtime() is False:
            return ["the JACK server runs without realtime scheduling: on a busy machine audio arrives late "
                    "and drops out (xruns); start jackd without --no-realtime"]
        return []

    def start(self) -> MicSource:
        """Open and start the stream (no-op when running)."""
        if self._stream is not None:
            return self
        sd = _sd()
        self._stopping = self._died = False
        try:
            self._stream = sd.InputStream(device=self.device_index, samplerate=self.sample_rate,
                                          channels=self.channels, dtype="float32", blocksize=self.blocksize,
                                          callback=self._callback, finished_callback=self._finished)
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._stream = None
            raise MicError(f"cannot open {self.device_name!r} at {self.sample_rate} Hz: {exc}") from None
        return self

    def stop(self) -> None:
        """Stop and close the stream (no-op when stopped)."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        self._stopping = True
        sd = _sd()
        try:
            stream.stop()
            stream.close()
        except sd.PortAudioError:  # a dead stream may refuse to stop: it is gone either way
            pass

    def read(self, timeout: float = 0.5) -> np.ndarray | None:
        """Next block ``[n, channels]`` float32, or ``None`` after ``timeout`` s without audio.

        Raises :class:`MicError` once the stream has died (device unplugged,
        audio server stopped) and every block recorded before is read.
        """
        if self._stream is None and not self._died:
            raise MicError("microphone is not started")
        try:
            block = self._queue.get(timeout=timeout)
        except queue.Empty:
            block = None
        if block is None and self._died:
            raise MicError(f"audio input {self.device_name!r} stopped (device or audio server went away)")
        return block

    def __enter__(self) -> MicSource:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
