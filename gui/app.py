"""svt-gui: the svt-live window.

Examples:
    svt-gui                        open the window (choices from the last session)
    svt-gui song.wav               open the window and transcribe song.wav
    svt-gui song.wav --reference notes.csv --model path/to/model.pt

Ctrl-C (or SIGTERM) in the terminal ends the take, keeps its unsaved notes as
<take>-<time>.mid in the current folder (else the home folder) and closes the
window (status 130; 1 when neither folder takes the file, both named).
"""
from __future__ import annotations

import argparse
import os
import sys

from svt_live import __version__
from svt_live.engine.stop import StopRequest


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="svt-gui", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("audio", nargs="?", help="audio file to transcribe at start")
    p.add_argument("--model", help="bundled model name or checkpoint path (default: last used)")
    p.add_argument("--reference", help="annotation to overlay and score (json, txt, csv, mid)")
    p.add_argument("--song-id", help="song id inside a MIR-ST500 annotations.json")
    p.add_argument("--settings", help="ini file to keep choices in (default: ~/.config/svt-live/svt-gui.conf)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from svt_live.io.outputs import os_error_line, printable

    from .settings import default_settings_path, settings_file

    try:
        settings, save_settings = settings_file(args.settings or default_settings_path())
    except ValueError as exc:
        print(f"svt-gui: error: {printable(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"svt-gui: error: {'--settings ' if args.settings else 'settings: '}{os_error_line(exc)}",
              file=sys.stderr)
        return 1
    try:
        return _run(args, settings)
    finally:
        try:
            save_settings()
        except OSError as exc:
            print(f"svt-gui: error: settings not saved: {os_error_line(exc)}", file=sys.stderr)


def _run(args, settings) -> int:
    """The window's life: show it, open what the command line names, run until it closes."""
    import torch
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .window import MainWindow

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))  # leave a core for drawing
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("svt-gui")
    app.setOrganizationName("svt-live")
    win = MainWindow(settings=settings)
    if args.model:
        win.set_model(args.model)
    win.show()
    if args.audio:
        win.open_audio_file(args.audio, start=not args.reference)
    if args.reference:
        win.load_reference(args.reference, song_id=args.song_id)
        if args.audio and win.audio_path:
            win.start()
    with StopRequest() as stop:
        poll = QTimer(interval=100)  # Python runs its signal handlers only while Qt calls back into it
        poll.timeout.connect(lambda: _on_stop_request(stop, win, app))
        poll.start()
        return app.exec()


def _on_stop_request(stop: StopRequest, win, app) -> None:
    """A Ctrl-C or SIGTERM arrived: keep the take and quit, with status 130, or 1 when the take could
    not be saved anywhere (the places tried are named)."""
    if not stop:
        return
    path, failures = win.interrupt()
    if failures:
        print(f"svt-gui: interrupted; take NOT saved (tried {'; '.join(failures)})", file=sys.stderr)
        app.exit(1)
        return
    print(f"svt-gui: interrupted{f'; take saved to {path}' if path else ''}", file=sys.stderr)
    app.exit(130)


if __name__ == "__main__":  # python -m gui.app: a Ctrl-C while it starts is one line too, as for svt-gui
    from svt_live.commands.entry import guarded

    sys.exit(guarded("svt-gui", "gui.app"))
