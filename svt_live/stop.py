"""Stop requests: SIGINT (Ctrl-C) and SIGTERM as a flag that long loops poll.

Python's default Ctrl-C raises ``KeyboardInterrupt`` wherever the main
thread happens to be, and an exception raised inside a destructor or a
callback from C is only printed and dropped: the interrupt is lost and the
work goes on. A flag cannot be lost, and the loop that polls it stops at a
point where every output written so far is complete.
"""
from __future__ import annotations

import signal
import threading


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

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
