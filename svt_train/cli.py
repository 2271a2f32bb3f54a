"""svt-train: train and evaluate singing transcription models.

Examples:
    svt-train fit configs/base_cnn_mini.toml --out runs/course
    svt-train fit configs/singing_crnn.toml --out runs/crnn --resume
    svt-train fit configs/base_cnn_mini.toml --out runs/course --overwrite
    torchrun --nproc_per_node=2 -m svt_train.cli fit configs/base_cnn_mini.toml --out runs/ddp
    svt-train fit configs/singing_crnn.toml --out runs/crnn --data-root ~/data
    svt-train tune runs/crnn/best.pt configs/singing_crnn.toml --out runs/crnn/tuned.pt
    svt-train eval runs/course/best.pt --set mir_test --json preds.json --plot roll.png

Data paths in a config are taken from its data_root; --data-root DIR
replaces it (a folder holding mir_st500_mini/, ssvd/, vocadito/ ...).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import warnings
from pathlib import Path

from svt_live import __version__
from svt_live.console import Parser, UsageError  # usage errors as one line, as svt-live's
from svt_live.io.outputs import printable
from svt_live.notes import NoteError

DATA_ROOT = "../shared/data"  # TrainConfig's default data_root
MAX_EPOCHS = 100_000  # svt_train.config.RANGES's (not imported here: that imports torch)
MAX_THREADS = 1024  # more is a typo; more than the machine's cores is capped to them


def whole(lo: int, hi: int):
    """An argparse type: a whole number from ``lo`` to ``hi`` (else a usage error naming the range)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is not from {lo} to {hi}")
        return value
    return parse


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="svt-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fit", help="train a model from a TOML config",
                       description="Train a model from a TOML config (see configs/). Writes OUT/best.pt "
                                   "(self-describing checkpoint with tuned thresholds), OUT/last.pt "
                                   "(resumable state) and OUT/history.json.")
    f.add_argument("config", help="TOML config, e.g. configs/base_cnn_mini.toml")
    f.add_argument("--out", required=True, help="output folder")
    f.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    f.add_argument("--overwrite", action="store_true",
                   help="start afresh in an OUT that holds another run's files (best.pt, last.pt, history.json, "
                        "curves.png), replacing them; without it (or --resume) such an OUT is refused")
    f.add_argument("--epochs", type=whole(0, MAX_EPOCHS), metavar="N",
                   help=f"override the config's epoch count (0 to {MAX_EPOCHS}; 0 only with init_from)")
    f.add_argument("--device", default="auto",
                   help="auto (CUDA when present, then MPS, else CPU), cpu, cuda, cuda:N or mps")
    f.add_argument("--threads", type=whole(1, MAX_THREADS), metavar="N",
                   help="torch CPU threads (1 or more; more than the machine's cores uses the cores)")
    f.add_argument("--cache", help="feature cache folder (default ~/.cache/svt-live or $SVT_CACHE)")
    f.add_argument("--data-root", metavar="DIR", help="where the config's data paths start (default: its "
                                                      f"data_root, else {DATA_ROOT})")
    t = sub.add_parser("tune", help="re-choose a checkpoint's decoding thresholds on validation data",
                       description="Grid-search onset/offset thresholds, then voicing threshold, minimum note "
                                   "length and silence gap, on the config's validation sets (COnP F1 by "
                                   "default). Writes the retuned checkpoint to --out; without --out it "
                                   "rewrites CHECKPOINT and keeps the original beside it as CHECKPOINT.bak.")
    t.add_argument("checkpoint")
    t.add_argument("config", help="the TOML config whose valid sets to tune on")
    t.add_argument("--out", help="write the retuned checkpoint here (CHECKPOINT is left as it is)")
    t.add_argument("--cache", help="feature cache folder")
    t.add_argument("--data-root", metavar="DIR", help="where the config's data paths start (default: its data_root)")
    m = sub.add_parser("mir1k-notes", help="transcribe MIR-1K's voices into the notes a model is sure of",
                       description="Transcribe the voice alone (right channel) of every MIR-1K clip of a singer "
                                   "split with MODEL, keep the notes it is sure of (svt_train.mir1k.sure_notes: "
                                   "voiced in the clip's .pv, the model's pitch near the .pv's, a steady pitch, "
                                   "confident posteriors), each pitched by the .pv as sung. Writes OUT/notes.json "
                                   "({clip: [[onset, offset, midi], ...]}, for a mir1k data spec's notes) and "
                                   "OUT/summary.json (model, rule, counts).")
    m.add_argument("model", help="checkpoint file or bundled model name (the best solo model)")
    m.add_argument("--mir1k", default="~/svt-data/mir1k", help="the MIR-1K extract (default ~/svt-data/mir1k)")
    m.add_argument("--split", default="train", help="singer split: train, valid or test (default train)")
    m.add_argument("--out", required=True, help="output folder (outside the clone, e.g. ~/svt-data/mir1k_notes)")
    m.add_argument("--overwrite", action="store_true", help="replace an existing OUT/notes.json")
    m.add_argument("--threads", type=int, help="torch CPU threads")
    e = sub.add_parser("eval", help="transcribe a data set and score it with mir_eval",
                       description="Transcribe every song of a set, write predictions (MIR-ST500 JSON) and "
                                   "print COnPOff / COnP / COn precision, recall and F1 per song, averaged "
                                   "per song and pooled over notes, at 50 ms and 100 ms onset tolerance.")
    e.add_argument("model", help="checkpoint file or bundled model name")
    e.add_argument("--set", dest="sets", action="append", required=True,
                   help="mir_train, mir_valid, mir_test, ssvd_train, ssvd_dev, ssvd_dev_f0 (SSVD dev with "
                        "each note's pitch re-measured from the sung f0), vocadito, or a folder of audio + "
                        "same-stem annotations (repeatable)")
    e.add_argument("--data-root", default="../shared/data", help="where the named sets live")
    e.add_argument("--json", help="write predictions here ({song_id: [[onset, offset, midi], ...]})")
    e.add_argument("--plot", help="PNG: reference vs prediction piano roll with frame posteriors (first song)")
    e.add_argument("--device", default="auto")
    return p


