"""Batch speed-up of ``svt-live --jobs N`` on SSVD dev, and whether the notes stay identical.

Runs the command as a user would (a subprocess, the default model, one
JSON per input under ``--output-dir``) once per job count, times its wall
clock, and compares every output file with the ``--jobs 1`` run. The
speed-up depends on the cores free at the time: the machine's core count and
load average are printed with the table.

    python -m benchmarks.jobs --jobs 1,2,4
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from svt_live.io.audio import load_audio
from svt_train.datasets import named_set

ROOT = Path(__file__).resolve().parents[1]


def run(files: list[Path], jobs: int, out: Path) -> float:
    """Seconds ``svt-live FILES --output-dir OUT --json --jobs JOBS`` takes."""
    cmd = [sys.executable, "-m", "svt_live", *map(str, files), "--output-dir", str(out), "--json", "-q",
           "--jobs", str(jobs)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="ssvd_dev")
    ap.add_argument("--jobs", default="1,2")
    ap.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args(argv)
    songs = named_set(args.set, args.data_root)
    files = sorted({s.audio for s in songs})
    audio_s = sum(len(load_audio(f)) / 16000 for f in files)
    rows, first = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in map(int, args.jobs.split(",")):
            out = Path(tmp) / f"jobs{jobs}"
            load = os.getloadavg()[0]
            took = run(files, jobs, out)
            texts = {p.relative_to(out): p.read_text() for p in sorted(out.rglob("*.json"))}
            first = first or (took, texts)
            same = "yes" if texts == first[1] else "NO"
            rows.append(f"{jobs:>5}{took:>9.1f}{audio_s / took:>10.0f}x{first[0] / took:>10.2f}{same:>11}"
                        f"{load:>10.1f}")
    print(f"{args.set}: {len(files)} files, {audio_s:.0f} s of audio; {os.cpu_count()} cores")
    print(f"{'jobs':>5}{'wall s':>9}{'speed':>11}{'speed-up':>10}{'same notes':>11}{'load avg':>10}")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
