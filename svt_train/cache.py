"""On-disk cache of features and frame labels.

One entry per (audio content, annotation, feature settings, playback speed):
the key is a SHA-1 of the audio file's bytes, the notes, the
:class:`FeatureConfig` and the song's speed (when not 1), pitch contour and stem mix (when set),
so a changed file, annotation or setting misses the cache. An entry is two
files, ``<key>.mel.npy`` (float16 ``[T, n_mels]``, memory-mapped on read)
and ``<key>.labels.npz``, written to temporary names and renamed. A
truncated or unreadable entry is detected, deleted and rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from svt_live.engine.features import FeatureConfig, MelExtractor
from svt_live.io.audio import load_audio
from svt_live.io.outputs import OutputFile, printable

from .labels import LABEL_KEYS, notes_to_frames
from .mir1k import load_stems, voice_labels
from .song import Song

CACHE_VERSION = 2  # 2: mono files decoded at unity gain (were -3 dB)
DEFAULT_CACHE = Path(os.environ.get("SVT_CACHE", Path.home() / ".cache" / "svt-live"))


@dataclass
class CachedSong:
    """Features ``mel [T, n_mels]`` (float16, memory-mapped) and labels (each ``[T]``); ``soft``: the
    cached teachers' soft targets, one ``[T, 3 + n_bins]`` array each (:mod:`svt_train.teacher`)."""

    id: str
    mel: np.ndarray
    labels: dict
    soft: list = field(default_factory=list)


def cache_key(song: Song, cfg: FeatureConfig) -> str:
    h = hashlib.sha1()
    h.update(Path(song.audio).read_bytes())
    h.update(np.ascontiguousarray(song.notes, dtype=np.float64).tobytes())
    h.update(json.dumps(cfg.to_dict(), sort_keys=True).encode())
    h.update(f"v{CACHE_VERSION}".encode())
    if song.speed != 1.0:
        h.update(f"speed {song.speed!r}".encode())
    if song.contour is not None:
        h.update(b"contour" + np.ascontiguousarray(song.contour, dtype=np.float64).tobytes())
    if song.stems is not None:
        h.update(f"stems {tuple(song.stems)!r}".encode())
    return h.hexdigest()


def song_audio(song: Song, sample_rate: int) -> np.ndarray:
    """The samples ``[N]`` of ``song`` as heard at ``sample_rate``: a tape-speed copy decoded at
    ``round(sample_rate / song.speed)`` Hz and read as ``sample_rate``; a two-channel voice / band
    recording (``song.stems``) mixed at its gains."""
    rate = round(sample_rate / song.speed)
    return load_audio(song.audio, rate) if song.stems is None else load_stems(song.audio, rate, song.stems)


def _read(mel_path: Path, lab_path: Path, n_mels: int) -> CachedSong | None:
    try:
        mel = np.load(mel_path, mmap_mode="r")
        with np.load(lab_path) as z:
            labels = {k: z[k] for k in LABEL_KEYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if mel.ndim != 2 or mel.shape[1] != n_mels or any(len(v) != mel.shape[0] for v in labels.values()):
        return None
    return CachedSong("", mel, labels)


def load_cached(song: Song, cfg: FeatureConfig, cache_dir: str | Path = DEFAULT_CACHE,
                extractor: MelExtractor | None = None) -> CachedSong:
    """Features and labels of ``song``, from the cache or computed and stored."""
    cache_dir = Path(cache_dir)
    key = cache_key(song, cfg)
    mel_path, lab_path = cache_dir / f"{key}.mel.npy", cache_dir / f"{key}.labels.npz"
    if mel_path.exists() and lab_path.exists():
        hit = _read(mel_path, lab_path, cfg.n_mels)
        if hit is not None:
            hit.id = song.id
            return hit
        warnings.warn(f"cache entry for {printable(song.audio)} is corrupt; rebuilding it", stacklevel=2)
    extractor = extractor or MelExtractor(cfg)
    mel = extractor(song_audio(song, cfg.sample_rate)).cpu().numpy().astype(np.float16)
    labels = (notes_to_frames(song.notes, mel.shape[0], cfg.frame_seconds) if song.contour is None
              else voice_labels(song.notes, song.contour, mel.shape[0], cfg.frame_seconds))
    cache_dir.mkdir(parents=True, exist_ok=True)
    # through the one writer: unique temporary names (DDP ranks or two jobs filling a cold cache at once
    # never share one), both files written before either is put in place, and a full or read-only
    # cache or Ctrl-C leaves no partial file
    outs = [OutputFile(mel_path), OutputFile(lab_path)]
    try:
        _save(outs[0].tmp, np.save, mel)
        _save(outs[1].tmp, np.savez, **labels)
    except OSError as exc:
        for out in outs:
            out.discard()
        raise OSError(exc.errno, exc.strerror, str(cache_dir)) from None
    except BaseException:
        for out in outs:
            out.discard()
        raise
    for out in outs:
        out.commit()
    return CachedSong(song.id, np.load(mel_path, mmap_mode="r"), labels)


def _save(path, save, *args, **kwargs) -> None:
    """``np.save`` / ``np.savez`` to exactly ``path`` (given a name, numpy would append its suffix)."""
    with open(path, "wb") as f:
        save(f, *args, **kwargs)
