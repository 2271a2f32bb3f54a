"""Frame pitch tracks of the peers on MIR-1K's held-out test singers, cached for
``benchmarks/frame_pitch.py``.

Run with the peers venv (``bash benchmarks/peers/setup.sh`` makes it), from the
repository root::

    nice -n 10 benchmarks/peers/.venv/bin/python -m benchmarks.peers.frame_tracks [--mir1k ~/svt-data/mir1k]

Every clip of the test singers (``svt_train.mir1k.SPLITS["test"]``) is heard
in each condition of ``peer_store.MIR1K_CONDITIONS`` (the voice alone, the
voice over its own band at 0 dB and -5 dB voice-to-band), decoded and mixed
by ``svt_train.mir1k.load_stems`` at 16 kHz exactly as the model's rows are.
Writes ``out/<peer>/mir1k_test@<condition>.json`` (``{clip_id: [[time_s, midi],
...]}``, MIDI 0 where the peer calls the frame unvoiced), saving after every
clip so an interrupted run resumes; ``--force`` recomputes. Tracks:

- **pYIN** (``pyin_f0``): :func:`pyin_peer.f0_midi` (librosa's pYIN, 65-1000
  Hz, 10 ms hop), its own voicing decision.
- **basic-pitch (contour)** (``basic_pitch_contour``): per basic-pitch frame
  (86 per second, its own frame times), the strongest bin of its contour
  salience output (3 bins per semitone from MIDI 21); voiced where that
  salience reaches 0.3, basic-pitch's default frame threshold.
- **basic-pitch (notes)** (``basic_pitch_notes``): its notes with default
  settings, one at a time (:func:`basic_pitch_peer.monophonic`), sampled on
  the same frame times: the sounding note's integer MIDI, 0 between notes.

Both basic-pitch tracks come from one run of its model per clip and condition.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from benchmarks.peers import peer_store as store
from benchmarks.peers.run_peers import RUNNERS, Cache, _missing, _versions
from svt_train.mir1k import SPLITS, load_stems

SAMPLE_RATE = 16000  # Hz: what every system hears
CONTOUR_THRESHOLD = 0.3  # basic-pitch's default frame threshold, applied to its contour salience


def pyin_track(audio: np.ndarray) -> np.ndarray:
    """``[T, 2]`` (time s, MIDI; 0 = unvoiced) of pYIN on mono ``audio [N]`` at 16 kHz."""
    from benchmarks.peers import pyin_peer as py

    params = py.PyinParams(sample_rate=SAMPLE_RATE)
    midi = py.f0_midi(audio, params)
    times = np.arange(len(midi)) * params.hop / params.sample_rate
    return np.stack([times, np.nan_to_num(midi, nan=0.0)], axis=1)


def contour_track(contour: np.ndarray, times: np.ndarray, lowest_midi: float, bins_per_semitone: int,
                  threshold: float = CONTOUR_THRESHOLD) -> np.ndarray:
    """``[T, 2]`` (time s, MIDI; 0 = unvoiced) from a contour salience ``[T, bins]`` (0..1; bin ``k``
    at MIDI ``lowest_midi + k / bins_per_semitone``): each frame's strongest bin where it reaches
    ``threshold``. ``times [T]``: the frames' times in seconds.

    >>> contour_track(np.array([[0.1, 0.9, 0.2], [0.1, 0.2, 0.1]]), np.array([0.0, 0.01]), 21, 3).round(2).tolist()
    [[0.0, 21.33], [0.01, 0.0]]
    """
    best = np.argmax(contour, axis=1)
    strength = contour[np.arange(len(best)), best]
    midi = np.where(strength >= threshold, lowest_midi + best / bins_per_semitone, 0.0)
    return np.stack([times, midi], axis=1)


def notes_track(notes: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``[T, 2]`` (time s, MIDI; 0 = unvoiced): monophonic ``notes [n, 3]`` (onset s, offset s, MIDI)
    sampled at ``times [T]`` (a note holds ``[onset, offset)``).

    >>> notes_track(np.array([[0.1, 0.3, 60.0]]), np.array([0.0, 0.1, 0.2, 0.3]))[:, 1].tolist()
    [0.0, 60.0, 60.0, 0.0]
    """
    midi = np.zeros(len(times))
    for on, off, pitch in notes:
        midi[(times >= on) & (times < off)] = pitch
    return np.stack([times, midi], axis=1)


