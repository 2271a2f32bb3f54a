"""Batches of audio files: folders as inputs, an output folder mirroring them, parallel workers.

Conventions:

- An input is a file or a folder. A folder stands for every file under it
  (recursively, sorted) whose extension is in :data:`AUDIO_EXTENSIONS`;
  other files there are ignored, and a folder with none is an error.
- An input found in a folder has a relative path ``rel`` under it;
  ``--output-dir DIR`` writes each kind of its outputs to ``DIR / rel``
  with the kind's extension (``songs/a/b.mp3`` given as ``songs`` ->
  ``DIR/a/b.mid``), so the layout of the inputs is kept. A file given
  directly is written as ``DIR / <song key>`` (its stem, or a distinct key
  where stems repeat: :func:`svt_live.outputs.song_keys`).
- Parallel work (:func:`map_files`) runs one process per job, each with one
  torch thread; results come back in input order, identical to a serial run.
  Workers are spawned, not forked: a fork of a process whose torch (OpenMP)
  thread pool has run can hang in the child.
"""
from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

AUDIO_EXTENSIONS = frozenset({".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".aif",
                              ".aiff", ".wma", ".webm", ".mp4", ".mka"})


@dataclass(frozen=True)
class Input:
    """One audio file to transcribe: its ``path`` and, when found in a folder, ``rel``, its path under it."""

    path: Path
    rel: Path | None = None


def expand_inputs(paths: list[str | Path]) -> list[Input]:
    """Files and folders -> the audio files to transcribe, in order.

    Raises
    ------
    ValueError
        A folder that holds no audio file.

    Examples
    --------
    >>> expand_inputs(["song.mp3"])
    [Input(path=PosixPath('song.mp3'), rel=None)]
    """
    out = []
    for p in map(Path, paths):
        if str(p) != "-" and p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in AUDIO_EXTENSIONS and f.is_file())
            if not found:
                raise ValueError(f"{p}: no audio files in this folder ({', '.join(sorted(AUDIO_EXTENSIONS))})")
            out += [Input(f, f.relative_to(p)) for f in found]
        else:
            out.append(Input(p))
    return out


def output_path(output_dir: str | Path, item: Input, key: str, ext: str) -> Path:
    """Where ``--output-dir`` puts the ``ext`` output of ``item`` (``key``: its song key).

    >>> output_path("out", Input(Path("songs/live/a.mp3"), Path("live/a.mp3")), "a", ".mid").as_posix()
    'out/live/a.mid'
    >>> output_path("out", Input(Path("1/Mixture.mp3")), "1", ".mid").as_posix()
    'out/1.mid'
    """
    return Path(output_dir) / (item.rel.with_suffix(ext) if item.rel is not None else f"{key}{ext}")


def write_csv_table(path: str | Path, songs: dict) -> None:
    """Several inputs' notes as one CSV: header ``file,onset,offset,midi``, one row per note.

    ``songs``: ``{song id: notes [n, 3]}``; times rounded to 0.1 ms, pitch to 0.01.
    """
    import csv

    from .annotations import notes_to_rows
    from .outputs import atomic_write

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["file", "onset", "offset", "midi"])
            for key, notes in songs.items():
                w.writerows([key, *row] for row in notes_to_rows(notes))
    atomic_write(path, write)


def check_jobs(jobs: int) -> int:
    """A usable ``--jobs`` (1 .. 64) or :class:`ValueError`."""
    if not 1 <= jobs <= 64:
        raise ValueError(f"--jobs must be between 1 and 64, got {jobs}")
    return jobs


POLL_SECONDS = 0.25
_STATE: tuple = ()  # in a worker: (work, state) as map_files handed them over


def _worker_init(work: Callable, state) -> None:
    import torch

    global _STATE
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent ends the batch on Ctrl-C
    torch.set_num_threads(1)
    _STATE = (work, state)


def _call(item):
    work, state = _STATE
    return work(state, item)


def map_files(work: Callable, state, items: list, jobs: int, check: Callable | None = None) -> Iterator:
    """``work(state, item)`` for every item, results in order; ``jobs`` > 1 runs them in that many processes.

    ``work`` must be a module-level function; ``state`` (e.g. the loaded
    model) is pickled to each worker once. ``check`` is called every
    ``POLL_SECONDS`` while workers run (a stop request raising
    ``KeyboardInterrupt`` there, or anywhere in the loop, stops the workers).
    """
    if jobs <= 1 or len(items) <= 1:
        yield from (work(state, item) for item in items)
        return
    ctx = multiprocessing.get_context("spawn")
    pool = ctx.Pool(min(jobs, len(items)), initializer=_worker_init, initargs=(work, state))
    try:
        results = pool.imap(_call, items)
        for _ in items:
            while True:
                try:
                    result = results.next(POLL_SECONDS)
                    break
                except multiprocessing.TimeoutError:
                    if check is not None:
                        check()
            yield result
        pool.close()
    finally:
        pool.terminate()
        pool.join()
