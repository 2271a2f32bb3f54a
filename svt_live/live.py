"""``svt-live --input mic``: microphone -> :class:`~svt_live.lowlatency.LowLatencyEngine` -> MIDI, files.

Two networks hear the take (:mod:`svt_live.lowlatency`): the live network's
early NoteOns (and, with ``--pitch-bends``, the sung contour as pitch-wheel
messages, bend range set by RPN) go to the MIDI port and are printed as
they are sent (note time in stream seconds, name, velocity, latency =
stream time at emission minus note time); the accurate network's notes
are the take's files, the notes file mode gives on the recording.
Ctrl-C (SIGINT) or SIGTERM, the end of ``--seconds`` or a dying input
stream all end the take the same way: the engines close open notes, the
MIDI port gets its note-offs and all-notes-off and is closed, and every
requested output is written (atomically). Exit status: 0 after a stop
request or ``--seconds``, 1 when the microphone failed or an output could
not be written.
"""
from __future__ import annotations

import os
import signal
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

from .annotations import write_csv, write_json
from .cli import wrote
from .engine import LIVE_HOP
from .events import NoteOn
from .lowlatency import LowLatencyEngine, load_live_model
from .mic import MicError, MicSource
from .midi import MidiOut, MidiPortError, write_midi_file
from .notes import note_name
from .stop import StopRequest

JSON_KEY = "live"  # song id of the take in the --json output
READ_TIMEOUT = 0.25  # seconds: how often the loop checks for a stop request while no audio arrives


def _say(msg: str) -> None:
    print(f"svt-live: {msg}", file=sys.stderr, flush=True)


class WavRecorder:
    """Streams a take to a 16-bit PCM WAV; the file appears under ``path`` only on :meth:`close`."""

    def __init__(self, path: str | Path, sample_rate: int, channels: int):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        self._wav = wave.open(self._tmp, "wb")
        self._wav.setnchannels(channels)
        self._wav.setsampwidth(2)
        self._wav.setframerate(sample_rate)

    def write(self, block: np.ndarray) -> None:
        """Append samples ``[n, channels]`` float (full scale 1.0)."""
        pcm = np.clip(np.round(np.asarray(block, np.float64) * 32768.0), -32768, 32767).astype("<i2")
        self._wav.writeframes(pcm.tobytes())

    def close(self) -> None:
        self._wav.close()
        os.replace(self._tmp, self.path)


class Take:
    """One live take: runs the engine, prints and forwards its live events."""

    def __init__(self, engine: LowLatencyEngine, midi: MidiOut | None, quiet: bool):
        self.engine, self.midi, self.quiet = engine, midi, quiet

    def handle(self, events: list) -> None:
        for ev in events:
            if isinstance(ev, NoteOn):
                if not self.quiet:
                    print(f"{ev.time:9.2f} s  {note_name(ev.pitch):>4} ({ev.pitch:3d})  vel {ev.velocity:3d}"
                          f"  latency {1000 * (ev.emitted_at - ev.time):4.0f} ms", flush=True)
            if self.midi is not None:
                try:
                    self.midi.send(ev)
                except MidiPortError as exc:
                    _say(f"{exc}; transcription goes on without MIDI")
                    self.close_midi()

    def close_midi(self) -> None:
        midi, self.midi = self.midi, None
        if midi is not None:
            midi.close()

    @property
    def velocities(self) -> list[int]:
        return self.engine.velocities.tolist()


def _open_midi(port: str | None, bends: bool) -> MidiOut | None:
    if port is None:
        return None
    try:
        midi = MidiOut(port)
        if bends:
            midi.set_bend_range()
    except MidiPortError as exc:
        _say(f"MIDI out unavailable: {exc}; transcribing without MIDI")
        return None
    _say(f"MIDI out: {midi.port_name!r} ({midi.api})" + (f", pitch bends +-{midi.bend_range} semitones"
                                                         if bends else ""))
    return midi


def _capture(mic: MicSource, take: Take, stop: StopRequest, seconds: float | None,
             recorder: WavRecorder | None) -> None:
    """Feed microphone blocks to the take until a stop request or ``seconds`` of audio."""
    limit = None if seconds is None else int(round(seconds * mic.sample_rate))
    n = 0
    while not stop and (limit is None or n < limit):
        block = mic.read(READ_TIMEOUT)
        if block is None:
            continue
        if limit is not None:
            block = block[:limit - n]
        n += len(block)
        if recorder is not None:
            recorder.write(block)
        take.handle(take.engine.push(block))


def _save(args, take: Take) -> list[str]:
    """Write every requested output; returns one-line errors for those that failed."""
    notes = take.engine.notes
    jobs = [(args.json, lambda p: write_json(p, {JSON_KEY: notes})),
            (args.csv, lambda p: write_csv(p, notes)),
            (args.midi_file, lambda p: write_midi_file(p, notes, take.velocities))]
    errors = []
    for path, write in jobs:
        if path:
            try:
                write(path)
            except OSError as exc:
                errors.append(f"cannot write {path}: {exc.strerror or exc}")
            else:
                wrote(path, args.quiet)
    return errors


def run_live(args, lm, on_event=None, on_start=None, on_finish=None) -> int:
    """Transcribe the microphone until Ctrl-C/SIGTERM or ``args.seconds``; returns the exit status.

    Hooks (the sight-singing check uses them): ``on_event(event)`` for every note event,
    ``on_start()`` once the microphone runs, ``on_finish(notes) -> [error lines]`` after the take.
    """
    live_lm = load_live_model(args.live_model, next(lm.model.parameters()).device)
    with StopRequest() as stop:
        try:
            mic = MicSource(args.input_device)
        except MicError as exc:
            _say(f"error: {exc}")
            return 1
        hop = args.hop or LIVE_HOP
        bends = args.pitch_bends
        engine = LowLatencyEngine(lm, live_lm, mic.sample_rate, hop, bends, on_event)
        take = Take(engine, _open_midi(args.midi_out, bends), args.quiet)
        recorder = WavRecorder(args.save_audio, mic.sample_rate, mic.channels) if args.save_audio else None
        failure = None
        try:
            with mic:
                _say(f"listening to {mic.device_name!r} at {mic.sample_rate} Hz, model {lm.label}, "
                     f"live network {engine.live.lm.label}, "
                     f"hop {1000 * hop:.0f} ms; Ctrl-C stops")
                if on_start is not None:
                    on_start()
                _capture(mic, take, stop, args.seconds, recorder)
        except MicError as exc:
            failure = str(exc)
        take.handle(take.engine.finish())
        take.close_midi()
        errors = _save(args, take) + (on_finish(take.engine.notes) if on_finish is not None else [])
        if recorder is not None:
            try:
                recorder.close()
            except OSError as exc:
                errors.append(f"cannot write {args.save_audio}: {exc.strerror or exc}")
            else:
                wrote(args.save_audio, args.quiet)
    for msg in ([failure] if failure else []) + errors:
        _say(f"error: {msg}")
    how = {signal.SIGINT: "stopped (Ctrl-C)", signal.SIGTERM: "stopped (SIGTERM)"}.get(stop.signal, "done")
    _say(f"{how}: {len(take.engine.notes)} notes in {take.engine.stream_time:.1f} s, "
         f"{mic.overflows} input overflows")
    return 1 if failure or errors else 0
