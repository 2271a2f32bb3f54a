"""Score the cached peer predictions with the project's own scoring code.

Run with the project venv (it needs svt_live/svt_train and mir_eval), from the
repository root::

    .venv/bin/python -m benchmarks.peers.score --sets ssvd_dev,mir_test,vocadito

Importable: :func:`peer_rows` gives ``[(peer_name, set_name, result), ...]``
where ``result`` is :func:`svt_live.evaluate.evaluate_songs` output, for
tables that put the peers beside the project's model.
"""
from __future__ import annotations

import argparse
import sys

from benchmarks.peers import peer_store as store
from svt_live.evaluate import MEASURES, evaluate_songs
from svt_train.datasets import NAMED_SETS, named_set


def audio_set(set_name: str) -> str:
    """The named set whose audio ``set_name`` shares (``ssvd_dev_f0`` -> ``ssvd_dev``: the same
    recordings with other reference pitches), so peers' predictions are made once per recording."""
    spec = NAMED_SETS.get(set_name)
    if spec is None:
        return set_name
    where = (spec["kind"], spec["path"], spec.get("split"))
    return next(n for n, s in NAMED_SETS.items() if (s["kind"], s["path"], s.get("split")) == where)


def peer_rows(sets, data_root=store.DATA_ROOT, out_dir=store.OUT_DIR, onset_tolerance: float = 0.05,
              warn=print) -> list:
    """``[(peer_name, set_name, result), ...]`` for every peer with complete cached predictions.

    ``sets``: names (``ssvd_dev``, ``mir_test``, ``vocadito``...) or a
    comma-separated string. ``result``: ``{"songs", "mean", "pooled"}``
    from :func:`svt_live.evaluate.evaluate_songs` (scores as (P, R, F1) in 0..1).
    Peer/set pairs without predictions for every song are left out, with a
    line through ``warn``.
    """
    if isinstance(sets, str):
        sets = [s for s in sets.split(",") if s]
    rows = []
    for set_name in sets:
        songs = named_set(set_name, data_root)
        for key, name in store.PEERS.items():
            preds = store.load_predictions(key, audio_set(set_name), out_dir)
            missing = [s.id for s in songs if preds is None or s.id not in preds]
            if missing:
                warn(f"[score] {name} on {set_name}: no predictions for {len(missing)}/{len(songs)} songs "
                     f"(run run_peers.py); left out")
                continue
            pairs = {s.id: (s.notes, preds[s.id]) for s in songs}
            rows.append((name, set_name, evaluate_songs(pairs, onset_tolerance)))
    return rows


def format_rows(rows: list, title: str = "") -> str:
    """Table: one line per (peer, set) with mean-per-song and pooled F1 (%) per measure."""
    head = f"{'system':<20}{'set':<10}{'songs':>6}" + "".join(f"{m + ' mean/pooled':>22}" for m in MEASURES)
    lines = ([title] if title else []) + [head, "-" * len(head)]
    for name, set_name, res in rows:
        cells = "".join(f"{100 * res['mean'][m][2]:>14.1f}{100 * res['pooled'][m][2]:>8.1f}" for m in MEASURES)
        lines.append(f"{name:<20}{set_name:<10}{len(res['songs']):>6}{cells}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Score cached peer predictions (F1 in %).")
    ap.add_argument("--sets", default=",".join(store.DEFAULT_SETS), help="comma-separated named sets")
    ap.add_argument("--data-root", default=str(store.DATA_ROOT), help="where the named sets live")
    ap.add_argument("--onset-tolerance", type=float, default=0.05, help="seconds (standard 0.05)")
    args = ap.parse_args(argv)
    rows = peer_rows(args.sets, args.data_root, onset_tolerance=args.onset_tolerance)
    tol = round(args.onset_tolerance * 1000)
    print(format_rows(rows, f"Peers, note F1 % (mean per song / pooled), onset tolerance {tol} ms"))
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
