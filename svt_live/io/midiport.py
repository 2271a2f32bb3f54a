"""Live MIDI output ports for note events (python-rtmidi): open one by name or as a virtual port, send,
and survive a MIDI system (ALSA, JACK) that goes away mid-take."""
from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from svt_live.events import NoteOff, NoteOn, PitchBend
from svt_live.io.bends import BEND_RANGE_SEMITONES, bend_range_bytes, bend_value, pitchwheel_bytes
from svt_live.io.jack import ServerWatch

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


CLIENT_NAME = "svt-live"  # the client that owns svt-live's port, as other programs list it


def _transient_name() -> str:
    """The name of a client that lives a moment (listing ports): unique to this process.

    JACK binds each client's notification socket by the client's name alone, whatever the server,
    and unlinks it by that name on close: a listing client named like another process's port client,
    closed while that one opens, would take its socket away and fail its open.
    """
    return f"{CLIENT_NAME}-list-{os.getpid()}"


def _clients(api: str | None, name: str = CLIENT_NAME) -> tuple[list, list[str]]:
    """Open one rtmidi output client, named ``name``, per available MIDI system.

    Returns ``([(api_name, rtmidi.MidiOut), ...], [api names that failed])``.
    """
    import rtmidi

    compiled = set(rtmidi.get_compiled_api())
    clients, failed = [], []
    for system in _api_names(api):
        const = getattr(rtmidi, API_BY_NAME[system])
        if const not in compiled:
            failed.append(system)
            continue
        try:
            with _quiet_stderr():
                clients.append((system, rtmidi.MidiOut(const, name=name)))
        except rtmidi.RtMidiError:
            failed.append(system)
    return clients, failed


def _no_system(failed: list[str]) -> MidiPortError:
    hint = {"alsa": "ALSA needs /dev/snd/seq", "jack": "JACK needs a running jackd"}
    why = "; ".join(hint.get(a, f"{a} unavailable") for a in failed)
    return MidiPortError(f"no MIDI system available (tried {', '.join(failed)}: {why})")


def output_port_names(api: str | None = None) -> list[str]:
    """Names of the MIDI output ports of every available MIDI system (empty when none)."""
    clients, _ = _clients(api, _transient_name())
    names = []
    for _, client in clients:
        names += [n for n in client.get_ports() if n not in names]
        client.delete()
    return names


def list_output_ports(api: str | None = None) -> str:
    """Printable list of MIDI output ports (for ``svt-live --list-midi-ports``)."""
    clients, failed = _clients(api, _transient_name())
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

    def describe(self) -> str:
        """The port as the commands announce it: name, MIDI system and the pitch-bend range once set
        (e.g. ``'svt-live' (jack), pitch bends +-2 semitones``)."""
        bends = f", pitch bends +-{self.bend_range} semitones" if self._range_sent_at is not None else ""
        return f"{self.port_name!r} ({self.api}){bends}"

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

    def __enter__(self) -> MidiOut:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


MIDI_CHOICE_KINDS = ("none", "virtual", "port")
VIRTUAL_PORT = "svt-live"  # the virtual port's name when none is given


@dataclass(frozen=True)
class MidiChoice:
    """Which MIDI output a take plays to.

    Parameters
    ----------
    kind : {"none", "virtual", "port"}
        No port; a new virtual port; an existing port.
    name : str
        ``virtual``: the new port's name (default :data:`VIRTUAL_PORT`); ``port``: text the existing
        port's name contains (case-insensitive).
    create : bool
        ``port`` only: when no port matches ``name``, create a virtual port of that name instead (what
        ``svt-live --midi-out NAME`` does) rather than fail (what svt-gui's named port does).

    Examples
    --------
    >>> MidiChoice.parse("port:FLUID Synth")
    MidiChoice(kind='port', name='FLUID Synth', create=False)
    >>> MidiChoice.parse("virtual").spelling, MidiChoice.from_option(None).kind
    ('virtual', 'none')
    """

    kind: str = "none"
    name: str = ""
    create: bool = False

    def __post_init__(self):
        if self.kind not in MIDI_CHOICE_KINDS:
            raise ValueError(f"unknown MIDI choice {self.kind!r} (use {', '.join(MIDI_CHOICE_KINDS)})")
        if self.kind == "port" and not self.name.strip():
            raise ValueError("a MIDI port choice needs the port's name")
        if self.kind == "virtual" and not self.name:
            object.__setattr__(self, "name", VIRTUAL_PORT)
        if self.kind == "none":
            object.__setattr__(self, "name", "")

    @classmethod
    def parse(cls, text, strict: bool = True) -> MidiChoice:
        """The choice spelt ``"none"``, ``"virtual"`` or ``"port:NAME"`` (svt-gui's stored choice; ``None``
        and ``""`` are "none"). Anything else raises ``ValueError``, or with ``strict=False`` reads as
        "none" (a stored setting that is no longer understood)."""
        if text is None or text == "" or text == "none":
            return cls()
        if text == "virtual":
            return cls("virtual")
        if isinstance(text, str) and text.startswith("port:") and text[len("port:"):].strip():
            return cls("port", text[len("port:"):])
        if strict:
            raise ValueError(f"not a MIDI choice: {text!r} (use none, virtual or port:NAME)")
        return cls()

    @classmethod
    def from_option(cls, port: str | None) -> MidiChoice:
        """``svt-live --midi-out [PORT]``'s choice: ``None`` (no option) is "none"; a name is the existing
        port whose name contains it, else a new virtual port of that name (the option alone gives
        :data:`VIRTUAL_PORT`)."""
        return cls() if port is None else cls("port", port, create=True)

    @property
    def spelling(self) -> str:
        """The text :meth:`parse` reads back (a ``create`` port is spelt as a plain port)."""
        return self.kind if self.kind != "port" else f"port:{self.name}"


def open_midi(choice: MidiChoice, warn: Callable[[str], None] | None = None, bends: bool = False,
              api: str | None = None) -> MidiOut | None:
    """Open the MIDI output ``choice`` names: one policy for every take.

    Parameters
    ----------
    choice : MidiChoice
        What to open; "none" gives None.
    warn : callable, optional
        Given: a port that cannot be opened is reported as one line,
        ``"MIDI out unavailable: <why>; transcribing without MIDI"``, and None is returned (the take
        goes on without MIDI). Not given: it raises :class:`MidiPortError` with the reason.
    bends : bool
        Manage the pitch-bend range on the port (:meth:`MidiOut.set_bend_range`).
    api : str, optional
        MIDI systems to try (:class:`MidiOut`).

    Returns
    -------
    MidiOut or None
    """
    if choice.kind == "none":
        return None
    virtual = True if choice.kind == "virtual" else (None if choice.create else False)
    try:
        midi = MidiOut(choice.name, virtual=virtual, api=api)
    except ImportError as exc:
        reason = f"python-rtmidi is not installed ({exc.name or exc})"
    except MidiPortError as exc:
        reason = str(exc)
    except Exception as exc:  # noqa: BLE001 - rtmidi's own errors (SystemError...) when a client fails
        reason = f"cannot open MIDI port {choice.name!r}: {exc or exc.__class__.__name__}"
    else:
        if bends:
            midi.set_bend_range()
        return midi
    if warn is None:
        raise MidiPortError(reason)
    warn(f"MIDI out unavailable: {reason}; transcribing without MIDI")
    return None
