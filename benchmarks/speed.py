"""File-mode speed and memory of svt-live.

- **real-time factor** over SSVD dev (or another named set): seconds of
  compute per second of audio for decoding plus the engine at the file hop,
  per song (median) and overall; model loading excluded.
- **peak memory vs length**: synthetic songs of 1 min and 60 min (16 kHz
  16-bit WAV of harmonic tones, written minute by minute) transcribed by
  ``svt-live FILE -q``, each in a fresh process; peak RSS from ``wait4``.
  Streaming decode and a bounded engine should keep the 60-min peak within
  1.2 x the 1-min peak.
- **against basic-pitch** (``--peers``): the same files through basic-pitch
  (``benchmarks/peers``, its own venv, ONNX model, its default settings;
  model loading excluded as here) right after svt-live's pass, in the same
  run, so the ratio of the two times holds whatever else the machine runs.

    python -m benchmarks.speed [--model NAME|PATH] [--threads N] [--limit N] [--minutes 1,60] [--peers]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]

from svt_live.engine.checkpoint import load_model
from svt_live.engine.streaming import FILE_HOP, Engine
from svt_live.io.audio import iter_audio
from svt_train.datasets import named_set
from tests import synth

RSS_RATIO_TARGET = 1.2


def real_time_factors(lm, paths) -> tuple[list[float], float, float]:
    """Per-file RTFs, total compute seconds and total audio seconds (file mode: 5 s decode blocks)."""
    sr = lm.features.sample_rate
    rtfs, compute, audio = [], 0.0, 0.0
    for k, path in enumerate(paths, 1):
        t0 = time.perf_counter()
        eng = Engine(lm, sr, FILE_HOP, overlap=True)
        n = 0
        for block in iter_audio(path, sr, block_seconds=5.0):
            eng.push(block)
            n += len(block)
        eng.finish()
        dt = time.perf_counter() - t0
        rtfs.append(dt / (n / sr))
        compute += dt
        audio += n / sr
        print(f"\r{k}/{len(paths)} files", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return rtfs, compute, audio


def write_synthetic(path: Path, minutes: int, seed: int = 0) -> Path:
    """A 16 kHz mono 16-bit WAV of ``minutes`` of random melodies, generated one minute at a time."""
    rng = np.random.default_rng(seed)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(synth.SR)
        for _ in range(minutes):
            onsets = np.cumsum(rng.uniform(0.35, 1.0, 120))
            onsets = onsets[onsets < 59.0]
            notes = np.stack([onsets, onsets + rng.uniform(0.2, 0.3, len(onsets)),
                              rng.integers(48, 76, len(onsets))], axis=1)
            audio = synth.harmonic_tones(notes, 60.0)
            w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def peak_rss(argv: list[str]) -> tuple[float, float]:
    """Run a command to completion; returns (its peak RSS in MiB, wall seconds)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed with status {proc.returncode}")
    return usage.ru_maxrss / 1024, time.perf_counter() - t0  # ru_maxrss is in KiB on Linux


PEER_PYTHON = ROOT / "benchmarks" / "peers" / ".venv" / "bin" / "python"
PEER_TIMING = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from benchmarks.peers import basic_pitch_peer as bp
bp._model()
t0 = time.perf_counter()
for path in sys.argv[2:]:
    bp.transcribe(path)
print(json.dumps(time.perf_counter() - t0))
"""


def basic_pitch_seconds(paths) -> float | None:
    """Seconds basic-pitch takes over ``paths`` (its model loaded first), or None without its venv."""
    if not PEER_PYTHON.exists():
        print("basic-pitch: no benchmarks/peers/.venv (bash benchmarks/peers/setup.sh makes it)")
        return None
    p = subprocess.run([str(PEER_PYTHON), "-c", PEER_TIMING, str(ROOT), *map(str, paths)],
                       capture_output=True, text=True)
    if p.returncode:
        print(f"basic-pitch failed: {(p.stderr.strip().splitlines() or ['no message'])[-1]}")
        return None
    return float(p.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="bundled model name or checkpoint (default: the shipped default)")
    ap.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--set", default="ssvd_dev", help="named set for the real-time factor (default ssvd_dev)")
    ap.add_argument("--threads", type=int, default=min(4, os.cpu_count() or 1),
                    help="torch threads for the real-time factor (default: as svt-live file mode)")
    ap.add_argument("--limit", type=int, help="only the first N songs")
    ap.add_argument("--minutes", default="1,60", help="lengths of the synthetic songs for the memory test")
    ap.add_argument("--peers", action="store_true", help="also time basic-pitch on the same files, in the same run")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    lm = load_model(args.model)
    paths = [s.audio for s in named_set(args.set, args.data_root)[:args.limit]]
    rtfs, compute, audio = real_time_factors(lm, paths)
    print(f"model {lm.label}, {args.threads} torch thread(s), file hop {FILE_HOP:.0f} s")
    print(f"real-time factor on {args.set}: {len(paths)} files, {audio / 60:.1f} min of audio in {compute:.1f} s: "
          f"overall {compute / audio:.4f}, median per file {np.median(rtfs):.4f}, worst {max(rtfs):.4f} "
          f"({audio / compute:.0f} x real time)")
    if args.peers:
        peer = basic_pitch_seconds(paths)
        if peer is not None:
            print(f"basic-pitch on the same files: {peer:.1f} s ({audio / peer:.0f} x real time); svt-live "
                  f"{lm.label} is {peer / compute:.1f} x as fast (onnxruntime's own threads)")

    minutes = [int(m) for m in args.minutes.split(",")]
    cmd = [sys.executable, "-m", "svt_live.commands.cli", "-q"] + (["--model", args.model] if args.model else [])
    print(f"\n{'synthetic song':<16}{'peak RSS MiB':>14}{'wall s':>9}{'RTF':>8}   (svt-live FILE -q, fresh process)")
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in minutes:
            wav = write_synthetic(Path(tmp) / f"synthetic_{m}min.wav", m)
            rss, wall = peak_rss(cmd + [str(wav)])
            peaks.append(rss)
            print(f"{f'{m} min':<16}{rss:>14.0f}{wall:>9.1f}{wall / (60 * m):>8.3f}")
            wav.unlink()
    if len(peaks) > 1:
        ratio = peaks[-1] / peaks[0]
        print(f"peak RSS ratio {minutes[-1]} min / {minutes[0]} min: {ratio:.3f} (target < {RSS_RATIO_TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
