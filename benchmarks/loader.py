"""Data loading speed: cold cache vs warm cache, for one epoch over MIR-ST500 train.

- **cold**: an empty (temporary) cache: decode the 12 training MP3s, compute
  log-mel features and frame labels, write the cache entries.
- **warm**: the cache built: look every song up (hash of audio + notes +
  settings, memory-mapped features) and draw one full epoch of training
  batches ``[8, 250, 256]`` (features float32 + labels), as ``svt-train fit``
  does.

The course's target was 30 s for the whole training set's data pass; the
warm pass should take well under a second.

    python -m benchmarks.loader [--data-root ../shared/data] [--threads 1]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]

from svt_live.engine.features import FeatureConfig, MelExtractor
from svt_train.cache import load_cached
from svt_train.datasets import NAMED_SETS, load_set
from svt_train.loader import batches, epoch_plan


def epoch_pass(songs, cfg, cache_dir, ex, batch_size, segment_frames, seed=0) -> dict:
    """Features + labels of every song (from the cache or computed), then one epoch of batches.

    Every batch is touched so lazy (memory-mapped) reads really happen.
    Returns seconds for both phases and the batch and segment counts.
    """
    t0 = time.perf_counter()
    cached = [load_cached(s, cfg, cache_dir, ex) for s in songs]
    t1 = time.perf_counter()
    plan = epoch_plan(cached, segment_frames, np.random.default_rng(seed))
    n_batches, checksum = 0, 0.0
    for x, y in batches(cached, plan, batch_size, segment_frames):
        assert x.shape[1:] == (segment_frames, cfg.n_mels) and x.dtype == torch.float32
        checksum += float(x[:, 0, 0].sum()) + float(y["onset"].sum())
        n_batches += 1
    t2 = time.perf_counter()
    return {"songs": t1 - t0, "batches": t2 - t1, "n_batches": n_batches, "n_segments": len(plan)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--segment-frames", type=int, default=250)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = FeatureConfig()
    songs = load_set(NAMED_SETS["mir_train"], args.data_root)
    ex = MelExtractor(cfg)
    rows = []
    with tempfile.TemporaryDirectory(prefix="svt-loader-bench-") as cache_dir:
        for label in ("cold (empty cache)", "warm (cache built)", "warm, again"):
            rows.append((label, epoch_pass(songs, cfg, cache_dir, ex, args.batch_size, args.segment_frames)))
        frames = sum(load_cached(s, cfg, cache_dir, ex).mel.shape[0] for s in songs)
    minutes = frames * cfg.frame_seconds / 60
    first = rows[0][1]
    print(f"MIR-ST500 train: {len(songs)} songs, {minutes:.1f} min of audio, {frames} frames; one epoch = "
          f"{first['n_segments']} segments in {first['n_batches']} batches "
          f"[{args.batch_size}, {args.segment_frames}, {cfg.n_mels}]; torch threads {torch.get_num_threads()}")
    print(f"{'pass':<20}{'songs s':>9}{'batches s':>11}{'total s':>9}{'x real time':>13}")
    print("-" * 62)
    for label, r in rows:
        total = r["songs"] + r["batches"]
        print(f"{label:<20}{r['songs']:>9.3f}{r['batches']:>11.3f}{total:>9.3f}{minutes * 60 / total:>13.0f}")
    print("songs: decode + features + labels (cold) or cache lookup (warm); batches: one epoch of batches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
