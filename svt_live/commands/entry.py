"""Console-script entry points (``svt-live``, ``python -m svt_live``).

A command spends its first second or two importing numpy, torch and FFmpeg.
A Ctrl-C then would print a ``KeyboardInterrupt`` traceback from inside an
import; :func:`guarded` ends it as a later Ctrl-C does: one line, status 130.
"""
from __future__ import annotations

import importlib
import sys


def guarded(prog: str, module: str) -> int:
    """Import ``module`` and return its ``main()``; a Ctrl-C on the way gives ``prog: interrupted`` and 130,
    also when C code turned its ``KeyboardInterrupt`` into another error (numpy's import does)."""
    from svt_live.engine.stop import early_interrupts

    start = None
    try:
        with early_interrupts() as start:
            command = importlib.import_module(module)
            if start.signal is None:  # a Ctrl-C the import machinery only recorded ends the command here
                return command.main()
    except KeyboardInterrupt:
        pass
    except Exception:
        if start is None or start.signal is None:
            raise
    print(f"{prog}: interrupted", file=sys.stderr)
    return 130


def main() -> int:
    """``svt-live``: :func:`svt_live.commands.cli.main` behind :func:`guarded`."""
    return guarded("svt-live", "svt_live.commands.cli")
