"""Batches of audio files: folders as inputs, an output folder mirroring them, parallel workers.

Conventions:

- An input is a file or a folder. A folder stands for every file under it
  (recursively, sorted) whose extension is in :data:`svt_live.io.audio.AUDIO_EXTENSIONS`;
  other files there are ignored, and a folder with none is an error.
- A subfolder that cannot be read is left out with a warning naming it.
- An input found in a folder has a relative path ``rel`` under it;
  ``--output-dir DIR`` writes each kind of its outputs to ``DIR / rel``
  with the kind's extension (``songs/a/b.mp3`` given as ``songs`` ->
  ``DIR/a/b.mid``), so the layout of the inputs is kept; where two would
  share a name (``a.wav`` and ``a.flac``) each keeps its own extension
  (``DIR/a.wav.mid``, ``DIR/a.flac.mid``). A file given directly is written
  as ``DIR / <song key>`` (its stem, or a distinct key where stems repeat:
  :func:`svt_live.io.outputs.song_keys`).
- Parallel work (:func:`map_files`) runs one process per job, at most one per
  core (:func:`cap_jobs`), each with its share of the cores as torch threads;
  results come back in input order, identical to a serial run. Workers are
  spawned, not forked: a fork of a process whose torch (OpenMP) thread pool
  has run can hang in the child. However the batch ends (done, an error,
  Ctrl-C), every worker is ended and reaped, and a worker stopped mid-write
  removes its temporary file.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


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
    from svt_live.io.audio import AUDIO_EXTENSIONS  # (imports PyAV: only where a folder is searched)

    out = []
    for p in map(Path, paths):
        if str(p) != "-" and p.is_dir():
            found = sorted(_audio_files(p))
            if not found:
                raise ValueError(f"{p}: no audio files in this folder ({', '.join(sorted(AUDIO_EXTENSIONS))})")
            out += [Input(f, f.relative_to(p)) for f in found]
        else:
            out.append(Input(p))
    return out


def _audio_files(folder: Path) -> Iterator[Path]:
    """Every audio file under ``folder`` (by extension), following no symbolic link to a folder;
    a subfolder that cannot be listed is a warning naming it."""
    from svt_live.io.audio import AUDIO_EXTENSIONS

    def unreadable(exc: OSError) -> None:
        warnings.warn(f"{exc.filename}: cannot read this folder ({exc.strerror}); its audio files are left out",
                      stacklevel=2)

    for top, _, names in os.walk(folder, onerror=unreadable):
        for name in names:
            f = Path(top) / name
            if f.suffix.lower() in AUDIO_EXTENSIONS and f.is_file():
                yield f


def output_stems(inputs: list[Input], keys: list[str]) -> list[Path]:
    """Where under ``--output-dir`` each input's outputs go, less the output's extension: a file found in
    a folder at ``rel`` less its extension, keeping the extension where two would share a name; a file
    given directly, its song key (``keys``, from :func:`svt_live.io.outputs.song_keys`).

    >>> found = [Input(Path("s/a.wav"), Path("a.wav")), Input(Path("s/a.flac"), Path("a.flac"))]
    >>> [p.as_posix() for p in output_stems(found + [Input(Path("b.mp3"))], ["a.wav", "a.flac", "b"])]
    ['a.wav', 'a.flac', 'b']
    """
    stems = [i.rel.with_suffix("") if i.rel is not None else Path(k) for i, k in zip(inputs, keys)]
    count = Counter(s.as_posix().casefold() for s in stems)
    return [i.rel if i.rel is not None and count[s.as_posix().casefold()] > 1 else s for i, s in zip(inputs, stems)]


def output_path(output_dir: str | Path, stem: Path, ext: str) -> Path:
    """Where ``--output-dir`` puts the ``ext`` output of the input whose :func:`output_stems` entry is ``stem``.

    >>> output_path("out", Path("live/a"), ".mid").as_posix(), output_path("out", Path("a.wav"), ".mid").as_posix()
    ('out/live/a.mid', 'out/a.wav.mid')
    """
    return Path(output_dir) / stem.parent / f"{stem.name}{ext}"


def check_jobs(jobs: int) -> int:
    """A usable ``--jobs`` (1 .. 64) or :class:`ValueError`."""
    if not 1 <= jobs <= 64:
        raise ValueError(f"--jobs must be between 1 and 64, got {jobs}")
    return jobs


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def cap_jobs(jobs: int, n_files: int) -> int:
    """``--jobs`` as run: at most one worker per core (more only share the cores and each loads its
    own model), with a warning saying so when the machine has fewer cores than asked for."""
    n = cores()
    if jobs > n and n_files > 1:
        warnings.warn(f"--jobs {jobs}: this machine has {n} core{'s' * (n > 1)}; running {n} at once", stacklevel=2)
        return n
    return jobs


POLL_SECONDS = 0.25
_STATE: tuple = ()  # in a worker: (work, state) as map_files handed them over


def _stop_worker(signum, frame) -> None:
    """SIGTERM (the parent ending the pool): unwind, so that a file being written removes its temporary.
    A worker already shutting down just ends (an exception raised there is only printed)."""
    if sys.is_finalizing():
        os._exit(128 + signum)
    sys.exit(128 + signum)


def _worker_init(work: Callable, state, threads: int) -> None:
    import torch

    global _STATE
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent ends the batch on Ctrl-C
    signal.signal(signal.SIGTERM, _stop_worker)
    torch.set_num_threads(threads)
    _STATE = (work, state)


def in_worker() -> bool:
    """Whether this process is one of :func:`map_files`' workers (each already has a core of its own:
    file mode's second, overlapping thread would only compete with the other workers for it)."""
    return bool(_STATE)


def _call(item):
    work, state = _STATE
    return work(state, item)


def map_files(work: Callable, state, items: list, jobs: int, check: Callable | None = None) -> Iterator:
    """``work(state, item)`` for every item, results in order; ``jobs`` > 1 runs them in that many processes.

    ``work`` must be a module-level function; ``state`` (e.g. the loaded
    model) is pickled to each worker once; each worker runs torch on its
    share of the cores. ``check`` is called every ``POLL_SECONDS`` while
    workers run (a stop request raising ``KeyboardInterrupt`` there, or
    anywhere in the loop, stops the workers). The workers are ended and
    reaped on every way out, the generator's ``close()`` included.
    """
    if jobs <= 1 or len(items) <= 1:
        yield from (work(state, item) for item in items)
        return
    ctx = multiprocessing.get_context("spawn")
    n = min(jobs, len(items))
    pool = ctx.Pool(n, initializer=_worker_init, initargs=(work, state, max(1, cores() // n)))
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
        pool.join()  # the workers end on their own: no SIGTERM in the middle of their exit
    finally:
        pool.terminate()
        pool.join()
