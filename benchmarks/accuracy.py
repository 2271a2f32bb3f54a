"""Accuracy of svt-live's models (offline and streaming) beside the peers.

Prints, for every set and system, COnPOff / COnP / COn F1 (mir_eval, onset
50 ms, pitch 50 cents, offset 20 % / 50 ms), averaged per song and pooled
over notes, plus the course protocol's 100 ms onset tolerance for the MIR-ST500
test songs. "streaming" runs the Engine at the live hop (10 ms blocks, one model call per 20 ms,
lookahead as declared by the checkpoint); "offline" transcribes whole files.
Peers' rows come from benchmarks/peers (run `bash benchmarks/peers/run.sh`
first; their rows are skipped with a note when their predictions are absent).
Writes one piano-roll PNG per set (first song, reference vs prediction) to
``--plots DIR`` (default ``benchmarks/out/accuracy``, ignored by git); ``--refresh-docs``
writes them to ``docs/`` instead, where the documentation shows them.

The headline sets: SSVD dev with each note's pitch re-measured from the sung
fundamental (``ssvd_dev_f0``: the pitch that was sung is the truth; ``ssvd_dev``,
SSVD's own sharper annotations, is a secondary row), MIR-ST500 test and
vocadito #10 against each annotator (``vocadito``: A1, ``vocadito_a2``: A2).
Last, unless ``--no-frame-pitch``, the frame-pitch table of
:mod:`benchmarks.frame_pitch` on MIR-1K's held-out singers (skipped with a
line when MIR-1K is not extracted).

    python -m benchmarks.accuracy [--sets ssvd_dev_f0,ssvd_dev,mir_test,vocadito,vocadito_a2]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
PLOTS = ROOT / "benchmarks" / "out" / "accuracy"  # pictures of a run; docs/ only with --refresh-docs

from svt_live.engine.checkpoint import load_model
from svt_live.engine.offline import transcribe_audio
from svt_live.engine.streaming import LIVE_HOP, transcribe_stream
from svt_live.evaluate import MEASURES, evaluate_songs
from svt_live.io.audio import load_audio
from svt_live.io.plot import excerpt_span, plot_transcription
from svt_train.datasets import named_set


def row(system: str, mode: str, set_name: str, res: dict, tol: float) -> str:
    cells = "".join(f"{100 * res['mean'][m][2]:>14.1f}{100 * res['pooled'][m][2]:>8.1f}" for m in MEASURES)
    return f"{set_name:<12}{system:<22}{mode:<11}{int(tol * 1000):>4}ms{cells}"


def header() -> str:
    cols = "".join(f"{m + ' mean':>14}{'pooled':>8}" for m in MEASURES)
    h = f"{'set':<12}{'system':<22}{'mode':<11}{'onset':>6}{cols}"
    return h + "\n" + "-" * len(h)


def evaluate_model(name: str, songs, streaming: bool, plot_to: Path | None) -> dict:
    lm = load_model(name)
    pairs, t_audio, t0 = {}, 0.0, time.time()
    for i, s in enumerate(tqdm(songs, desc=f"{name} {'streaming' if streaming else 'offline'}", leave=False)):
        audio = load_audio(s.audio, lm.features.sample_rate)
        t_audio += len(audio) / lm.features.sample_rate
        if streaming:
            blocks = (audio[j:j + 160] for j in range(0, len(audio), 160))  # 10 ms blocks
            notes = transcribe_stream(blocks, lm, lm.features.sample_rate, hop_seconds=LIVE_HOP, overlap=False)
        else:
            notes, post = transcribe_audio(audio, lm)
            if i == 0 and plot_to is not None:
                plot_transcription(plot_to, notes, s.notes, post, lm.features.frame_seconds,
                                   span=excerpt_span(notes, s.notes), title=f"{s.id}: {name} (red) vs reference (grey)")
        pairs[s.id] = (s.notes, notes)
    return {"pairs": pairs, "rtf": t_audio / max(1e-9, time.time() - t0)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="ssvd_dev_f0,ssvd_dev,mir_test,vocadito,vocadito_a2")
    ap.add_argument("--models", default="singing_crnn,base_cnn_mini")
    ap.add_argument("--no-frame-pitch", action="store_true", help="leave out the MIR-1K frame-pitch table")
    ap.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--no-streaming", action="store_true", help="offline rows only")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--plots", metavar="DIR", default=str(PLOTS),
                    help=f"where the piano-roll PNGs go (default {PLOTS})")
    ap.add_argument("--refresh-docs", action="store_true", help="write the piano-roll PNGs to docs/ (the pictures "
                                                                 "the documentation shows), not to --plots")
    args = ap.parse_args(argv)
    plots = ROOT / "docs" if args.refresh_docs else Path(args.plots)
    torch.set_num_threads(1)
    sets = [s for s in args.sets.split(",") if s]
    lines = []
    for set_name in sets:
        songs = named_set(set_name, args.data_root)
        for model in args.models.split(","):
            for streaming in ([False] if args.no_streaming else [False, True]):
                plot_to = None if streaming or model != args.models.split(",")[0] else plots / f"roll_{set_name}.png"
                r = evaluate_model(model, songs, streaming, plot_to)
                mode = "streaming" if streaming else "offline"
                tols = (0.05, 0.1) if set_name == "mir_test" else (0.05,)
                for tol in tols:
                    lines.append(row(model, mode, set_name, evaluate_songs(r["pairs"], tol), tol))
                print(lines[-1], f"  ({r['rtf']:.0f}x real time)", file=sys.stderr)
        if not args.no_peers:
            try:
                from benchmarks.peers.score import peer_rows
                for peer, pset, res in peer_rows([set_name]):
                    lines.append(row(peer, "offline", pset, res, 0.05))
            except Exception as exc:  # peers are optional: say why they are missing
                lines.append(f"{set_name:<12}(peers skipped: {exc})")
    print(header())
    print("\n".join(lines))
    print("F1 in %: 'mean' = averaged per song (MIR-ST500 papers' convention), 'pooled' = over all notes.")
    if not args.no_frame_pitch:
        from benchmarks import frame_pitch

        print()
        frame_pitch.main(["--models", args.models.split(",")[0]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
