"""Note-level scoring with ``mir_eval.transcription``.

Three measures, as in the MIR-ST500 papers:

- **COn**: a predicted note matches a reference note when their onsets are
  within ``onset_tolerance`` (50 ms standard; the course's script used 100 ms).
- **COnP**: COn, and pitches within 50 cents.
- **COnPOff**: COnP, and offsets within 20 % of the reference note's
  length or 50 ms, whichever is larger.

Matching is one-to-one (mir_eval's bipartite matching). Precision =
matches / predicted notes, recall = matches / reference notes, F1 their
harmonic mean. Over many songs we report the mean of per-song scores (as
the MIR-ST500 papers do) and the pooled score (all matches over all notes).
"""
from __future__ import annotations

import warnings

import numpy as np
from mir_eval import transcription

from svt_live.theory.tuning import midi_to_hz

MEASURES = ("COnPOff", "COnP", "COn")


def match_counts(ref: np.ndarray, est: np.ndarray, onset_tolerance: float = 0.05) -> dict:
    """Matches per measure plus note counts: ``{"COn": k, ..., "n_ref": n, "n_est": m}``.

    ``ref``, ``est``: notes ``[n, 3]`` (onset s, offset s, MIDI).
    """
    ref = np.asarray(ref, dtype=np.float64).reshape(-1, 3)
    est = np.asarray(est, dtype=np.float64).reshape(-1, 3)
    out = {"n_ref": len(ref), "n_est": len(est)}
    if len(ref) == 0 or len(est) == 0:
        return out | {m: 0 for m in MEASURES}
    ri, rp, ei, ep = ref[:, :2], midi_to_hz(ref[:, 2]), est[:, :2], midi_to_hz(est[:, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["COn"] = len(transcription.match_note_onsets(ri, ei, onset_tolerance=onset_tolerance))
        out["COnP"] = len(transcription.match_notes(ri, rp, ei, ep, onset_tolerance=onset_tolerance,
                                                    pitch_tolerance=50.0, offset_ratio=None))
        out["COnPOff"] = len(transcription.match_notes(ri, rp, ei, ep, onset_tolerance=onset_tolerance,
                                                       pitch_tolerance=50.0, offset_ratio=0.2,
                                                       offset_min_tolerance=0.05))
    return out


def prf(matches: int, n_ref: int, n_est: int) -> tuple[float, float, float]:
    """Precision, recall, F1 from counts (0 where undefined)."""
    p = matches / n_est if n_est else 0.0
    r = matches / n_ref if n_ref else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def evaluate_notes(ref: np.ndarray, est: np.ndarray, onset_tolerance: float = 0.05) -> dict:
    """Precision, recall and F1 of each measure for one song.

    Parameters
    ----------
    ref, est : np.ndarray, shape (n, 3)
        Reference and estimated notes ``(onset_s, offset_s, midi)``.
    onset_tolerance : float
        Seconds between matched onsets (0.05 standard).

    Returns
    -------
    dict
        ``{"COnPOff": (P, R, F1), "COnP": ..., "COn": ...}``, each in 0..1.

    Examples
    --------
    >>> ref = np.array([[0.0, 0.5, 60.0], [0.5, 1.0, 62.0]])
    >>> est = np.array([[0.02, 0.5, 60.1], [0.5, 1.0, 64.0]])
    >>> evaluate_notes(ref, est)["COnP"], evaluate_notes(ref, est)["COn"]
    ((0.5, 0.5, 0.5), (1.0, 1.0, 1.0))
    """
    c = match_counts(ref, est, onset_tolerance)
    return {m: prf(c[m], c["n_ref"], c["n_est"]) for m in MEASURES}


def evaluate_songs(pairs: dict, onset_tolerance: float = 0.05) -> dict:
    """Evaluate many songs: ``pairs = {song_id: (ref, est)}``.

    Returns ``{"songs": {id: result}, "mean": the results averaged per song,
    "pooled": the result over all notes}``, each result ``{measure: (P, R, F1)}``
    as :func:`evaluate_notes` gives it.
    """
    counts = {k: match_counts(r, e, onset_tolerance) for k, (r, e) in pairs.items()}
    songs = {k: {m: prf(c[m], c["n_ref"], c["n_est"]) for m in MEASURES} for k, c in counts.items()}
    mean = {m: tuple(float(np.mean([s[m][i] for s in songs.values()])) if songs else 0.0 for i in range(3))
            for m in MEASURES}
    tot = {key: sum(c[key] for c in counts.values()) for key in (*MEASURES, "n_ref", "n_est")}
    pooled = {m: prf(tot[m], tot["n_ref"], tot["n_est"]) for m in MEASURES}
    return {"songs": songs, "mean": mean, "pooled": pooled}


def format_table(result: dict, title: str = "") -> str:
    """Plain-text table of per-song rows plus mean and pooled rows (P / R / F1 in %)."""
    head = f"{'song':<14}" + "".join(f"{m + ' P/R/F1':>24}" for m in MEASURES)
    lines = [title] if title else []
    lines += [head, "-" * len(head)]

    def row(name, s):
        return f"{name[:14]:<14}" + "".join(
            f"{100 * s[m][0]:>8.1f}{100 * s[m][1]:>8.1f}{100 * s[m][2]:>8.1f}" for m in MEASURES)

    lines += [row(k, s) for k, s in result["songs"].items()]
    if len(result["songs"]) > 1:
        lines += ["-" * len(head), row("mean/song", result["mean"]), row("pooled", result["pooled"])]
    return "\n".join(lines)
