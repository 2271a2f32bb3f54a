"""MIDI out: standard MIDI files from notes (mido) and live ports for note events (python-rtmidi).

Files hold one named track on channel 1: tempo, time signature and key
meta messages, then the notes (note numbers rounded against the tuning,
:mod:`svt_live.tuning`), optionally on a grid (:mod:`svt_live.grid`) and
with pitch bends (:mod:`svt_live.bends`).
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from pathlib import Path

import mido
import numpy as np

from .outputs import atomic_write
from .bends import (BEND_RANGE_SEMITONES, bend_range_bytes, bend_range_controls, bend_value, contour_bends,
                    pitchwheel_bytes)
from .events import NoteOff, NoteOn, PitchBend
from .grid import DEFAULT_BPM, DEFAULT_METER, check_bpm, quantize_notes
from .jack import ServerWatch
from .tuning import round_to_tuning

TICKS_PER_BEAT = 960
TRACK_NAME = "svt-live voice"
DEFAULT_VELOCITY = 80  # notes that carry no velocity (annotations read from files)


def _bend_messages(notes, key_numbers, contours, bend_range, shift) -> list[tuple[float, int, mido.Message]]:
    """Timed pitch-wheel messages: each note's contour (or its one offset) from its onset on."""
    msgs = []
    for i, (on, off, p) in enumerate(notes):
        if contours is not None and len(contours[i][0]):
            steps = contour_bends(contours[i][0] + shift[i], contours[i][1], int(key_numbers[i]), bend_range)
        else:
            steps = []
        if not steps or steps[0][0] > on:  # the note starts at its bend, never at the last note's
            steps.insert(0, (on, bend_value(p - key_numbers[i], bend_range)))
        for t, value in steps:
            if t < off:
                msgs.append((max(t, on), 0.5, mido.Message("pitchwheel", pitch=value)))
    return msgs


def tempo_map(rhythm) -> tuple[np.ndarray, np.ndarray]:
    """Knots ``(seconds [k], quarter notes [k])`` from a take's time to its MIDI file's quarter notes.

    Second 0 is quarter 0; from the first tracked beat on, the quarters follow
    the beats of ``rhythm`` (:class:`svt_live.rhythm.Rhythm`), shifted so that
    the score's first bar line falls on a whole bar of the file (the time before
    the first beat becomes whole bars, plus the pickup, at a tempo near the
    song's). Between knots the tempo is constant; after the last one it stays.
    """
    s, q = np.asarray(rhythm.beats_s, dtype=np.float64), np.asarray(rhythm.beats_q, dtype=np.float64)
    keep = s > 0.01  # beats at or before second 0 cannot be placed after it
    if keep.sum() < 2:
        spq = 60.0 / rhythm.qpm
        return np.array([0.0, 1.0]), np.array([0.0, 1.0 / spq])
    s, q = s[keep], q[keep]
    bar_q = rhythm.meter[0] * 4.0 / rhythm.meter[1]
    natural = s[0] / ((s[1] - s[0]) / (q[1] - q[0]))  # quarters before the first beat at its tempo
    bars = max(np.ceil((-q[0] + 1e-9) / bar_q), np.round((natural - q[0]) / bar_q))
    first = q[0] + bars * bar_q  # the first beat's quarter in the file: q = 0 lands on a bar line
    return np.concatenate([[0.0], s]), np.concatenate([[0.0], q - q[0] + first])


def _seconds_to_ticks(times, knots_s: np.ndarray, knots_q: np.ndarray) -> np.ndarray:
    """Seconds -> ticks through the tempo map (the last tempo continues past the last knot)."""
    t = np.asarray(times, dtype=np.float64)
    last = (knots_q[-1] - knots_q[-2]) / (knots_s[-1] - knots_s[-2])
    q = np.where(t > knots_s[-1], knots_q[-1] + (t - knots_s[-1]) * last, np.interp(t, knots_s, knots_q))
    return np.round(q * TICKS_PER_BEAT).astype(np.int64)


