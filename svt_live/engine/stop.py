"""Stop requests: SIGINT (Ctrl-C) and SIGTERM as a flag that long loops poll.

Python's default Ctrl-C raises ``KeyboardInterrupt`` wherever the main
thread happens to be, and an exception raised inside a destructor or a
callback from C is only printed and dropped: the interrupt is lost and the
work goes on. A flag cannot be lost, and the loop that polls it stops at a
point where every output written so far is complete.
"""
from __future__ import annotations

import contextlib
import signal
import threading

_pending: int | None = None  # a SIGINT that came before any StopRequest (its KeyboardInterrupt may be lost)


class StartUp:
    """What :func:`early_interrupts` saw: ``signal`` is the Ctrl-C's number once one came, else ``None``."""

    def __init__(self):
        self.signal: int | None = None


_start_up: StartUp | None = None


def _early_interrupt(signum, frame) -> None:
    global _pending
    _pending = signum
    if _start_up is not None:
        _start_up.signal = signum
    if frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
        return  # inside the import machinery (a module lock's callback prints what it raises): recorded only
    raise KeyboardInterrupt


@contextlib.contextmanager
def early_interrupts():
    """Remember a Ctrl-C that comes while the program starts (imports, model loading, opening devices).

    Inside the block, SIGINT raises ``KeyboardInterrupt`` as Python's own handler does, except inside
    the import machinery (whose callbacks print an exception raised there and drop it), where it is
    only recorded; either way the signal is recorded. When the exception is dropped inside C code
    (PortAudio starting its JACK client), the first :class:`StopRequest` entered later still sees the
    request and the command stops there, saving what it has. C code may also turn the exception into
    another one (numpy's C extension reports an import it could not finish as an ``ImportError``):
    the yielded :class:`StartUp` keeps ``signal`` set, so the caller can tell that error from a real
    one. The entry points run the whole command in this block; on the way out the previous handler
    is back and nothing stays recorded. Main thread only.
    """
    global _pending, _start_up
    seen = StartUp()
    install = threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if install:
        _start_up = seen
        signal.signal(signal.SIGINT, _early_interrupt)
    try:
        yield seen
    finally:
        if install:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            _pending, _start_up = None, None


class StopRequest:
    """Context manager turning SIGINT and SIGTERM into a flag.

    ``bool(stop)`` is true once a signal came; ``stop.signal`` is its number.
    Handlers are installed only in the main thread and restored on exit.
    """

    def __init__(self):
        self.signal: int | None = None
        self._saved: dict = {}

    def __bool__(self) -> bool:
        return self.signal is not None

    def _handle(self, signum, frame) -> None:
        self.signal = signum

    def clear(self) -> None:
        """Forget the request (the next signal sets the flag again)."""
        self.signal = None

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if a stop was requested."""
        if self:
            raise KeyboardInterrupt

    def __enter__(self) -> StopRequest:
        global _pending
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._saved[sig] = signal.signal(sig, self._handle)
            if _pending is not None:  # a Ctrl-C during start-up whose KeyboardInterrupt was lost
                self.signal, _pending = _pending, None
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
