"""Teachers' posteriors cached per training song: distillation from a network with other features.

With ``teacher_source = "cached"`` (:class:`~svt_train.config.TrainConfig`) each teacher is run
once over every training song and tape-speed copy, on that song's clean audio, with the teacher's
own features and the runtime's whole-file inference
(:func:`~svt_live.engine.inference.frame_posteriors`: a bidirectional network runs over its
overlapping windows exactly as in file mode). Its soft targets are stored next to the feature cache
as ``<key>.soft.npy``, float16 ``[T, 3 + n_bins]``: onset probability, offset probability, then the
pitch distribution ``[1 + n_bins]`` (silence first). The key is a SHA-1 of the teacher's content
(:func:`teacher_digest`: its weights, network settings and features, not its decoding settings or
notes, which a checkpoint's final tuning rewrites) and the song's cache key under the teacher's
features (:func:`~svt_train.cache.cache_key`: audio content, notes, speed, stem mix), so another
teacher, a retrained one or a changed song misses the cache, and the student's own feature settings
do not enter it.

Teacher and student frames lie on the same grid: both hop the same number of samples at the same
rate, frame ``t`` centred on ``t * hop`` (20 ms), ``N // hop + 1`` frames for ``N`` samples, so
the counts agree; :func:`align_frames` checks that and pads or crops by at most one frame.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from svt_live.engine.checkpoint import LoadedModel
from svt_live.engine.features import MelExtractor
from svt_live.engine.inference import frame_posteriors
from svt_live.io.outputs import atomic_write, printable

from .cache import CachedSong, cache_key, song_audio
from .song import Song

SOFT_VERSION = 1  # bump when what a .soft.npy holds changes: it is part of the key
MAX_FRAME_DIFFERENCE = 1  # frames a teacher's count may differ from the labels' (padded or cropped)


# the network settings that change posteriors without changing any weight's shape
NETWORK_SETTINGS = ("causal", "lookahead", "context", "window", "window_context", "lowest_midi", "bins_per_semitone")


def teacher_digest(lm: LoadedModel) -> str:
    """SHA-1 of what a teacher's posteriors depend on: its network's name and settings
    (:data:`NETWORK_SETTINGS`), its features, and every weight and buffer (name, type, shape, values)."""
    h = hashlib.sha1()
    settings = {k: getattr(lm.model, k, None) for k in NETWORK_SETTINGS}
    h.update(json.dumps([lm.name, settings, lm.features.to_dict()], sort_keys=True).encode())
    for name, tensor in sorted(lm.model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name} {t.dtype} {tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def soft_key(song: Song, lm: LoadedModel, digest: str) -> str:
    """Cache key of ``song``'s soft targets from the teacher ``lm`` (``digest``: :func:`teacher_digest`)."""
    return hashlib.sha1(f"soft v{SOFT_VERSION} {digest} {cache_key(song, lm.features)}".encode()).hexdigest()


def soft_from_posteriors(post: dict) -> np.ndarray:
    """:func:`~svt_live.engine.inference.frame_posteriors` with ``distributions`` -> ``[T, 3 + n_bins]``
    float16 (onset, offset, pitch distribution)."""
    return np.concatenate([post["onset"][:, None], post["offset"][:, None], post["pitch_probs"]],
                          axis=1).astype(np.float16)


def silence_row(width: int) -> np.ndarray:
    """The soft target of a frame past a song's end ``[width]``: no event, the silence class."""
    row = np.zeros(width, np.float32)
    row[2] = 1.0
    return row


def align_frames(soft: np.ndarray, n_frames: int, what: str = "teacher") -> np.ndarray:
    """``soft [T, D]`` cropped or padded (with its last frame) to the labels' ``n_frames``.

    Raises a one-line ``ValueError`` when ``T`` and ``n_frames`` differ by more than
    :data:`MAX_FRAME_DIFFERENCE`: the two are then not on the same frame grid."""
    diff = soft.shape[0] - n_frames
    if abs(diff) > MAX_FRAME_DIFFERENCE:
        raise ValueError(f"{what}: {soft.shape[0]} frames of soft targets for {n_frames} frames of labels: "
                         f"not the same frame grid")
    if diff >= 0:
        return soft[:n_frames]
    last = soft[-1:] if len(soft) else silence_row(soft.shape[1])[None].astype(soft.dtype)
    return np.concatenate([soft, np.repeat(last, -diff, axis=0)])


