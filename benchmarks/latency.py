"""Live latency and per-hop compute of the streaming engine, on SSVD dev.

Every song is streamed through :class:`svt_live.engine.Engine` as a
microphone would deliver it: 16 kHz, 10 ms blocks, the live hop (20 ms),
one torch thread. Printed:

- **note latency**: for every streamed note matched to a reference note
  (mir_eval, onset 50 ms, pitch 50 cents), ``emitted_at - reference onset``:
  how long after the singer started the note its NoteOn went out (audio
  time; add the audio device's buffer for wall-clock latency). Also the
  engine's own delay ``emitted_at - note time`` over all NoteOns, which
  does not depend on the model's accuracy.
- **compute per hop**: wall time of each ``Engine.push`` call that ran the
  model (mel frames, network, decoder) — what must fit in 40 ms in real time.
- **streaming vs offline**: COnP F1 (mean per song) of the streamed notes
  and of offline transcription, against the references; they should agree.

    python benchmarks/latency.py [--model NAME|PATH] [--data-root ../shared/data] [--limit N]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from mir_eval import transcription

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from svt_live.audio import load_audio  # noqa: E402
from svt_live.checkpoint import load_model  # noqa: E402
from svt_live.engine import LIVE_HOP, Engine  # noqa: E402
from svt_live.evaluate import score_songs  # noqa: E402
from svt_live.events import NoteOn  # noqa: E402
from svt_live.offline import transcribe_audio  # noqa: E402
from svt_train.datasets import named_set  # noqa: E402

BLOCK_SECONDS = 0.01
TARGETS = {"note latency": (0.120, 0.200), "compute per hop": (None, 0.020)}  # (median, p95) seconds


def stream_song(lm, audio: np.ndarray, hop: float) -> tuple[np.ndarray, list, list[float]]:
    """Stream ``audio [N]`` (16 kHz) in 10 ms blocks; returns notes, NoteOns and model-call seconds."""
    sr = lm.features.sample_rate
    eng = Engine(lm, sr, hop)
    block = int(BLOCK_SECONDS * sr)
    ons, compute = [], []
    for i in range(0, len(audio), block):
        consumed = eng.stream_time
        t0 = time.perf_counter()
        events = eng.push(audio[i:i + block])
        dt = time.perf_counter() - t0
        if eng.stream_time != consumed:  # this push ran the model
            compute.append(dt)
        ons += [e for e in events if isinstance(e, NoteOn)]
    ons += [e for e in eng.finish() if isinstance(e, NoteOn)]
    return eng.notes, ons, compute


def matched_latencies(ref: np.ndarray, notes: np.ndarray, ons: list) -> list[float]:
    """``emitted_at - reference onset`` for each streamed note matched to a reference (COnP, 50 ms)."""
    if not len(ref) or not len(notes):
        return []
    hz = lambda m: 440.0 * 2.0 ** ((m - 69.0) / 12.0)  # noqa: E731
    pairs = transcription.match_notes(ref[:, :2], hz(ref[:, 2]), notes[:, :2], hz(notes[:, 2]),
                                      onset_tolerance=0.05, pitch_tolerance=50.0, offset_ratio=None)
    emitted = {on.time: on.emitted_at for on in ons}
    return [emitted[notes[j, 0]] - ref[i, 0] for i, j in pairs]


def stats_row(name: str, values: list[float], target: tuple | None) -> str:
    if not values:
        return f"{name:<28}{'no values':>10}"
    med, p95 = np.median(values) * 1000, np.percentile(values, 95) * 1000
    goal = ""
    if target:
        goal = "  target " + " / ".join(f"{lbl} <= {t * 1000:.0f} ms" for lbl, t in zip(("median", "p95"), target)
                                        if t is not None)
    return f"{name:<28}{len(values):>7}{med:>10.1f}{p95:>10.1f}{goal}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="bundled model name or checkpoint (default: the shipped default)")
    ap.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--set", default="ssvd_dev", help="named evaluation set (default ssvd_dev)")
    ap.add_argument("--hop", type=float, default=LIVE_HOP, help="seconds per model call (default: the live hop)")
    ap.add_argument("--limit", type=int, help="only the first N songs")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    lm = load_model(args.model)
    songs = named_set(args.set, args.data_root)[:args.limit]
    latency, delay, compute, streamed, offline = [], [], [], {}, {}
    seconds = 0.0
    for k, song in enumerate(songs, 1):
        audio = load_audio(song.audio, lm.features.sample_rate)
        seconds += len(audio) / lm.features.sample_rate
        notes, ons, dt = stream_song(lm, audio, args.hop)
        latency += matched_latencies(song.notes, notes, ons)
        delay += [on.emitted_at - on.time for on in ons]
        compute += dt
        streamed[song.id] = (song.notes, notes)
        offline[song.id] = (song.notes, transcribe_audio(audio, lm)[0])
        print(f"\r{k}/{len(songs)} songs", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    f_stream = score_songs(streamed)["mean"]["COnP"][2]
    f_off = score_songs(offline)["mean"]["COnP"][2]
    agree = score_songs({k: (offline[k][1], streamed[k][1]) for k in streamed})["pooled"]["COnP"][2]

    print(f"model {lm.name}, set {args.set}: {len(songs)} songs, {seconds / 60:.1f} min of audio; "
          f"hop {args.hop * 1000:.0f} ms, {BLOCK_SECONDS * 1000:.0f} ms blocks, 1 torch thread")
    print(f"{'':<28}{'count':>7}{'median ms':>10}{'p95 ms':>10}")
    print(stats_row("note latency (matched)", latency, TARGETS["note latency"]))
    print(stats_row("engine delay (all NoteOns)", delay, None))
    print(stats_row("compute per hop", compute, TARGETS["compute per hop"]))
    print(f"COnP F1 mean/song: streaming {100 * f_stream:.2f} %, offline {100 * f_off:.2f} %, "
          f"difference {100 * abs(f_stream - f_off):.2f} points (target < 1); "
          f"streaming vs offline notes agree at COnP F1 {100 * agree:.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
