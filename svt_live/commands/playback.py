"""``svt-live song.mp3 --realtime [--midi-out]``: a file played through the live engine at real-time pace.

The file is decoded in 20 ms blocks and each block is pushed to a live
engine (:data:`~svt_live.engine.streaming.LIVE_HOP`) no sooner than its time in the
song (the clock starts at the first block), so NoteOn / NoteOff events
reach the MIDI port as they would while the song plays, latency included.
A stop request (Ctrl-C) ends the song early: open notes are closed, the
port is silenced and the notes so far are kept for the outputs. When the
machine cannot keep up (a block goes to the engine more than
:data:`LATE_SECONDS` after its time), one warning says so.
"""
from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

from svt_live.engine.checkpoint import LoadedModel
from svt_live.engine.offline import Transcription, transcribe_blocks
from svt_live.engine.streaming import LIVE_HOP

BLOCK_SECONDS = 0.02
LATE_SECONDS = 0.2  # behind the song's clock by more than this, notes reach the port noticeably late


def paced(blocks, sample_rate: int, stop=None, clock=time.monotonic, sleep=time.sleep):
    """Yield sample blocks ``[n]`` no sooner than their start time after the first (seconds of audio =
    seconds of ``clock``); stop early once ``stop`` is true. The first block more than
    :data:`LATE_SECONDS` behind its time gives one warning (the machine is too busy for real time)."""
    start, done, warned = None, 0, False
    for block in blocks:
        if stop:
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


def play_path(path: str | Path, lm: LoadedModel, port: str | None = None, stop=None, quiet: bool = False,
              contours: bool = False, hop_seconds: float | None = None) -> Transcription:
    """Play an audio file through the live engine in real time; events go to MIDI ``port`` (when given)
    and are printed (unless ``quiet``). Returns the transcription as file mode keeps it."""
    from svt_live.engine.driver import MidiSink, print_note_ons
    from svt_live.io.audio import iter_audio
    from svt_live.io.midiport import MidiOut

    def say(msg: str) -> None:
        print(f"svt-live: {msg}", file=sys.stderr, flush=True)

    midi = MidiSink(MidiOut(port) if port else None, say)
    if midi.midi is not None and not quiet:
        say(f"MIDI out: {midi.midi.port_name!r} ({midi.midi.api})")
    sinks = ([] if quiet else [print_note_ons()]) + [midi]
    sr = lm.features.sample_rate
    try:
        return transcribe_blocks(paced(iter_audio(path, sr, block_seconds=BLOCK_SECONDS), sr, stop), lm, sr,
                                 hop_seconds or LIVE_HOP, contours, sinks=sinks, overlap=False)
    finally:
        midi.close()