def _read(path: Path, width: int, n_frames: int) -> np.ndarray | None:
    try:
        soft = np.load(path, mmap_mode="r")
    except (OSError, ValueError, EOFError):
        return None
    if soft.ndim != 2 or soft.shape[1] != width or abs(soft.shape[0] - n_frames) > MAX_FRAME_DIFFERENCE:
        return None
    return soft


def load_soft(song: Song, n_frames: int, lm: LoadedModel, digest: str, cache_dir: str | Path,
              extractor: MelExtractor | None = None) -> tuple[np.ndarray, bool]:
    """``song``'s soft targets from teacher ``lm`` (``digest``: :func:`teacher_digest`), aligned to its
    ``n_frames`` labels; from the cache, or computed from its clean audio and stored.

    Returns ``(soft [n_frames, 3 + n_bins] float16, computed)``; ``computed`` is False on a cache hit.
    """
    path = Path(cache_dir) / f"{soft_key(song, lm, digest)}.soft.npy"
    width = 3 + lm.model.n_bins
    if path.exists():
        hit = _read(path, width, n_frames)
        if hit is not None:
            return align_frames(hit, n_frames, printable(song.id)), False
        warnings.warn(f"teacher cache entry for {printable(song.audio)} is corrupt; rebuilding it", stacklevel=2)
    extractor = extractor or MelExtractor(lm.features, next(lm.model.parameters()).device)
    mel = extractor(song_audio(song, lm.features.sample_rate))
    soft = soft_from_posteriors(frame_posteriors(lm, mel, distributions=True))
    align_frames(soft, n_frames, printable(song.id))  # refuse a misaligned teacher before storing it
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: np.save would append .npy to a name
            np.save(f, soft)

    atomic_write(path, write)
    return align_frames(np.load(path, mmap_mode="r"), n_frames, printable(song.id)), True


def attach_soft_targets(songs: list[Song], cached: list[CachedSong], teachers: list[LoadedModel], names: list[str],
                        cache_dir: str | Path, rank: int = 0, world: int = 1,
                        barrier: Callable | None = None) -> tuple[int, int]:
    """Append each teacher's soft targets to every song's ``cached[i].soft``; returns
    ``(computed, read from the cache)`` over this process's songs.

    With ``world`` processes (DDP), each computes its share (``songs[rank::world]``), waits at
    ``barrier`` for the others, then reads the rest from the cache. Progress is shown on rank 0.
    """
    computed = read = 0
    for name, lm in zip(names, teachers):
        digest = teacher_digest(lm)
        extractor = MelExtractor(lm.features, next(lm.model.parameters()).device)
        mine = range(rank, len(songs), world)
        found = {}
        for i in tqdm(mine, desc=f"teacher posteriors ({printable(str(name))})", unit="song", disable=rank != 0):
            with torch.inference_mode():
                found[i], new = load_soft(songs[i], len(cached[i].labels["pitch"]), lm, digest, cache_dir,
                                          extractor)
            computed += new
            read += not new
        if world > 1 and barrier is not None:
            barrier()
        for i, (song, c) in enumerate(zip(songs, cached)):
            c.soft.append(found[i] if i in found else load_soft(song, len(c.labels["pitch"]), lm, digest,
                                                                 cache_dir, extractor)[0])
    return computed, read


def soft_targets(soft: torch.Tensor) -> dict:
    """A batch of cached soft targets ``[B, T, 3 + n_bins]`` -> the dict
    :func:`~svt_train.losses.distillation_loss` takes: ``onset``, ``offset`` ``[B, T]`` and ``pitch``
    ``[B, T, 1 + n_bins]``."""
    return {"onset": soft[..., 0], "offset": soft[..., 1], "pitch": soft[..., 2:]}
