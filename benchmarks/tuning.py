"""Global tuning: how often rounding against the singer's tuning changes a note, and what it does to COnP.

For every song of each set the model (default: the bundled default) gives
notes with fractional pitch; :func:`svt_live.theory.tuning.estimate_tuning_cents`
estimates the singer's tuning from them. Each note becomes a MIDI note
number two ways: rounded against A4 = 440 Hz (``round(p)``), and against
the estimated tuning (``round(p - cents / 100)``, what ``--tuning auto``
writes). The table gives, per set: songs, notes, the median and 90th
percentile of |tuning| over songs, the share of notes whose number changes,
and COnP F1 (mir_eval: onset 50 ms, pitch 50 cents; pooled over notes and
averaged per song) of the fractional notes and of either rounding, each
scored against the set's references as given (SSVD ``ssvd_dev``: its own
annotations; ``ssvd_dev_f0``: pitch as sung, fractional; MIR-ST500: whole
MIDI numbers).

    python -m benchmarks.tuning --sets ssvd_dev,ssvd_dev_f0,mir_test,mir_valid
"""
from __future__ import annotations

import sys

import numpy as np
import torch
from tqdm import tqdm

from benchmarks.common import sets_and_models
from svt_live.engine.checkpoint import load_model
from svt_live.engine.offline import transcribe_audio
from svt_live.evaluate import evaluate_songs
from svt_live.io.audio import load_audio
from svt_live.theory.tuning import estimate_tuning_cents, round_to_tuning
from svt_train.datasets import named_set

VARIANTS = ("fractional", "round 440", "round auto")


def variants(notes: np.ndarray, cents: float) -> dict[str, np.ndarray]:
    """The three versions of one song's notes ``[n, 3]`` that the table scores."""
    out = {"fractional": notes}
    for name, c in (("round 440", 0.0), ("round auto", cents)):
        v = notes.copy()
        v[:, 2] = round_to_tuning(notes[:, 2], c)
        out[name] = v
    return out


def measure(set_name: str, model: str, data_root: str) -> str:
    lm = load_model(model)
    songs = named_set(set_name, data_root)
    pairs = {v: {} for v in VARIANTS}
    tunings, changed, total = [], 0, 0
    for s in tqdm(songs, desc=f"{set_name} {model}", leave=False):
        notes, _ = transcribe_audio(load_audio(s.audio, lm.features.sample_rate), lm)
        cents = estimate_tuning_cents(notes)
        tunings.append(cents)
        vs = variants(notes, cents)
        changed += int((vs["round 440"][:, 2] != vs["round auto"][:, 2]).sum())
        total += len(notes)
        for v in VARIANTS:
            pairs[v][s.id] = (s.notes, vs[v])
    scores = {v: evaluate_songs(pairs[v]) for v in VARIANTS}
    cells = "".join(f"{100 * scores[v]['pooled']['COnP'][2]:>8.1f}{100 * scores[v]['mean']['COnP'][2]:>7.1f}"
                    for v in VARIANTS)
    a = np.abs(tunings)
    return (f"{set_name:<12}{len(songs):>6}{total:>8}{np.median(a):>8.1f}{np.percentile(a, 90):>7.1f}"
            f"{100 * changed / max(1, total):>9.1f}{cells}")


def main(argv=None) -> int:
    args = sets_and_models(__doc__, "ssvd_dev,ssvd_dev_f0,mir_test,mir_valid", argv)
    torch.set_num_threads(1)
    head = (f"{'set':<12}{'songs':>6}{'notes':>8}{'|c| med':>8}{'p90':>7}{'changed':>9}"
            + "".join(f"{v:>15}" for v in VARIANTS))
    sub = " " * 50 + "".join(f"{'pooled':>8}{'mean':>7}" for _ in VARIANTS)
    for model in args.models.split(","):
        rows = [measure(s, model, args.data_root) for s in args.sets.split(",") if s]
        print(f"model {model}; |c|: the songs' estimated tuning in cents; changed: % of notes whose MIDI "
              f"number differs between rounding at 440 Hz and at the estimate; then COnP F1 % of the notes as "
              f"the model gives them, rounded at 440 Hz and rounded at the estimate")
        print(head)
        print(sub)
        print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
