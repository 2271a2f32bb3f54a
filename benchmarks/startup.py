"""How long the commands take to answer without doing any work: ``--help``, ``--version``
and a usage error, each in a fresh process (Python's own start-up included), against
the time to import torch, which none of them should wait for.

Prints one row per command: the median and slowest wall-clock time of ``--repeat`` runs,
and the median CPU time (user + system) the process used, in seconds. On a busy machine
the wall-clock time grows with the load; the CPU time much less.

    python -m benchmarks.startup [--repeat 5]
"""
from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COMMANDS = [
    ("svt-live --help", [BIN / "svt-live", "--help"]),
    ("svt-live --version", [BIN / "svt-live", "--version"]),
    ("svt-live --bogus (usage error)", [BIN / "svt-live", "--bogus"]),
    ("svt-train --help", [BIN / "svt-train", "--help"]),
    ("svt-gui --help", [BIN / "svt-gui", "--help"]),
    ("python -c 'import torch' (for scale)", [sys.executable, "-c", "import torch"]),
]


def run_seconds(argv: list, repeat: int) -> tuple[list[float], list[float]]:
    """(wall-clock seconds, CPU seconds) of each of ``repeat`` runs of ``argv`` (output discarded)."""
    wall, cpu = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([str(a) for a in argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return wall, cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5, help="runs per command (default 5)")
    args = ap.parse_args(argv)
    run_seconds(COMMANDS[0][1], 1)  # warm the file cache
    print(f"{'command':<40} {'median s':>9} {'max s':>7} {'CPU s':>6}")
    for name, cmd in COMMANDS:
        wall, cpu = run_seconds(cmd, args.repeat)
        print(f"{name:<40} {statistics.median(wall):>9.2f} {max(wall):>7.2f} {statistics.median(cpu):>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
