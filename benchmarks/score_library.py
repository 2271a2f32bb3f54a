"""What a score library costs svt-live: music21 against partitura, measured.

For each library that is installed: its import time (a fresh interpreter,
best of three), the disk size of the library and of the packages it pulls in
that svt-live does not already need, and the time to write a 3-minute
transcription (360 notes, seeded, quantized to sixteenths at 120 BPM, 4/4,
a key signature) as MusicXML with measures and ties. music21 writes through
:func:`svt_live.io.musicxml.write_musicxml`; partitura through its own
``Part`` / ``add_measures`` / ``tie_notes`` / ``save_musicxml``.

    python -m benchmarks.score_library          # partitura: pip install --target DIR partitura,
    PYTHONPATH=DIR python -m benchmarks.score_library   # then point PYTHONPATH at DIR
"""
from __future__ import annotations

import importlib.metadata as md
import importlib.util
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from svt_live.theory.grid import quantize_notes
from svt_live.theory.key import estimate_key

LIBRARIES = ("music21", "partitura")


def song(seconds: float = 180.0, seed: int = 0) -> np.ndarray:
    """A seeded 3-minute melody ``[n, 3]``: notes 0.1-0.5 s long, gaps up to 0.3 s, MIDI 55-75."""
    rng = np.random.default_rng(seed)
    on = np.cumsum(rng.uniform(0.2, 0.8, 400))
    on = on[on < seconds - 0.5]
    return np.stack([on, on + rng.uniform(0.1, 0.5, len(on)), rng.integers(55, 76, len(on)).astype(float)], 1)


def import_seconds(name: str) -> float:
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {name}"], check=True)
        best = min(best, time.perf_counter() - t0)
    base = min(_timed([sys.executable, "-c", "pass"]) for _ in range(3))
    return best - base


def _timed(cmd) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t0


def _closure(name: str, skip=()) -> set[str]:
    """A distribution and everything it requires (installed, no extras, not through ``skip``), lower-case names."""
    seen, todo = set(), [name]
    while todo:
        n = todo.pop().lower().replace("_", "-")
        if n in seen or n in skip:
            continue
        try:
            reqs = md.requires(n) or []
        except md.PackageNotFoundError:
            continue
        seen.add(n)
        todo += [re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0] for r in reqs if "extra ==" not in r]
    return seen


def _size_mb(dists: set[str]) -> float:
    total = 0
    for d in dists:
        for f in md.files(d) or []:
            p = Path(f.locate())
            total += p.stat().st_size if p.is_file() else 0
    return total / 1e6


def write_music21(notes, key, path: Path) -> None:
    from svt_live.io.musicxml import write_musicxml
    write_musicxml(path, notes, key=key)


def write_partitura(notes, key, path: Path) -> None:
    import partitura
    from partitura import score

    q = quantize_notes(notes, 120, 16)
    part = score.Part("P1", "Voice", quarter_duration=4)  # divisions: sixteenths
    part.add(score.TimeSignature(4, 4), 0)
    part.add(score.KeySignature(key.sharps, "minor" if key.mode == "minor" else "major"), 0)
    part.add(score.Tempo(120, unit="q"), 0)
    names = ("C", "C", "D", "D", "E", "F", "F", "G", "G", "A", "A", "B")
    alters = (0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0)
    for i, (on, off, p) in enumerate(q):
        m = int(p)
        part.add(score.Note(step=names[m % 12], alter=alters[m % 12] or None, octave=m // 12 - 1, id=f"n{i}"),
                 int(round(on / 0.125)), int(round(off / 0.125)))
    score.add_measures(part)
    score.tie_notes(part)
    partitura.save_musicxml(part, str(path))


def main(argv=None) -> int:
    notes = song()
    key = estimate_key(notes)
    own = _closure("svt-live", skip=LIBRARIES)  # what svt-live needs without a score library
    print(f"{len(notes)} notes over {notes[-1, 1]:.0f} s; sizes: the library and the packages it adds to svt-live's")
    print(f"{'library':<11}{'version':>9}{'import s':>10}{'size MB':>9}{'adds MB':>9}{'write s':>9}  added packages")
    for name in LIBRARIES:
        if importlib.util.find_spec(name) is None:
            print(f"{name:<11}  not installed")
            continue
        adds = _closure(name) - own
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            (write_music21 if name == "music21" else write_partitura)(notes, key, Path(tmp) / "x.musicxml")
            write_s = time.perf_counter() - t0
        print(f"{name:<11}{md.version(name):>9}{import_seconds(name):>10.2f}{_size_mb({name}):>9.0f}"
              f"{_size_mb(adds):>9.0f}{write_s:>9.2f}  {', '.join(sorted(adds - {name}))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