def notes_to_midi(notes: np.ndarray, velocities=None, *, bpm: float = DEFAULT_BPM,
                  meter: tuple[int, int] = DEFAULT_METER, division: int | None = None,
                  tuning_cents: float = 0.0, pitch_bends: bool = False, contours=None, key=None,
                  track_name: str = TRACK_NAME, bend_range: float = BEND_RANGE_SEMITONES,
                  rhythm=None) -> mido.MidiFile:
    """Notes -> a one-track MIDI file with tempo, time signature, key and optional grid and bends.

    Parameters
    ----------
    notes : array_like, shape (n, 3)
        ``(onset_s, offset_s, midi)`` rows sorted by onset; MIDI may be fractional.
    velocities : array_like of int, shape (n,), optional
        1-127 per note (default ``DEFAULT_VELOCITY``).
    bpm : float
        Tempo written to the file (quarter notes per minute). Without ``division``
        notes keep their real timing whatever the tempo.
    meter : (int, int)
        Time signature.
    division : int, optional
        Quantize onsets and offsets to this grid (8 = eighth notes, see :mod:`svt_live.grid`).
    tuning_cents : float
        Tuning the note numbers are rounded against (:mod:`svt_live.tuning`).
    pitch_bends : bool
        Write each note's offset from its note number as pitch-wheel messages
        (bend range set by RPN first, see :mod:`svt_live.bends`).
    contours : list of (times_s [k], midi [k]), optional
        Per note, its sung pitch contour: with ``pitch_bends`` the wheel follows it.
    key : svt_live.key.Key, optional
        Written as a key-signature meta message.
    track_name : str
        The track's name.
    rhythm : svt_live.rhythm.Rhythm, optional
        The take's inferred beats and meter (:func:`svt_live.leadsheet.infer_lead_sheet`):
        the file then carries its tempo map (a ``set_tempo`` wherever the tempo changes)
        and meter instead of ``bpm`` and ``meter``, so that a DAW's bars line up with
        the notes, which keep their real timing; with ``division`` they move to the
        lead sheet's note values instead, rounded to that grid.

    Returns
    -------
    mido.MidiFile
    """
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 3)
    vel = (np.full(len(notes), DEFAULT_VELOCITY) if velocities is None
           else np.clip(np.asarray(velocities, dtype=np.int64).reshape(-1), 1, 127))
    if len(vel) != len(notes):
        raise ValueError(f"{len(vel)} velocities for {len(notes)} notes")
    shift = np.zeros(len(notes))
    knots = tempo_map(rhythm) if rhythm is not None else None
    if rhythm is not None:
        meter = rhythm.meter
    if rhythm is not None and division is not None and len(notes) == len(rhythm.onset_q):
        s_q = knots[1][1] - np.asarray(rhythm.beats_q)[np.asarray(rhythm.beats_s) > 0.01][0]  # score q -> file q
        step = 4.0 / division
        on_q = np.round(rhythm.onset_q / step) * step
        off_q = np.maximum(np.round(rhythm.offset_q / step) * step, on_q + step)
        on_s = np.interp(on_q + s_q, knots[1], knots[0])
        off_s = np.interp(off_q + s_q, knots[1], knots[0])
        shift = on_s - notes[:, 0]
        notes = np.column_stack([on_s, off_s, notes[:, 2]])
    elif division is not None:
        q, kept = quantize_notes(notes, bpm, division, return_index=True)
        shift = q[:, 0] - notes[kept, 0]  # contours move with their note's onset
        notes, vel = q, vel[kept]
        contours = None if contours is None else [contours[i] for i in kept]
    tempo = mido.bpm2tempo(check_bpm(bpm))
    key_numbers = np.clip(round_to_tuning(notes[:, 2], tuning_cents), 0, 127)
    mid = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("track_name", name=track_name, time=0))
    track.append(mido.MetaMessage("time_signature", numerator=meter[0], denominator=meter[1], time=0))
    if key is not None:
        track.append(mido.MetaMessage("key_signature", key=key.midi_name, time=0))
    if pitch_bends:
        track.extend(mido.Message("control_change", control=c, value=v) for c, v in bend_range_controls(bend_range))
    msgs = []  # (time s, order at equal times: note_off 0, bend 0.5, note_on 1, message)
    for (on, off, _), k, v in zip(notes, key_numbers, vel):
        msgs.append((on, 1, mido.Message("note_on", note=int(k), velocity=int(v))))
        msgs.append((off, 0, mido.Message("note_off", note=int(k), velocity=0)))
    if pitch_bends:
        msgs += _bend_messages(notes, key_numbers, contours, bend_range, shift)
        if len(notes):
            msgs.append((notes[-1, 1], 0.75, mido.Message("pitchwheel", pitch=0)))
    if knots is None:
        knots = (np.array([0.0, 1.0]), np.array([0.0, 1e6 / tempo]))
    ticks = _seconds_to_ticks([m[0] for m in msgs], *knots) if msgs else []
    tempos = []  # (tick, order -1: before the notes at that tick, set_tempo)
    spq = np.diff(knots[0]) / np.diff(knots[1])
    for i, (k_q, sec) in enumerate(zip(knots[1][:-1], spq)):
        us = int(round(sec * 1e6))
        if not tempos or us != tempos[-1][2].tempo:
            tempos.append((int(round(k_q * TICKS_PER_BEAT)), -1, mido.MetaMessage("set_tempo", tempo=us)))
    events = sorted([(tk, o, msg) for tk, (_, o, msg) in zip(ticks, msgs)] + tempos, key=lambda e: (e[0], e[1]))
    last = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=int(tick) - last))
        last = int(tick)
    track.append(mido.MetaMessage("end_of_track", time=0))
    return mid


