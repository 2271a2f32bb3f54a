"""Frame pitch accuracy on MIR-1K's held-out test singers: svt-live's models beside pYIN and basic-pitch.

Every clip of the test singers (``svt_train.mir1k.SPLITS["test"]``, never
trained on) is heard three ways, mixed by ``svt_train.mir1k.load_stems`` at
16 kHz: the voice alone, and the voice over its own band at 0 dB and -5 dB
voice-to-band power ratio. Each system gives a frame track (time s, MIDI),
0 where it calls the frame unvoiced:

- svt-live models: ``pitch`` and ``voiced`` of
  :func:`svt_live.engine.inference.frame_posteriors` on the model's features (one
  frame per 20 ms, frame ``t`` centred at ``t * 0.02`` s), voiced where
  ``voiced >= decoding.voiced_threshold`` of the checkpoint. Offline: the
  whole clip at once, the same posteriors as live mode.
- peers, read from ``benchmarks/peers/out/`` (``benchmarks/peers/frame_tracks.py``
  computes them in the peers venv; their rows are left out, with a line, until
  then): pYIN's own track and voicing; basic-pitch's contour salience, its
  strongest bin per frame where it reaches 0.3; basic-pitch's notes, one at a
  time, as a track. See that script's docstring.

Scoring: the reference is the clip's ``.pv`` annotation as given (MIDI as
sung, frame ``i`` centred at ``0.02 i + 0.02`` s, 0 = unvoiced; no gap
filling). ``mir_eval.melody.to_cent_voicing`` resamples each estimate onto
the reference's time grid (linear in cents, voicing held), then per clip:
raw pitch accuracy (RPA, within 50 cents), raw chroma accuracy (RCA, the
same modulo octaves), voicing recall (VR) and voicing false alarm (VFA).
No system reports a pitch for frames it calls unvoiced, so a reference
voiced frame counts for RPA only if the system calls it voiced too (RPA <= VR
for every system alike). Figures are means over clips, in %; the singer
columns are each test singer's mean RPA.

    .venv/bin/python -m benchmarks.frame_pitch --models singing_crnn,singing_crnn_f0
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from benchmarks.peers import peer_store as store
from benchmarks.peers.frame_tracks import condition_clips
from svt_live.theory import tuning
from svt_train.mir1k import PV_FIRST_S, PV_FRAME_S, SPLITS, load_stems

MEASURES = ("RPA", "RCA", "VR", "VFA")


def reference_track(pv_path: str | Path) -> np.ndarray:
    """A ``.pv`` annotation as given -> ``[n, 2]`` (time s, MIDI; 0 = unvoiced), row ``i`` at
    ``PV_FIRST_S + PV_FRAME_S * i``."""
    midi = np.loadtxt(pv_path, dtype=np.float64, ndmin=1)
    midi = np.where(np.isfinite(midi) & (midi > 0), midi, 0.0)
    return np.stack([PV_FIRST_S + PV_FRAME_S * np.arange(len(midi)), midi], axis=1)


def midi_to_hz(midi: np.ndarray) -> np.ndarray:
    """MIDI ``[n]`` -> Hz ``[n]``; 0 (unvoiced) stays 0.

    >>> midi_to_hz(np.array([69.0, 0.0, 57.0])).tolist()
    [440.0, 0.0, 220.0]
    """
    midi = np.asarray(midi, dtype=np.float64)
    return np.where(midi > 0, tuning.midi_to_hz(midi), 0.0)


def score_track(ref: np.ndarray, est: np.ndarray) -> dict:
    """``{"RPA", "RCA", "VR", "VFA"}`` (0..1) of a frame track ``est [m, 2]`` against ``ref [n, 2]``,
    both (time s, MIDI; 0 = unvoiced), on the reference's time grid (mir_eval.melody, 50 cents).

    >>> ref = np.array([[0.02, 60.0], [0.04, 60.0], [0.06, 0.0]])
    >>> score_track(ref, np.array([[0.0, 72.0], [0.02, 72.0], [0.04, 72.0], [0.06, 0.0]]))
    {'RPA': 0.0, 'RCA': 1.0, 'VR': 1.0, 'VFA': 0.0}
    """
    from mir_eval import melody

    ref, est = np.asarray(ref, np.float64).reshape(-1, 2), np.asarray(est, np.float64).reshape(-1, 2)
    if len(ref) == 0 or len(est) == 0:
        raise ValueError(f"empty track: reference {len(ref)} frames, estimate {len(est)} frames")
    with warnings.catch_warnings():  # basic-pitch's frame times are uneven; silences are 0 Hz, as mir_eval asks
        warnings.filterwarnings("ignore", message="Non-uniform timescale", category=UserWarning)
        ref_v, ref_c, est_v, est_c = melody.to_cent_voicing(ref[:, 0], midi_to_hz(ref[:, 1]),
                                                           est[:, 0], midi_to_hz(est[:, 1]))
    vr, vfa = melody.voicing_measures(ref_v, est_v)
    return {"RPA": float(melody.raw_pitch_accuracy(ref_v, ref_c, est_v, est_c)),
            "RCA": float(melody.raw_chroma_accuracy(ref_v, ref_c, est_v, est_c)),
            "VR": float(vr), "VFA": float(vfa)}


def model_track(lm, audio: np.ndarray) -> np.ndarray:
    """``[T, 2]`` (time s, MIDI; 0 = unvoiced) of a loaded model on mono ``audio [N]`` at its sample rate."""
    from svt_live.engine.features import MelExtractor
    from svt_live.engine.inference import frame_posteriors

    post = frame_posteriors(lm, MelExtractor(lm.features)(audio))
    midi = np.where(post["voiced"] >= lm.decoding.voiced_threshold, post["pitch"], 0.0)
    return np.stack([np.arange(len(midi)) * lm.features.frame_seconds, midi], axis=1)


def summarize(scores: dict) -> dict:
    """``{clip_id: score_track result}`` -> means over clips of each measure, plus each test
    singer's mean RPA under the singer's name (clip ids start with ``<singer>_``)."""
    out = {m: float(np.mean([s[m] for s in scores.values()])) for m in MEASURES}
    for singer in SPLITS["test"]:
        mine = [s["RPA"] for clip, s in scores.items() if clip.split("_")[0] == singer]
        out[singer] = float(np.mean(mine)) if mine else float("nan")
    return out


def format_table(rows: list, title: str) -> str:
    """Markdown table of ``[(system, condition, summarize result), ...]`` in %."""
    cols = MEASURES + SPLITS["test"]
    lines = [title, "", "| condition | system | " + " | ".join(cols) + " |", "|---|---|" + "---:|" * len(cols)]
    for system, condition, res in rows:
        lines.append(f"| {condition} | {system} | " + " | ".join(f"{100 * res[c]:.1f}" for c in cols) + " |")
    return "\n".join(lines)


def table_rows(clips: dict, refs: dict, models: list, peers_out: str | Path) -> list:
    """``[(system, condition, summarize result), ...]``: each loaded model and each peer with a
    cached track for every clip, per condition. ``clips``: :func:`condition_clips`' answer;
    ``refs``: ``{clip_id: reference track}``. A peer lacking tracks is left out, with a line."""
    rows = []
    for condition, songs in clips.items():
        for lm in models:
            audio = (load_stems(s.audio, lm.features.sample_rate, s.stems) for s in songs)
            scores = {s.id: score_track(refs[s.id], model_track(lm, a)) for s, a in zip(songs, audio)}
            rows.append((lm.label, condition, summarize(scores)))
        for key, name in store.FRAME_PEERS.items():
            tracks = store.load_tracks(key, store.mir1k_set(condition), peers_out) or {}
            missing = [c for c in refs if c not in tracks]
            if missing:
                print(f"[frame_pitch] {name} on {condition}: no cached track for {len(missing)}/{len(refs)} clips "
                      f"(run benchmarks.peers.frame_tracks); left out", file=sys.stderr)
                continue
            rows.append((name, condition, summarize({c: score_track(refs[c], tracks[c]) for c in refs})))
    return rows


def main(argv=None) -> int:
    from svt_live.engine.checkpoint import DEFAULT_MODEL, load_model

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=DEFAULT_MODEL,
                    help="bundled names or checkpoint paths, comma-separated ('': the peers only)")
    ap.add_argument("--mir1k", default="~/svt-data/mir1k", help="the MIR-1K extract (Wavfile/, PitchLabel/)")
    ap.add_argument("--peers-out", default=str(store.OUT_DIR), help="where the peers' cached tracks are")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    try:
        clips = condition_clips(args.mir1k)
        models = [load_model(m) for m in args.models.split(",") if m]
        refs = {c.id: reference_track(Path(args.mir1k).expanduser() / "PitchLabel" / f"{c.id}.pv")
                for c in clips["voice"]}
        rows = table_rows(clips, refs, models, args.peers_out)
    except (FileNotFoundError, ValueError) as exc:  # unreadable clips and checkpoints: ValueErrors too
        print(f"frame_pitch: {exc}", file=sys.stderr)
        return 1
    singers = ", ".join(SPLITS["test"])
    print(format_table(rows, f"MIR-1K test singers ({singers}; {len(refs)} clips): frame pitch, "
                             f"mean per clip, % (singer columns: RPA)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
