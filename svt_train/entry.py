"""``svt-train``'s console-script entry: :func:`svt_train.cli.main` behind :func:`svt_live.commands.entry.guarded`.

A file-system failure anywhere (``--out`` names a file, a read-only or full
feature cache, a read-only home folder) ends the command with one line naming
the path and status 1, not a traceback.
"""
import sys

from svt_live.commands.entry import guarded


def main() -> int:
    try:
        return guarded("svt-train", "svt_train.cli")
    except OSError as exc:
        from svt_live.io.outputs import os_error_line

        print(f"svt-train: error: {os_error_line(exc)}", file=sys.stderr)
        return 1