def write_midi_file(path: str | Path, notes: np.ndarray, velocities=None, **options) -> None:
    """Write notes as a standard MIDI file (atomically); ``options`` as :func:`notes_to_midi`'s."""
    mid = notes_to_midi(notes, velocities, **options)
    atomic_write(path, lambda tmp: mid.save(tmp))


# ---------------------------------------------------------------- live MIDI ports (python-rtmidi)

NOTE_ON, NOTE_OFF, CONTROL_CHANGE = 0x90, 0x80, 0xB0
ALL_NOTES_OFF = 123  # controller number
JACK_DRAIN_S = 0.1  # seconds a JACK port stays open after its last message: a few process cycles

API_BY_NAME = {"alsa": "API_LINUX_ALSA", "jack": "API_UNIX_JACK", "coremidi": "API_MACOSX_CORE",
               "winmm": "API_WINDOWS_MM"}
API_ENV = "SVT_MIDI_API"  # e.g. "jack" or "alsa,jack": which MIDI systems to try, in order
BEND_RANGE_REFRESH_SECONDS = 1.0  # a NoteOn this long after the last bend-range RPN sends it again
PORT_CHECK_SECONDS = 0.5  # how often sending checks that the port still exists


_KEPT: list = []  # rtmidi JACK clients whose server died: never closed, never freed (see _keep_forever)


def _keep_forever(client) -> None:
    """Keep an rtmidi JACK client whose server has gone from ever being closed or freed.

    Closing it unregisters its port through a server that no longer answers, and its
    destructor frees the message buffer before closing the client: libjack may then
    crash the whole process, from whichever thread closes it or at interpreter exit.
    The client holds a few kilobytes; the extra reference keeps Python from freeing it
    even while modules are torn down at exit.
    """
    import ctypes

    _KEPT.append(client)
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(client))


class MidiPortError(RuntimeError):
    """A MIDI port that cannot be opened or written (one-line reason)."""


def _platform_apis() -> list[str]:
    if sys.platform == "darwin":
        return ["coremidi"]
    if sys.platform.startswith("win"):
        return ["winmm"]
    return ["alsa", "jack"]


def _api_names(api: str | None) -> list[str]:
    """MIDI systems to try, in order: ``api`` (comma-separated), else ``$SVT_MIDI_API``, else the platform's."""
    spec = api or os.environ.get(API_ENV) or ""
    names = [a.strip().lower() for a in spec.split(",") if a.strip()] or _platform_apis()
    unknown = [a for a in names if a not in API_BY_NAME]
    if unknown:
        raise MidiPortError(f"unknown MIDI API {unknown[0]!r} (use {', '.join(API_BY_NAME)})")
    return names


