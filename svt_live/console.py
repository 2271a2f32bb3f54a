"""What the commands say on the console: one home for svt-live's, svt-train's and svt-gui's messages.

Library code raises; the commands (``svt_live.commands.cli``, ``svt_live.commands.live``,
``svt_live.commands.exercise``, ``svt_train.cli``, ``gui.app``) turn what it raises into one line on
stderr and an exit status:

====================  ======  ================================================
status                value   when
====================  ======  ================================================
``EXIT_OK``           0       done
``EXIT_FAILED``       1       an input, output or device failed (one line each)
``EXIT_USAGE``        2       options that cannot work together (before any work)
``EXIT_INTERRUPTED``  130     Ctrl-C or SIGTERM (what was done is kept)
====================  ======  ================================================
"""
from __future__ import annotations

import argparse
import sys

from svt_live.io.outputs import printable

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(ValueError):
    """Conflicting or incomplete command-line options (exit status ``EXIT_USAGE``)."""


class Parser(argparse.ArgumentParser):
    """An argument parser that reports bad options as :class:`UsageError` (one line) instead of usage
    text and exit, so each command prints it its own way."""

    def error(self, message):
        raise UsageError(message)


def line(text: str, file=None) -> None:
    """Write ``text`` and its newline in one write to ``file`` (default stderr), then flush.

    ``print`` writes the text and the newline separately; on an unbuffered stream (``python -u``,
    ``PYTHONUNBUFFERED``, what a program reading the lines as they come sets) a C library printing
    from another thread (ALSA, JACK) can land between them, inside the line.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> line("count-in 1.1", out)
    >>> out.getvalue()
    'count-in 1.1\\n'
    """
    stream = sys.stderr if file is None else file
    stream.write(f"{text}\n")
    stream.flush()


def wrote(path, quiet: bool) -> None:
    """Announce a written output on stderr as ``wrote PATH`` unless ``quiet``.

    Examples
    --------
    >>> import contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     wrote("take.mid", quiet=False)
    >>> err.getvalue()
    'wrote take.mid\\n'
    """
    if not quiet:
        line(f"wrote {printable(path)}")
