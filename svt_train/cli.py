"""``svt-train``: train and evaluate singing transcription models.

Examples::

    svt-train fit configs/base_cnn_mini.toml --out runs/course
    svt-train fit configs/singing_crnn.toml --out runs/crnn --resume
    torchrun --nproc_per_node=2 -m svt_train.cli fit configs/base_cnn_mini.toml --out runs/ddp
    svt-train eval runs/course/best.pt --set mir_test --json preds.json --plot roll.png
"""
from __future__ import annotations

import argparse
import sys
import warnings

from svt_live.audio import AudioError
from svt_live.checkpoint import CheckpointError
from svt_live.notes import NoteError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="svt-train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fit", help="train a model from a TOML config",
                       description="Train a model from a TOML config (see configs/). Writes OUT/best.pt "
                                   "(self-describing checkpoint with tuned thresholds), OUT/last.pt "
                                   "(resumable state) and OUT/history.json.")
    f.add_argument("config", help="TOML config, e.g. configs/base_cnn_mini.toml")
    f.add_argument("--out", required=True, help="output folder")
    f.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    f.add_argument("--epochs", type=int, help="override the config's epoch count")
    f.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:1 ...")
    f.add_argument("--threads", type=int, help="torch CPU threads")
    f.add_argument("--cache", help="feature cache folder (default ~/.cache/svt-live or $SVT_CACHE)")
    t = sub.add_parser("tune", help="re-choose a checkpoint's decoding thresholds on validation data",
                       description="Grid-search onset/offset thresholds, then voicing threshold, minimum note "
                                   "length and silence gap, on the config's validation sets (COnP F1 by "
                                   "default); rewrites the checkpoint's decoding settings in place.")
    t.add_argument("checkpoint")
    t.add_argument("config", help="the TOML config whose valid sets to tune on")
    t.add_argument("--cache", help="feature cache folder")
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


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    warnings.simplefilter("default")
    try:
        if args.command == "fit":
            from .fit import fit
            from .cache import DEFAULT_CACHE
            fit(args.config, args.out, resume=args.resume, epochs=args.epochs, device=args.device,
                cache_dir=args.cache or DEFAULT_CACHE, threads=args.threads)
        elif args.command == "tune":
            from .cache import DEFAULT_CACHE
            from .fit import retune
            retune(args.checkpoint, args.config, args.cache or DEFAULT_CACHE)
        else:
            from .evaluate import run_eval
            run_eval(args.model, args.sets, args.data_root, args.json, args.plot, args.device)
    except (AudioError, NoteError, CheckpointError, ValueError, FileNotFoundError) as exc:
        print(f"svt-train: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("svt-train: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