@contextlib.contextmanager
def _quiet_stderr():
    """Silence C libraries (libasound, libjack) that print to fd 2 while a client fails to open."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _clients(api: str | None) -> tuple[list, list[str]]:
    """Open one rtmidi output client per available MIDI system.

    Returns ``([(api_name, rtmidi.MidiOut), ...], [api names that failed])``.
    """
    import rtmidi

    compiled = set(rtmidi.get_compiled_api())
    clients, failed = [], []
    for name in _api_names(api):
        const = getattr(rtmidi, API_BY_NAME[name])
        if const not in compiled:
            failed.append(name)
            continue
        try:
            with _quiet_stderr():
                clients.append((name, rtmidi.MidiOut(const, name="svt-live")))
        except rtmidi.RtMidiError:
            failed.append(name)
    return clients, failed


def _no_system(failed: list[str]) -> MidiPortError:
    hint = {"alsa": "ALSA needs /dev/snd/seq", "jack": "JACK needs a running jackd"}
    why = "; ".join(hint.get(a, f"{a} unavailable") for a in failed)
    return MidiPortError(f"no MIDI system available (tried {', '.join(failed)}: {why})")


def output_port_names(api: str | None = None) -> list[str]:
    """Names of the MIDI output ports of every available MIDI system (empty when none)."""
    clients, _ = _clients(api)
    names = []
    for _, client in clients:
        names += [n for n in client.get_ports() if n not in names]
        client.delete()
    return names


def list_output_ports(api: str | None = None) -> str:
    """Printable list of MIDI output ports (for ``svt-live --list-midi-ports``)."""
    clients, failed = _clients(api)
    lines = []
    for name, client in clients:
        ports = client.get_ports()
        client.delete()
        lines.append(f"{name}: " + (", ".join(repr(p) for p in ports) if ports else "no output ports"))
    lines += [f"{name}: not available" for name in failed]
    if sys.platform.startswith("win"):
        lines.append("(Windows has no virtual ports: create one with loopMIDI and pass its name to --midi-out)")
    return "\n".join(lines)


def _connect(clients: list, port: str, virtual: bool | None) -> tuple:
    """Open the port :class:`MidiOut` asks for on one of ``clients``.

    Returns ``(client, api, port name, whether a virtual port was created)``.
    """
    import rtmidi

    found = [(api, client, i, name) for api, client in clients
             for i, name in enumerate(client.get_ports()) if port.lower() in name.lower()]
    if virtual is not True and found:
        api, client, index, name = found[0]
    elif virtual is False:
        known = ", ".join(repr(n) for _, c in clients for n in c.get_ports()) or "none"
        raise MidiPortError(f"no MIDI output port matching {port!r} (available: {known})")
    elif sys.platform.startswith("win"):
        raise MidiPortError("Windows cannot create virtual MIDI ports: create one with loopMIDI "
                            "and name it, e.g. --midi-out loopMIDI")
    else:
        (api, client), name, index = clients[0], port, None
    try:
        if index is None:
            client.open_virtual_port(port)
        else:
            client.open_port(index)
    except (rtmidi.RtMidiError, ValueError) as exc:
        raise MidiPortError(f"cannot open MIDI port {name!r} ({api}): {exc}") from None
    return client, api, name, index is None


class MidiOut:
    """A live MIDI output for note events.

    ``port``: with ``virtual=None`` an existing output port whose name
    contains ``port`` (case-insensitive) is opened if there is one, else a
    virtual port named ``port`` is created; ``virtual=True`` always creates
    one, ``virtual=False`` requires an existing port. ``api``: MIDI systems
    to try in order, e.g. ``"jack"`` (default ``$SVT_MIDI_API``, else ALSA
    then JACK on Linux, CoreMIDI on macOS, Windows MM on Windows).
    Attributes: ``port_name`` (the port opened), ``api`` (the system used).
    Sending raises :class:`MidiPortError` once the port has gone away (its
    JACK server stopped, or the program owning an opened port quit; checked
    every ``PORT_CHECK_SECONDS``): rtmidi itself drops such messages silently.
    """

    def __init__(self, port: str = "svt-live", virtual: bool | None = None, api: str | None = None,
                 channel: int = 0):
        self.channel = int(channel) & 0x0F
        self._sounding: set[int] = set()
        self.bend_range = BEND_RANGE_SEMITONES
        self._range_sent_at: float | None = None  # when the bend range last went out; None: not managed
        self._bent = False  # a pitch bend was sent: the wheel is re-centred on close
        self._out = self._watch = None
        clients, failed = _clients(api)
        if not clients:
            raise _no_system(failed)
        try:
            self._out, self.api, self.port_name, self._virtual = _connect(clients, port, virtual)
        finally:
            for _, client in clients:
                if client is not self._out:
                    client.delete()
        if self.api == "jack":
            try:
                self._watch = ServerWatch()
            except OSError:
                pass  # no check then: rtmidi works without it
        self._checked = time.monotonic()

    def port_exists(self) -> bool:
        """Whether the port is still there: its JACK server still runs (for JACK), and an
        opened (not virtual) port is still among the destinations."""
        if self._watch is not None and self._watch.down:
            return False
        return self._virtual or self.port_name in self._out.get_ports()

    def send_bytes(self, message: list[int]) -> None:
        """Send one raw MIDI message; raises :class:`MidiPortError` when the port fails."""
        import rtmidi
        if self._out is None:
            raise MidiPortError("MIDI port is closed")
        if time.monotonic() - self._checked >= PORT_CHECK_SECONDS:
            self._checked = time.monotonic()
            if not self.port_exists():
                raise MidiPortError(f"MIDI port {self.port_name!r} went away ({self.api})")
        try:
            self._out.send_message(message)
        except (rtmidi.RtMidiError, ValueError) as exc:
            raise MidiPortError(f"MIDI port {self.port_name!r} failed: {exc}") from None

    def set_bend_range(self, semitones: float = BEND_RANGE_SEMITONES) -> None:
        """Scale :class:`~svt_live.events.PitchBend` events to ``semitones`` and set that range (RPN 0)
        on the channel before the next NoteOn, and again before any NoteOn
        ``BEND_RANGE_REFRESH_SECONDS`` later: a synth connected mid-take gets it with its first note."""
        bend_range_bytes(semitones)  # refuses a range RPN cannot hold, now rather than at the first note
        self.bend_range, self._range_sent_at = semitones, -math.inf

    def send(self, event) -> None:
        """Send a :class:`~svt_live.events.NoteOn`, :class:`~svt_live.events.NoteOff` or
        :class:`~svt_live.events.PitchBend` now."""
        if isinstance(event, PitchBend):
            self.send_bytes(pitchwheel_bytes(bend_value(event.semitones, self.bend_range), self.channel))
            self._bent = True
        elif isinstance(event, NoteOn):
            now = time.monotonic()
            if self._range_sent_at is not None and now - self._range_sent_at >= BEND_RANGE_REFRESH_SECONDS:
                for message in bend_range_bytes(self.bend_range, self.channel):
                    self.send_bytes(message)
                self._range_sent_at = now
            self.send_bytes([NOTE_ON | self.channel, event.pitch & 0x7F, max(1, min(127, event.velocity))])
            self._sounding.add(event.pitch)
        elif isinstance(event, NoteOff):
            self.send_bytes([NOTE_OFF | self.channel, event.pitch & 0x7F, 0])
            self._sounding.discard(event.pitch)
        else:
            raise TypeError(f"not a note event: {event!r}")

    def close(self) -> None:
        """Release sounding notes, send all-notes-off (CC 123) and close the port. Idempotent."""
        if self._out is None:
            return
        try:
            for pitch in sorted(self._sounding):
                self.send_bytes([NOTE_OFF | self.channel, pitch, 0])
            self.send_bytes([CONTROL_CHANGE | self.channel, ALL_NOTES_OFF, 0])
            if self._bent:
                self.send_bytes(pitchwheel_bytes(0, self.channel))
        except MidiPortError:
            pass  # the port is gone: nothing left to silence
        finally:
            self._sounding.clear()
            out, self._out = self._out, None
            server_gone = self._watch is not None and self._watch.down
            if self.api == "jack" and server_gone:
                _keep_forever(out)
            else:
                if self.api == "jack":
                    time.sleep(JACK_DRAIN_S)  # JACK delivers in its process cycle: closing at once drops the tail
                out.close_port()
                out.delete()
            if self._watch is not None:
                self._watch.close()
                self._watch = None

    def __enter__(self) -> "MidiOut":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