def basic_pitch_tracks(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(contour track, notes track), each ``[T, 2]``, of basic-pitch on mono ``audio [N]`` at 16 kHz.

    basic-pitch reads files: the audio goes through a temporary 32-bit float WAV, which it
    resamples to its 22.05 kHz itself.
    """
    import soundfile
    from basic_pitch import constants
    from basic_pitch.inference import predict
    from basic_pitch.note_creation import model_frames_to_time

    from benchmarks.peers import basic_pitch_peer as bp

    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp, contextlib.redirect_stdout(io.StringIO()):
        soundfile.write(tmp.name, audio, SAMPLE_RATE, subtype="FLOAT")  # it prints a line per file
        output, _, events = predict(tmp.name, bp._model())
    contour = output["contour"]
    times = model_frames_to_time(len(contour))
    lowest = 69 + 12 * np.log2(constants.ANNOTATIONS_BASE_FREQUENCY / 440)
    notes = np.asarray([(on, off, pitch, amp) for on, off, pitch, amp, _ in events], np.float64).reshape(-1, 4)
    return (contour_track(contour, times, lowest, constants.CONTOURS_BINS_PER_SEMITONE),
            notes_track(bp.monophonic(notes), times))


def run_pyin(condition: str, clips: list, force: bool) -> None:
    """pYIN's track of every clip in ``condition``, cached clip by clip."""
    from benchmarks.peers import pyin_peer as py

    settings = {"params": py.PyinParams(sample_rate=SAMPLE_RATE).as_dict(), "versions": _versions("librosa")}
    cache = Cache("pyin_f0", store.mir1k_set(condition), settings, force)
    for i, clip in enumerate(clips, 1):
        if not cache.has(clip.id):
            t0 = time.perf_counter()
            cache.put(clip.id, pyin_track(load_stems(clip.audio, SAMPLE_RATE, clip.stems)), time.perf_counter() - t0)
            print(f"  pYIN {condition} {i}/{len(clips)} {clip.id} ({time.perf_counter() - t0:.1f} s)", flush=True)


def run_basic_pitch(condition: str, clips: list, force: bool) -> None:
    """basic-pitch's contour and notes tracks of every clip in ``condition``, cached clip by clip."""
    settings = {"model": "icassp_2022 nmp.onnx", "params": "basic_pitch.inference.predict defaults",
                "contour_threshold": CONTOUR_THRESHOLD, "monophonic": {"min_duration": 0.05},
                "versions": _versions("basic-pitch", "onnxruntime", "librosa")}
    contour, notes = (Cache(k, store.mir1k_set(condition), settings, force)
                      for k in ("basic_pitch_contour", "basic_pitch_notes"))
    for i, clip in enumerate(clips, 1):
        if not (contour.has(clip.id) and notes.has(clip.id)):
            t0 = time.perf_counter()
            tracks = basic_pitch_tracks(load_stems(clip.audio, SAMPLE_RATE, clip.stems))
            for cache, track in zip((contour, notes), tracks):
                cache.put(clip.id, track, time.perf_counter() - t0)
            print(f"  basic-pitch {condition} {i}/{len(clips)} {clip.id} ({time.perf_counter() - t0:.1f} s)",
                  flush=True)


FRAME_RUNNERS = {"pyin": run_pyin, "basic-pitch": run_basic_pitch}


class Clip(NamedTuple):
    """One MIR-1K clip as one condition hears it: ``load_stems(audio, sr, stems)`` gives its mix."""

    id: str  # <singer>_<song>_<clip>, the same in every condition
    audio: Path
    stems: tuple  # (voice gain, band gain), as svt_train.mir1k.load_stems takes them


def condition_clips(root: str | Path) -> dict:
    """``{condition: [Clip, ...]}``: the test singers' clips (those with a ``.pv``) as each condition
    of ``peer_store.MIR1K_CONDITIONS`` hears them. Listed here rather than by ``svt_train.mir1k.mir1k``,
    whose songs need torch, which the peers venv lacks."""
    root = Path(root).expanduser()
    wavs = [w for w in sorted((root / "Wavfile").glob("*.wav"))
            if w.stem.split("_")[0] in SPLITS["test"] and (root / "PitchLabel" / f"{w.stem}.pv").exists()]
    if not wavs:
        raise FileNotFoundError(f"{root}: no MIR-1K clips of the test singers (Wavfile/, PitchLabel/); "
                                f"see ../shared/data/mir1k/README.md")
    return {condition: [Clip(w.stem, w, store.mir1k_stems(db)) for w in wavs]
            for condition, db in store.MIR1K_CONDITIONS.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mir1k", default="~/svt-data/mir1k", help="the MIR-1K extract (Wavfile/, PitchLabel/)")
    ap.add_argument("--conditions", default=",".join(store.MIR1K_CONDITIONS),
                    help=f"comma-separated, from {', '.join(store.MIR1K_CONDITIONS)} (--conditions=-5dB: with '=')")
    ap.add_argument("--peers", default=",".join(FRAME_RUNNERS),
                    help=f"comma-separated, from {', '.join(FRAME_RUNNERS)}")
    ap.add_argument("--force", action="store_true", help="recompute cached tracks")
    args = ap.parse_args(argv)
    conditions = [c for c in args.conditions.split(",") if c]
    peers = [p for p in args.peers.split(",") if p]
    bad = [c for c in conditions if c not in store.MIR1K_CONDITIONS] + [p for p in peers if p not in FRAME_RUNNERS]
    if bad:
        ap.error(f"unknown condition or peer: {', '.join(bad)}")
    try:
        clips = condition_clips(args.mir1k)
    except FileNotFoundError as exc:
        print(f"[frames] {exc}", file=sys.stderr)
        return 1
    failed = 0
    for peer in peers:
        missing = _missing(RUNNERS[peer][1] + (("soundfile",) if peer == "basic-pitch" else ()))
        if missing:
            print(f"[frames] SKIPPING {peer}: cannot import {missing}; run benchmarks/peers/setup.sh", flush=True)
            failed += 1
            continue
        for condition in conditions:
            print(f"[frames] {peer} on {store.mir1k_set(condition)} ({len(clips[condition])} clips)", flush=True)
            FRAME_RUNNERS[peer](condition, clips[condition], args.force)
    return 1 if failed == len(peers) else 0


if __name__ == "__main__":
    sys.exit(main())
