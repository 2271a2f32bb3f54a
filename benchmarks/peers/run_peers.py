"""Run the peer systems on named sets and cache their predictions as JSON.

Run with the peers venv (``bash benchmarks/peers/setup.sh`` makes it), from the
repository root::

    benchmarks/peers/.venv/bin/python -m benchmarks.peers.run_peers --sets ssvd_dev,mir_test,vocadito

Writes ``out/<peer>/<set>.json`` ({song_id: [[onset_s, offset_s, midi], ...]})
per peer and set, saving after every song so an interrupted run resumes.
A peer whose package cannot be imported is skipped with a message. The
cache is reused while the peer's settings are unchanged (``--force`` redoes it).
Scoring happens in the project venv: ``score.py``.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import logging
import sys
import time

import numpy as np

from benchmarks.peers import peer_store as store


def _versions(*packages: str) -> dict:
    out = {}
    for name in packages:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _missing(modules: tuple) -> str | None:
    """The first module of ``modules`` that cannot be imported, with the reason, or None."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # basic_pitch warns at import about each backend it lacks
    try:
        for mod in modules:
            try:
                __import__(mod)
            except Exception as exc:  # a broken install raises more than ImportError
                return f"{mod} ({exc.__class__.__name__}: {exc})"
        return None
    finally:
        root.setLevel(level)


class Cache:
    """Predictions of one peer on one set: resumable, invalidated when ``settings`` change."""

    def __init__(self, peer: str, set_name: str, settings: dict, force: bool):
        self.path = store.predictions_path(peer, set_name)
        self.meta_path = store.meta_path(peer, set_name)
        meta = store.read_json(self.meta_path, {})
        fresh = not force and meta.get("settings") == settings
        self.preds = store.read_json(self.path, {}) if fresh else {}
        self.meta = {"settings": settings, "seconds": meta.get("seconds", {}) if fresh else {}}

    def has(self, song_id: str) -> bool:
        return song_id in self.preds

    def put(self, song_id: str, notes, seconds: float) -> None:
        self.preds[song_id] = store.notes_to_rows(notes)
        self.meta["seconds"][song_id] = round(seconds, 2)
        store.write_json(self.path, self.preds)
        store.write_json(self.meta_path, self.meta)


def run_basic_pitch(set_name: str, songs: list, force: bool) -> None:
    """basic-pitch (all notes, amplitude kept in a raw file) and its monophonic reduction."""
    from benchmarks.peers import basic_pitch_peer as bp

    settings = {"model": "icassp_2022 nmp.onnx", "params": "basic_pitch.inference.predict defaults",
                "versions": _versions("basic-pitch", "onnxruntime", "librosa")}
    raw = Cache("basic_pitch_events", set_name, settings, force)
    mono_settings = settings | {"monophonic": {"min_duration": 0.05}}
    poly, mono = (Cache(k, set_name, s, True) for k, s in
                  (("basic_pitch", settings), ("basic_pitch_mono", mono_settings)))
    for i, song in enumerate(songs, 1):
        t0 = time.perf_counter()
        if not raw.has(song.id):
            raw.put(song.id, bp.transcribe(song.audio), time.perf_counter() - t0)
        events = np.asarray(raw.preds[song.id], dtype=float).reshape(-1, 4)
        poly.put(song.id, events[:, :3], raw.meta["seconds"][song.id])
        mono.put(song.id, bp.monophonic(events, 0.05), raw.meta["seconds"][song.id])
        print(f"  basic-pitch {set_name} {i}/{len(songs)} {song.id}: {len(events)} notes, "
              f"{len(mono.preds[song.id])} mono ({raw.meta['seconds'][song.id]:.1f} s)", flush=True)


def run_pyin(set_name: str, songs: list, force: bool) -> None:
    """pYIN + Tony-style notes on audio decoded by the project's own loader."""
    from benchmarks.peers import pyin_peer as py
    from svt_live.io.audio import load_audio

    params = py.PyinParams()
    settings = {"params": params.as_dict(), "versions": _versions("librosa")}
    cache = Cache("pyin_notes", set_name, settings, force)
    for i, song in enumerate(songs, 1):
        if cache.has(song.id):
            continue
        t0 = time.perf_counter()
        notes = py.transcribe(load_audio(song.audio, params.sample_rate), params)
        cache.put(song.id, notes, time.perf_counter() - t0)
        print(f"  pYIN {set_name} {i}/{len(songs)} {song.id}: {len(notes)} notes "
              f"({time.perf_counter() - t0:.1f} s)", flush=True)


RUNNERS = {  # name -> (runner, modules it needs)
    "basic-pitch": (run_basic_pitch, ("onnxruntime", "basic_pitch.inference")),
    "pyin": (run_pyin, ("librosa", "av")),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default=",".join(store.DEFAULT_SETS), help="comma-separated named sets")
    ap.add_argument("--peers", default=",".join(RUNNERS), help=f"comma-separated, from {', '.join(RUNNERS)}")
    ap.add_argument("--data-root", default=str(store.DATA_ROOT), help="where the named sets live")
    ap.add_argument("--force", action="store_true", help="recompute cached predictions")
    args = ap.parse_args(argv)
    from svt_train.datasets import named_set  # here, so frame_tracks can import this module without it

    failed = []
    for peer in [p for p in args.peers.split(",") if p]:
        if peer not in RUNNERS:
            ap.error(f"unknown peer {peer!r}")
        runner, modules = RUNNERS[peer]
        missing = _missing(modules)
        if missing:
            print(f"[peers] SKIPPING {peer}: cannot import {missing}; run benchmarks/peers/setup.sh", flush=True)
            failed.append(peer)
            continue
        for set_name in [s for s in args.sets.split(",") if s]:
            songs = named_set(set_name, args.data_root)
            print(f"[peers] {peer} on {set_name} ({len(songs)} songs)", flush=True)
            runner(set_name, songs, args.force)
    return 1 if failed and len(failed) == len(args.peers.split(",")) else 0


if __name__ == "__main__":
    sys.exit(main())

