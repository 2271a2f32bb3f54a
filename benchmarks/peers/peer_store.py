"""Where peer predictions live and how they are read and written.

Layout: ``out/<peer key>/<set name>.json`` holds one set's predictions in the
MIR-ST500 interchange format ``{song_id: [[onset_s, offset_s, midi], ...]}``;
``out/<peer key>/<set name>.meta.json`` beside it records the peer's
settings and package versions. Frame pitch tracks on MIR-1K's test singers
(``frame_tracks.py``) use the same layout, with set names
``mir1k_test@<condition>`` and rows ``[time_s, midi]`` (0 = unvoiced).
``out/`` is git-ignored: predictions on MIR-ST500/SSVD/MIR-1K audio must
never be committed.

Needs only numpy, so both the peers venv and the project venv import it.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
OUT_DIR = HERE / "out"
DATA_ROOT = REPO_ROOT.parent / "shared" / "data"
DEFAULT_SETS = ("ssvd_dev", "mir_test", "vocadito")

# peer key (folder name) -> name printed in tables, in table order
PEERS = {
    "basic_pitch": "basic-pitch",
    "basic_pitch_mono": "basic-pitch (mono)",
    "pyin_notes": "pYIN+notes",
}
# frame-track peer key -> name printed in the frame-pitch table, in table order
FRAME_PEERS = {
    "pyin_f0": "pYIN",
    "basic_pitch_contour": "basic-pitch (contour)",
    "basic_pitch_notes": "basic-pitch (notes)",
}
# MIR-1K listening condition -> voice-to-band ratio in dB (None: the voice alone), in table order
MIR1K_CONDITIONS = {"voice": None, "0dB": 0.0, "-5dB": -5.0}


def mir1k_stems(voice_db: float | None) -> tuple[float, float]:
    """``(voice gain, band gain)`` for ``svt_train.mir1k.load_stems`` (which first brings the band
    to the voice's power): the voice alone for None, else the voice ``voice_db`` dB over its band.

    >>> mir1k_stems(None), mir1k_stems(0.0), mir1k_stems(-20.0)
    ((1.0, 0.0), (1.0, 1.0), (1.0, 10.0))
    """
    return (1.0, 0.0) if voice_db is None else (1.0, 10 ** (-voice_db / 20))


def mir1k_set(condition: str) -> str:
    """Cache name of MIR-1K's test singers heard in ``condition``: ``mir1k_test@0dB``..."""
    return f"mir1k_test@{condition}"


def predictions_path(peer: str, set_name: str, out_dir: Path = OUT_DIR) -> Path:
    """``out_dir/<peer>/<set_name>.json``."""
    return Path(out_dir) / peer / f"{set_name}.json"


def meta_path(peer: str, set_name: str, out_dir: Path = OUT_DIR) -> Path:
    """``out_dir/<peer>/<set_name>.meta.json`` (settings, versions, timings)."""
    return Path(out_dir) / peer / f"{set_name}.meta.json"


def write_json(path: Path, obj) -> None:
    """Write ``obj`` as JSON atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def read_json(path: Path, default=None):
    """Parsed JSON at ``path``, or ``default`` when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return default
    return json.loads(path.read_text())


def notes_to_rows(notes: np.ndarray) -> list:
    """Notes ``[n, k]`` -> JSON-ready rows of floats (all ``k`` columns, rounded to 1 us / 1e-6)."""
    return [[round(float(v), 6) for v in row] for row in np.asarray(notes, dtype=np.float64)]


def rows_to_notes(rows: list) -> np.ndarray:
    """JSON rows ``[[on, off, midi, ...], ...]`` -> float array ``[n, 3]`` sorted by onset."""
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, len(rows[0]) if rows else 3)[:, :3]
    return arr[np.argsort(arr[:, 0], kind="stable")]


def load_predictions(peer: str, set_name: str, out_dir: Path = OUT_DIR) -> dict | None:
    """``{song_id: notes [n, 3]}`` for one peer and set, or None when not cached."""
    data = read_json(predictions_path(peer, set_name, out_dir))
    if data is None:
        return None
    return {k: rows_to_notes(v) for k, v in data.items()}


def load_tracks(peer: str, set_name: str, out_dir: Path = OUT_DIR) -> dict | None:
    """``{clip_id: track [n, 2]}`` (time s, MIDI; 0 = unvoiced) for one frame-track peer and set,
    or None when not cached."""
    data = read_json(predictions_path(peer, set_name, out_dir))
    if data is None:
        return None
    return {k: np.asarray(v, dtype=np.float64).reshape(-1, 2) for k, v in data.items()}
