"""Choose decoding thresholds on validation songs (stored in the checkpoint).

A grid search over onset and offset thresholds maximising the per-song mean
F1 of one measure (COnP by default), decoding the same posteriors each time;
:func:`tune_decoding` then sweeps the voicing threshold, the minimum note
length and the silence gap one at a time around the best grid point.
"""
from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np

from svt_live.engine.decode import DecodeParams, decode_notes
from svt_live.evaluate import evaluate_songs

COARSE = {"onset_threshold": (0.05, 0.1, 0.2, 0.35, 0.5), "offset_threshold": (0.3, 0.5, 0.7)}
FINE = {"onset_threshold": (0.02, 0.05, 0.075) + tuple(np.round(np.arange(0.1, 0.91, 0.05), 2)),
        "offset_threshold": (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)}


def set_mean_f1(pairs: dict, measure: str = "COnP", onset_tolerance: float = 0.05,
                groups: list | None = None) -> float:
    """Mean F1 of ``measure`` over ``pairs = {id: (ref, est)}``: per song, or with ``groups``
    (lists of ids, e.g. one per validation set) the mean over groups of each group's per-song mean,
    so that every set weighs the same however many songs it has."""
    if not groups:
        return evaluate_songs(pairs, onset_tolerance)["mean"][measure][2]
    return float(np.mean([evaluate_songs({k: pairs[k] for k in g}, onset_tolerance)["mean"][measure][2]
                          for g in groups if g]))


def tune_thresholds(songs: dict, base: DecodeParams, frame_seconds: float = 0.02, grid: dict = COARSE,
                    measure: str = "COnP", onset_tolerance: float = 0.05,
                    fixed: dict | None = None, groups: list | None = None) -> tuple[DecodeParams, float]:
    """``songs = {id: (reference notes, posteriors)}`` -> (best params, its mean F1).

    An offset threshold above 1 means "never end a note on the offset head".
    ``fixed``: settings held at the given values whatever the grid (e.g.
    ``{"min_note_frames": 2}``: every frame of minimum length delays each
    live NoteOn by 20 ms). ``groups``: as in :func:`set_mean_f1`.
    """
    fixed = fixed or {}
    base = replace(base, **fixed)
    best, best_f = base, -1.0
    keys = [k for k in grid if k not in fixed]
    for values in itertools.product(*(grid[k] for k in keys)):
        params = replace(base, **{k: type(getattr(base, k))(v) for k, v in zip(keys, values)})
        pairs = {sid: (ref, decode_notes(post, params, frame_seconds)) for sid, (ref, post) in songs.items()}
        f = set_mean_f1(pairs, measure, onset_tolerance, groups)
        if f > best_f:
            best, best_f = params, f
    return best, best_f


SECONDARY = {"voiced_threshold": (0.3, 0.4, 0.5, 0.6, 0.7), "min_note_frames": (1, 2, 3, 4),
             "silence_frames": (1, 2, 3, 4)}


def tune_decoding(songs: dict, base: DecodeParams, frame_seconds: float = 0.02, measure: str = "COnP",
                  onset_tolerance: float = 0.05, fixed: dict | None = None,
                  groups: list | None = None) -> tuple[DecodeParams, float]:
    """Fine onset x offset grid, then one sweep over each secondary setting in turn; ``fixed`` and
    ``groups`` as in :func:`tune_thresholds`."""
    fixed = fixed or {}
    best, f = tune_thresholds(songs, base, frame_seconds, FINE, measure, onset_tolerance, fixed, groups)
    for key, values in SECONDARY.items():
        if key in fixed:
            continue
        grid = {key: values}
        cand, cf = tune_thresholds(songs, best, frame_seconds, grid, measure, onset_tolerance, groups=groups)
        if cf > f:
            best, f = cand, cf
    return best, f
