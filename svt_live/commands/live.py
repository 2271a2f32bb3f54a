"""``svt-live --input mic``: microphone -> :class:`~svt_live.engine.lowlatency.LowLatencyEngine` -> MIDI, files.

Two networks hear the take (:mod:`svt_live.engine.lowlatency`): the live network's
early NoteOns (and, with ``--pitch-bends``, the sung contour as pitch-wheel
messages, bend range set by RPN) go to the MIDI port and are printed as
they are sent (note time in stream seconds, name, velocity, engine latency =
stream time at emission minus note time: it leaves out the audio's buffering
before svt-live gets the samples); the accurate network's notes
are the take's files, the notes file mode gives on the recording.
Ctrl-C (SIGINT) or SIGTERM, the end of ``--seconds`` or a dying input
stream all end the take the same way: the engines close open notes, the
MIDI port gets its note-offs and all-notes-off and is closed, and every
requested output is written (atomically). Exit status: 0 after a stop
request or ``--seconds``, 1 when the microphone failed or an output could
not be written. The take is :func:`~svt_live.engine.runner.run_take`: the
microphone (:func:`~svt_live.io.blocks.mic_blocks`) is its block source, the
printed lines and the MIDI port (:class:`~svt_live.engine.driver.MidiSink`,
opened by :func:`~svt_live.io.midiport.open_midi`) its sinks.
"""
from __future__ import annotations

import signal

import numpy as np

from svt_live.console import line, wrote
from svt_live.engine.driver import MidiSink, print_note_ons
from svt_live.engine.lowlatency import load_live_model
from svt_live.engine.playaids import PortAids
from svt_live.engine.runner import pick_engine, run_take
from svt_live.engine.stop import StopRequest
from svt_live.engine.streaming import LIVE_HOP
from svt_live.io.annotations import write_notes
from svt_live.io.blocks import mic_blocks
from svt_live.io.mic import MicError, MicSource
from svt_live.io.midiport import MidiChoice, open_midi
from svt_live.io.outputs import WavRecorder

JSON_KEY = "live"  # song id of the take in the --json output


def _say(msg: str) -> None:
    line(f"svt-live: {msg}")


def _save(outputs: dict, notes: np.ndarray, velocities: np.ndarray, quiet: bool) -> list[str]:
    """Write every requested output (``{"json" | "csv" | "midi_file": path or None}``); returns one-line
    errors for those that failed."""
    errors = []
    for kind, fmt in (("json", "JSON"), ("csv", "CSV"), ("midi_file", "MIDI")):
        path = outputs.get(kind)
        if path:
            try:
                write_notes(path, notes, velocities.tolist(), fmt=fmt, name=JSON_KEY)
            except OSError as exc:
                errors.append(f"cannot write {path}: {exc.strerror or exc}")
            else:
                wrote(path, quiet)
    return errors


def live_options(args) -> dict:
    """The keyword arguments of :func:`run_live` from ``svt-live``'s parsed options."""
    return {"input_device": args.input_device, "live_model": args.live_model, "hop_seconds": args.hop,
            "bends": args.pitch_bends, "midi_out": MidiChoice.from_option(args.midi_out), "seconds": args.seconds,
            "outputs": {"json": args.json, "csv": args.csv, "midi_file": args.midi_file},
            "save_audio": args.save_audio, "quiet": args.quiet,
            "aids": PortAids(getattr(args, "scale_given", None), args.hold_ms / 1000.0)}


def run_live(lm, input_device: int | str | None = None, live_model: str | None = None,
             hop_seconds: float | None = None, bends: bool = False, midi_out: MidiChoice | None = None,
             seconds: float | None = None, outputs: dict | None = None, save_audio: str | None = None,
             quiet: bool = False, on_event=None, on_start=None, on_finish=None, on_audio=None,
             aids: PortAids | None = None) -> int:
    """Transcribe the microphone until Ctrl-C/SIGTERM or ``seconds``; returns the exit status.

    ``lm``: the accurate model (the take's files); ``input_device``: index, name or None (the
    default input); ``live_model``: the port's network (default :data:`~svt_live.engine.lowlatency.LIVE_MODEL`);
    ``hop_seconds``: audio per model call (default ``LIVE_HOP``); ``bends``: pitch bends on the port;
    ``midi_out``: the MIDI port (:class:`~svt_live.io.midiport.MidiChoice`; None: none);
    ``outputs``: ``{"json" | "csv" | "midi_file": path}``;
    ``save_audio``: WAV path of the recording; ``quiet``: no printed NoteOns or ``wrote`` lines;
    ``aids``: the port's playing aids (:class:`~svt_live.engine.playaids.PortAids`: scale, hold).
    Hooks (the sight-singing check uses them): ``on_event(event)`` for every note event,
    ``on_start()`` once the microphone runs, ``on_finish(notes) -> [error lines]`` after the take,
    ``on_audio(samples)`` for the audio the accurate network gets (model rate), before its events.
    """
    live_lm = load_live_model(live_model, next(lm.model.parameters()).device)
    with StopRequest() as stop:
        try:
            mic = MicSource(input_device)
        except MicError as exc:
            _say(f"error: {exc}")
            return 1
        for warning in mic.warnings():
            _say(f"warning: {warning}")
        hop = hop_seconds or LIVE_HOP
        engine = pick_engine(lm, mic.sample_rate, live_lm, hop, bends, on_event, on_audio=on_audio)
        midi = MidiSink(open_midi(midi_out or MidiChoice(), _say, bends), _say, aids, clock=lambda: engine.stream_time)
        if midi.midi is not None:
            _say(f"MIDI out: {midi.midi.describe()}")
            if midi.aids is not None:
                _say(f"MIDI out plays {midi.aids.summary}")
        recorder = WavRecorder(save_audio, mic.sample_rate, mic.channels) if save_audio else None

        def started() -> None:
            _say(f"listening to {mic.device_name!r} at {mic.sample_rate} Hz, model {lm.label}, "
                 f"live network {engine.live.lm.label}, hop {1000 * hop:.0f} ms; Ctrl-C stops")
            if on_start is not None:
                on_start()
        blocks = mic_blocks(mic, stop, seconds, recorder.write if recorder is not None else None, on_start=started)
        failure = run_take(engine, blocks, ([] if quiet else [print_note_ons(latency=True)]) + [midi],
                           failures=(MicError,))
        errors = _save(outputs or {}, engine.notes, engine.velocities, quiet)
        errors += on_finish(engine.notes) if on_finish is not None else []
        if recorder is not None:
            try:
                recorder.close()
            except OSError as exc:
                errors.append(f"cannot write {save_audio}: {exc.strerror or exc}")
            else:
                wrote(save_audio, quiet)
    for msg in ([failure] if failure else []) + errors:
        _say(f"error: {msg}")
    how = {signal.SIGINT: "stopped (Ctrl-C)", signal.SIGTERM: "stopped (SIGTERM)"}.get(stop.signal, "done")
    _say(f"{how}: {len(engine.notes)} notes in {engine.stream_time:.1f} s, "
         f"{mic.overflows} input overflows")
    return 1 if failure or errors else 0