def check_data(config: str | Path, data_root: str | None) -> None:
    """Refuse, before any work, a config whose data folders do not exist: a ``FileNotFoundError``
    naming the folder, the data root it came from and how to point at another."""
    from .config import TrainConfig

    cfg = TrainConfig.load(config)
    root = data_root or cfg.data_root
    where = "--data-root" if data_root else f"data_root of {config}"
    for spec in [*cfg.train, *cfg.valid]:
        path = spec.get("path") if isinstance(spec, dict) else None
        if isinstance(path, str) and not (Path(root) / Path(path).expanduser()).exists():
            folder = Path(root) / Path(path).expanduser()
            raise FileNotFoundError(f"data folder {folder} does not exist ({where} is {root}); give "
                                    f"--data-root DIR, the folder holding {path}, or set data_root in the config")


def tune_target(checkpoint: str, out: str | None) -> Path:
    """The file ``svt-train tune`` rewrites: a copy of ``checkpoint`` at ``out``, or ``checkpoint``
    itself after keeping the original as ``<checkpoint>.bak`` (``.bak1``, ``.bak2``... when taken)."""
    src = Path(checkpoint)
    if not src.is_file():
        raise FileNotFoundError(f"{src}: no such checkpoint file")
    if out is not None:
        dst = Path(out)
        if dst.exists() and dst.resolve() == src.resolve():
            raise ValueError(f"--out {out} is the checkpoint itself: give another path, or no --out")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        return dst
    backup = src.with_name(src.name + ".bak")
    n = 1
    while backup.exists():
        backup, n = src.with_name(f"{src.name}.bak{n}"), n + 1
    shutil.copyfile(src, backup)
    print(f"svt-train: kept the original as {printable(backup)}", file=sys.stderr)
    return src


def mir1k_notes(args) -> None:
    """``svt-train mir1k-notes``: write OUT/notes.json and OUT/summary.json (see its --help)."""
    import json

    import torch

    from svt_live.engine.checkpoint import load_model
    from svt_live.io.annotations import write_json
    from svt_live.io.outputs import atomic_write

    from . import mir1k

    out = Path(args.out).expanduser()
    if (out / "notes.json").exists() and not args.overwrite:
        raise ValueError(f"{out / 'notes.json'} exists: give --overwrite to replace it, or another --out")
    if args.threads:
        torch.set_num_threads(args.threads)
    lm = load_model(args.model)
    kept, counts = mir1k.transcribe_voices(args.mir1k, args.split, lm)
    rule = {k: getattr(mir1k, k) for k in dir(mir1k) if k.startswith("SURE_")}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "notes.json", kept)
    summary = json.dumps({"model": lm.label, "split": args.split, "rule": rule, **counts}, indent=1)
    atomic_write(out / "summary.json", lambda tmp: Path(tmp).write_text(summary + "\n"))
    print(f"{counts['kept_notes']} of {counts['notes']} notes kept in {counts['clips_with_notes']} of "
          f"{counts['clips']} clips; they cover {100 * counts['voiced_frames_covered']:.1f} % of the voiced "
          f".pv frames; wrote {out / 'notes.json'}")


def _expected_errors() -> tuple:
    """The failures that end the command in one line (imported once needed: torch loads slowly)."""
    from svt_live.engine.checkpoint import CheckpointError
    from svt_live.io.audio import AudioError
    return AudioError, NoteError, CheckpointError, ValueError, FileNotFoundError


def main(argv=None) -> int:
    """The ``svt-train`` command: returns its exit status (0 ok, 2 bad usage or input, 130 interrupted)."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"svt-train: error: {printable(exc)} (see svt-train --help)", file=sys.stderr)
        return 2
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        return _run(args)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (a corrupt cache entry, skipped audio packets) as one line each, escaped."""
    print(f"svt-train: warning: {printable(message)}", file=sys.stderr)


def _run(args) -> int:
    """:func:`main` once the options are parsed: every expected failure becomes one line and a status."""
    try:
        if args.command == "fit":
            if args.threads and args.threads > cores():
                print(f"svt-train: warning: --threads {args.threads}: this machine gives {cores()} cores; "
                      f"using {cores()}", file=sys.stderr)
                args.threads = cores()
            check_data(args.config, args.data_root)
            from .cache import DEFAULT_CACHE
            from .fit import fit
            fit(args.config, args.out, resume=args.resume, epochs=args.epochs, device=args.device,
                cache_dir=args.cache or DEFAULT_CACHE, threads=args.threads, data_root=args.data_root,
                overwrite=args.overwrite)
        elif args.command == "tune":
            check_data(args.config, args.data_root)
            from .cache import DEFAULT_CACHE
            from .fit import retune
            retune(tune_target(args.checkpoint, args.out), args.config, args.cache or DEFAULT_CACHE,
                   data_root=args.data_root)
        elif args.command == "mir1k-notes":
            mir1k_notes(args)
        else:
            from .evaluate import run_eval
            run_eval(args.model, args.sets, args.data_root, args.json, args.plot, args.device)
    except KeyboardInterrupt:  # before _expected_errors(): no imports while interrupted
        print("svt-train: interrupted", file=sys.stderr)
        return 130
    except _expected_errors() as exc:
        print(f"svt-train: error: {printable(exc)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
