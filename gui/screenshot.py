"""Render the window with a transcribed take to a PNG, without a screen.

    python -m gui.screenshot docs/gui.png
    python -m gui.screenshot docs/gui.png --model path/to/model.pt --at 6.5

Transcribes ``--audio`` (default: the bundled vocadito clip) with ``--model``
(default: the shipped default model), overlays ``--reference`` (default: the
clip's annotation) and saves ``widget.grab()`` of the whole window. ``--at S``
plays the file at real-time pace and takes the picture when S seconds have
been sung (a take in progress: sounding note lit, play head).
``--onset-threshold`` runs a copy of the model with that onset threshold
(docs/gui.png uses the default model's own tuned thresholds). Uses the
offscreen Qt platform unless QT_QPA_PLATFORM is set, and a throw-away
settings file.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "svt_live" / "data"
CLIP = DATA / "vocadito_10.wav"
CLIP_REFERENCE = DATA / "vocadito_10_notesA1.csv"


def with_decoding(model: str | None, path: str | Path, **decoding) -> Path:
    """Copy checkpoint ``model`` (bundled name, path or None for the default) to ``path``
    with decoding settings overridden, e.g. ``onset_threshold=0.05``."""
    import torch

    from svt_live.engine.checkpoint import read_checkpoint, resolve
    from svt_live.io.outputs import atomic_write

    ck = read_checkpoint(resolve(model))
    ck["decoding"] = {**ck["decoding"], **decoding}
    ck["meta"] = {**ck.get("meta", {}), "decoding_overridden": decoding}
    atomic_write(path, lambda tmp: torch.save(ck, tmp))
    return Path(path)


def _wait(app, until, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while not until():
        if time.monotonic() > end:
            return False
        app.processEvents()
        time.sleep(0.005)
    app.processEvents()
    return True


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m gui.screenshot", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="PNG to write")
    p.add_argument("--audio", default=str(CLIP))
    p.add_argument("--reference", default=str(CLIP_REFERENCE), help="annotation to overlay ('' for none)")
    p.add_argument("--model", help="bundled model name or checkpoint path")
    p.add_argument("--onset-threshold", type=float, help="override the model's onset threshold (0-1)")
    p.add_argument("--at", type=float, help="real-time pace; grab after this many seconds of audio")
    p.add_argument("--size", default="1200x720", help="window size WxH in pixels")
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    import torch
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from .dialogs import Dialogs
    from .window import MainWindow

    class ThrowAway(Dialogs):
        def keep_take(self, n_notes: int) -> str:
            return "discard"  # the take was only drawn: closing asks nothing

    torch.set_num_threads(1)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    tmp = tempfile.TemporaryDirectory()
    win = MainWindow(settings=QSettings(str(Path(tmp.name) / "settings.ini"), QSettings.Format.IniFormat),
                     level_monitor=False, dialogs=ThrowAway())
    w, h = (int(v) for v in args.size.lower().split("x"))
    win.resize(w, h)
    win.show()
    model = args.model
    if args.onset_threshold is not None:
        from svt_live.engine.checkpoint import resolve
        name = resolve(model).stem
        model = str(with_decoding(model, Path(tmp.name) / f"{name}-onset{args.onset_threshold:g}.pt",
                                  onset_threshold=args.onset_threshold))
    if model:
        win.set_model(model)
    win.realtime_check.setChecked(args.at is not None)
    if not win.open_audio_file(args.audio, start=False):
        print(f"screenshot: {win.messages[-1][1]}", file=sys.stderr)
        return 1
    if args.reference:
        win.load_reference(args.reference)
    win.clear_message()
    win.start()
    if args.at is not None:
        _wait(app, lambda: not win.recording or win.take.stream_time >= args.at, args.at + 60)
        _wait(app, lambda: False, 0.05)
        shot = win.grab()
        win.stop()
    else:
        _wait(app, lambda: not win.recording, 600)
        win.clear_message()
        app.processEvents()
        shot = win.grab()
    _wait(app, lambda: not win.recording, 30)
    errors = [t for k, t in win.messages if k == "error"]
    if errors:
        print(f"screenshot: {errors[-1]}", file=sys.stderr)
    from svt_live.io.outputs import os_error_line

    from .pianoroll import save_png
    try:
        save_png(shot, args.out)
    except OSError as exc:
        print(f"screenshot: {os_error_line(exc)}", file=sys.stderr)
        return 1
    print(f"{args.out}: {shot.width()}x{shot.height()}, {len(win.take.notes)} notes, "
          f"model {win.model_combo.currentText()}")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
