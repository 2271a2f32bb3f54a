"""Where a model's notes go wrong: every reference note sorted by what happened to it.

Each reference note (onset, offset, MIDI) is compared with the predicted note
whose onset is nearest:

- **match**: onset within 50 ms and pitch within 50 cents (what COnP counts,
  before mir_eval's one-to-one matching);
- **pitch**: onset within 50 ms, pitch off by more than 50 cents;
- **onset 50-100 ms**: nearest predicted onset 50-100 ms away;
- **missed**: no predicted onset within 100 ms. These are split further by
  what the prediction does at the reference onset: inside a predicted note
  of the same pitch (a re-sung repeated note merged into the one before),
  inside one of another pitch (a legato change not split), voiced but in no
  note, or unvoiced (voicing < 0.5 over the note).

"false" counts predicted notes with no reference onset within 100 ms.
This is how the re-sung notes of accompanied songs were found to be the
largest group of MIR-ST500 misses.

    python -m benchmarks.note_errors --sets mir_valid,mir_test,ssvd_dev --models singing_crnn
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import torch
from tqdm import tqdm

from benchmarks.common import sets_and_models
from svt_live.engine.checkpoint import load_model
from svt_live.engine.offline import transcribe_file
from svt_train.datasets import named_set

KINDS = ("match", "pitch", "onset 50-100 ms", "missed: same pitch", "missed: other pitch",
         "missed: voiced", "missed: unvoiced")


def classify(ref: np.ndarray, est: np.ndarray, voiced: np.ndarray, frame_seconds: float) -> Counter:
    """Reference notes ``[n, 3]`` against predicted notes ``[m, 3]`` (s, s, MIDI) and the
    voicing posterior ``[T]`` -> counts of :data:`KINDS` plus ``"false"`` and ``"predicted"``."""
    counts = Counter(predicted=len(est))
    for on, off, midi in ref:
        dt = np.abs(est[:, 0] - on) if len(est) else np.array([np.inf])
        j = int(dt.argmin())
        if dt[j] <= 0.05:
            counts["match" if abs(est[j, 2] - midi) <= 0.5 else "pitch"] += 1
        elif dt[j] <= 0.1:
            counts["onset 50-100 ms"] += 1
        else:
            around = est[(est[:, 0] < on) & (est[:, 1] > on + frame_seconds)]
            a = int(round(on / frame_seconds))
            b = max(int(round(off / frame_seconds)), a + 1)
            if len(around):
                counts["missed: same pitch" if abs(around[0, 2] - midi) < 0.5 else "missed: other pitch"] += 1
            else:
                counts["missed: voiced" if voiced[a:b].mean() >= 0.5 else "missed: unvoiced"] += 1
    for on in est[:, 0]:
        if len(ref) == 0 or np.abs(ref[:, 0] - on).min() > 0.1:
            counts["false"] += 1
    return counts


def main(argv=None) -> int:
    args = sets_and_models(__doc__, "mir_valid,mir_test,ssvd_dev", argv)
    torch.set_num_threads(2)
    print(f"{'set':<10} {'model':<28} {'notes':>6} " + " ".join(f"{k:>9}" for k in ("match", "pitch", "50-100ms"))
          + f" {'missed':>7} {'same p.':>8} {'other p.':>8} {'voiced':>7} {'unvoiced':>8} {'false':>7}")
    for set_name in args.sets.split(","):
        songs = named_set(set_name, args.data_root)
        for model in args.models.split(","):
            lm = load_model(model)
            total = Counter()
            for s in tqdm(songs, desc=f"{set_name} {model}", leave=False):
                notes, post = transcribe_file(s.audio, lm)
                total += classify(np.asarray(s.notes), notes, post["voiced"], lm.features.frame_seconds)
            n = sum(total[k] for k in KINDS)
            missed = sum(total[k] for k in KINDS if k.startswith("missed"))
            pct = [100 * total[k] / n for k in KINDS[:3]]
            print(f"{set_name:<10} {model:<28} {n:>6} " + " ".join(f"{p:>8.1f}%" for p in pct)
                  + f" {100 * missed / n:>6.1f}% " + " ".join(f"{total[k]:>8d}" for k in KINDS[3:])
                  + f" {100 * total['false'] / max(1, total['predicted']):>6.1f}%")
    print("\nmatch / pitch / 50-100ms / missed: % of reference notes; same p. .. unvoiced: missed notes by "
          "what the prediction does there; false: % of predicted notes with no reference onset within 100 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
