"""What PortAudio and rtmidi do not tell about a JACK server: is it up, and has it stopped.

rtmidi's JACK client drops MIDI silently once its server has gone, and
PortAudio's JACK host API aborts the whole process (a failed assertion in
``Pa_Terminate``) when it shuts down after its server went away. Both are
guarded with these checks (see :mod:`svt_live.io.midiport` and :mod:`svt_live.io.mic`).
The server is ``$JACK_DEFAULT_SERVER`` or the default one, as for every JACK client.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

NO_START_SERVER = 1  # JackNoStartServer: never launch a server as a side effect
_SHUTDOWN_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def _open(name: str) -> tuple:
    """``(libjack, client)`` for a new client named ``name-<pid>``; raises OSError without libjack or a server.

    The pid keeps the name unique: JACK binds a client's notification socket by its name alone,
    whatever the server, so two processes opening the same name at once could break each other.
    """
    lib = ctypes.CDLL(ctypes.util.find_library("jack") or "libjack.so.0")
    lib.jack_client_open.restype = ctypes.c_void_p
    lib.jack_on_shutdown.argtypes = [ctypes.c_void_p, _SHUTDOWN_CALLBACK, ctypes.c_void_p]
    lib.jack_activate.argtypes = lib.jack_client_close.argtypes = [ctypes.c_void_p]
    client = lib.jack_client_open(f"{name}-{os.getpid()}".encode(), ctypes.c_int(NO_START_SERVER), None)
    if not client:
        raise OSError("no JACK server running")
    return lib, client


def server_running() -> bool:
    """Whether a client can connect to the JACK server now."""
    try:
        lib, client = _open("svt-live-probe")
    except OSError:
        return False
    lib.jack_client_close(client)
    return True


def server_realtime() -> bool | None:
    """Whether the JACK server runs its cycle with realtime scheduling; None when none is running.

    Without it (``jackd --no-realtime``) the cycle's threads compete with every other process, so
    on a loaded machine clients miss their deadlines (xruns) and live audio arrives late
    (``python -m benchmarks.latency --jack --no-jack-realtime`` measures it).
    """
    try:
        lib, client = _open("svt-live-probe")
    except OSError:
        return None
    lib.jack_is_realtime.argtypes = [ctypes.c_void_p]
    realtime = bool(lib.jack_is_realtime(client))
    lib.jack_client_close(client)
    return realtime


class ServerWatch:
    """A passive JACK client whose shutdown callback sets :attr:`down` when the server stops.

    Raises OSError when there is no libjack or no server to watch.
    """

    def __init__(self):
        self.down = False
        self._callback = _SHUTDOWN_CALLBACK(self._on_shutdown)  # must live as long as the client
        self._lib, self._client = _open("svt-live-watch")
        self._lib.jack_on_shutdown(self._client, self._callback, None)
        self._lib.jack_activate(self._client)

    def _on_shutdown(self, _arg) -> None:
        self.down = True

    def close(self) -> None:
        """Close the client (idempotent)."""
        client, self._client = self._client, None
        if client:
            self._lib.jack_client_close(client)
