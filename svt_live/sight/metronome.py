"""The count-in before a sight-singing take: clicks at the score's tempo.

Clicks go to the audio output (sounddevice, the default device) or, with a
MIDI port, as woodblock notes on channel 10 (General MIDI percussion: 76 on
the first beat of a bar, 77 on the others). Either way the beats are also
printed, so a count-in without any output still counts. Times in seconds,
the first click at 0.
"""
from __future__ import annotations

import sys
import threading
import time

import numpy as np

from svt_live.console import line

CLICK_SECONDS = 0.03
ACCENT_HZ, BEAT_HZ = 1760.0, 1320.0
GM_PERCUSSION = 0x99  # note-on, channel 10
ACCENT_NOTE, BEAT_NOTE = 76, 77  # hi and low wood block


def click_times(bpm: float, beats_per_bar: int, bars: int) -> np.ndarray:
    """Onsets ``[bars * beats_per_bar]`` (s) of the count-in clicks."""
    if not (bpm > 0 and beats_per_bar > 0 and bars >= 0):
        raise ValueError(f"count-in needs a positive tempo and beats, got {bpm} BPM, {beats_per_bar} beats")
    return np.arange(bars * beats_per_bar) * 60.0 / bpm


def click_track(bpm: float, beats_per_bar: int, bars: int, sample_rate: int = 44100) -> np.ndarray:
    """Mono float32 audio ``[n]`` of the count-in: a decaying sine click on every beat, higher on
    the first beat of each bar, lasting until the beat after the last click."""
    times = click_times(bpm, beats_per_bar, bars)
    out = np.zeros(int(round((len(times) * 60.0 / bpm) * sample_rate)) + 1, np.float32)
    t = np.arange(int(CLICK_SECONDS * sample_rate)) / sample_rate
    for k, on in enumerate(times):
        hz = ACCENT_HZ if k % beats_per_bar == 0 else BEAT_HZ
        click = 0.5 * np.sin(2 * np.pi * hz * t) * np.exp(-t / (CLICK_SECONDS / 4))
        a = int(round(on * sample_rate))
        out[a:a + len(click)] += click[:len(out) - a].astype(np.float32)
    return out


class CountIn:
    """Plays a count-in in the background: :meth:`start` returns at once, the clicks follow.

    ``midi_port``: a port name for MIDI clicks (an existing port whose name contains it, else a
    virtual port ``"<name> count-in"``); ``None``: the audio output.
    """

    def __init__(self, bpm: float, beats_per_bar: int, bars: int, midi_port: str | None = None):
        self.bpm, self.beats, self.bars, self.midi_port = bpm, beats_per_bar, bars, midi_port
        self.times = click_times(bpm, beats_per_bar, bars)
        self.seconds = len(self.times) * 60.0 / bpm
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not len(self.times):
            return
        midi = self._open_midi() if self.midi_port is not None else None
        if midi is None:
            self._play_audio()
        self._thread = threading.Thread(target=self._count, args=(midi,), daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def _open_midi(self):
        """The count-in's port through the one opening policy (:func:`svt_live.io.midiport.open_midi`):
        an existing port whose name contains ``midi_port``, else a virtual ``"<name> count-in"`` (apart
        from a virtual port of the take's own of that name); ``None`` when neither opens."""
        from svt_live.io.midiport import MidiChoice, MidiPortError, open_midi
        try:
            return open_midi(MidiChoice("port", self.midi_port))
        except MidiPortError:
            pass
        try:
            return open_midi(MidiChoice("virtual", f"{self.midi_port} count-in"))
        except MidiPortError as exc:
            print(f"svt-live: count-in: {exc}; clicking on the audio output", file=sys.stderr)
            return None

    def _play_audio(self) -> None:
        try:
            import sounddevice as sd
            sd.play(click_track(self.bpm, self.beats, self.bars), 44100)
        except Exception as exc:  # PortAudio errors have no common base; a count-in must not end the take
            print(f"svt-live: count-in: no audio output ({exc}); count along with the printed beats",
                  file=sys.stderr)

    def _count(self, midi) -> None:
        """Print every beat (and send it as MIDI) on time."""
        from svt_live.io.midiport import MidiPortError
        t0 = time.perf_counter()
        try:
            for k, on in enumerate(self.times):
                time.sleep(max(0.0, t0 + on - time.perf_counter()))
                beat = k % self.beats
                line(f"count-in {k // self.beats + 1}.{beat + 1}")
                if midi is not None:
                    note = ACCENT_NOTE if beat == 0 else BEAT_NOTE
                    midi.send_bytes([GM_PERCUSSION, note, 100])
                    midi.send_bytes([GM_PERCUSSION, note, 0])
        except MidiPortError as exc:
            print(f"svt-live: count-in: {exc}", file=sys.stderr)
        finally:
            if midi is not None:
                midi.close()
