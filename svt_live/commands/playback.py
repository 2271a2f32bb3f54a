"""``svt-live song.mp3 --realtime [--midi-out]``: a file played through the live engine at real-time pace.

The file is decoded in 20 ms blocks and each block is pushed to a live
engine (:data:`~svt_live.engine.streaming.LIVE_HOP`) no sooner than its time in the
song (the clock starts at the first block: :func:`svt_live.io.blocks.file_blocks` with
``paced=True``), so NoteOn / NoteOff events reach the MIDI port as they would while the song
plays, latency included. A stop request (Ctrl-C) ends the song early: open notes are closed, the
port is silenced and the notes so far are kept for the outputs. When the machine cannot keep up
(a block goes to the engine more than :data:`~svt_live.io.blocks.LATE_SECONDS` after its time),
one warning says so. The take is :func:`svt_live.engine.runner.run_take` (through
:func:`~svt_live.engine.offline.transcribe_blocks`) with the printed NoteOns and the MIDI port
as its sinks.
"""
from __future__ import annotations

from pathlib import Path

from svt_live.console import line
from svt_live.engine.checkpoint import LoadedModel
from svt_live.engine.offline import Transcription, transcribe_blocks
from svt_live.engine.streaming import LIVE_HOP


def play_path(path: str | Path, lm: LoadedModel, port: str | None = None, stop=None, quiet: bool = False,
              contours: bool = False, hop_seconds: float | None = None) -> Transcription:
    """Play an audio file through the live engine in real time; events go to MIDI ``port`` (``--midi-out``'s
    value, when given: :meth:`~svt_live.io.midiport.MidiChoice.from_option`; a port that cannot be
    opened raises :class:`~svt_live.io.midiport.MidiPortError`) and are printed (unless ``quiet``).
    Returns the transcription as file mode keeps it."""
    from svt_live.engine.driver import MidiSink, print_note_ons
    from svt_live.io.blocks import file_blocks
    from svt_live.io.midiport import MidiChoice, open_midi

    def say(msg: str) -> None:
        line(f"svt-live: {msg}")

    midi = MidiSink(open_midi(MidiChoice.from_option(port)), say)
    if midi.midi is not None and not quiet:
        say(f"MIDI out: {midi.midi.describe()}")
    sinks = ([] if quiet else [print_note_ons()]) + [midi]
    sr = lm.features.sample_rate
    try:
        return transcribe_blocks(file_blocks(path, sr, paced=True, stop=stop), lm, sr, hop_seconds or LIVE_HOP,
                                 contours, sinks=sinks, overlap=False)
    finally:
        midi.close()  # also when the engine could not be made
