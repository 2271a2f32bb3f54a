"""Work-arounds for bugs in the Qt binding, applied when ``gui`` is imported.

PySide6 6.12.0 on CPython 3.11 drops a reference to ``None`` every time a
Python slot runs (a timer tick, a paint event, a button click) and one to
``True`` every time Python calls ``Signal.emit()``. CPython 3.12+ made these
singletons immortal (PEP 683), so there the bug is harmless; on 3.11 the
count reaches zero after a few hundred to a few thousand calls and the
interpreter aborts ("Fatal Python error: none_dealloc" / "bool_dealloc").
PySide6 6.11.3 does not have the bug.

:func:`guard_singleton_refcounts` measures whether the installed binding
drops references and, only then, gives ``None``, ``True`` and ``False``
2**40 extra references, which makes them as good as immortal, as on 3.12.
"""
from __future__ import annotations

import ctypes
import platform
import sys

EXTRA_REFS = 1 << 40
_SINGLETONS = (None, True, False)


def _counts() -> tuple[int, ...]:
    return tuple(sys.getrefcount(o) for o in _SINGLETONS)


def binding_drops_references(rounds: int = 8) -> bool:
    """True when emitting a signal to a Python slot loses references to None/True/False."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

        def pong(self) -> None:
            pass

    probe = _Probe()
    probe.ping.connect(probe.pong)
    before = _counts()
    for _ in range(rounds):
        probe.ping.emit()
    after = _counts()
    probe.ping.disconnect(probe.pong)
    return any(b - a >= rounds // 2 for a, b in zip(after, before))


def guard_singleton_refcounts() -> bool:
    """Make None/True/False immortal if the binding drops their references; True if applied."""
    if sys.version_info >= (3, 12) or platform.python_implementation() != "CPython":
        return False  # immortal already, or no reference counts to fix
    if hasattr(sys, "gettotalrefcount"):  # debug build: ob_refcnt is not the first field
        return False
    if not binding_drops_references():
        return False
    for obj in _SINGLETONS:
        ctypes.c_ssize_t.from_address(id(obj)).value += EXTRA_REFS
    return True


APPLIED = guard_singleton_refcounts()
