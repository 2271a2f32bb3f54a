"""5-second training segments and batches (the course's ``[8, 250, 256]``).

Each epoch draws, for every song, ``ceil(T / segment_frames)`` segments at
random offsets (uniform over the song; with pitch shifting, some from the
song's tape-speed copies), shuffles them and batches them:
features ``[B, segment_frames, n_mels]`` float32 and each label ``[B, segment_frames]``.
Songs shorter than a segment are zero-padded (labels: silence). Songs with cached teachers' soft
targets (:mod:`svt_train.teacher`) also give ``soft [B, segment_frames, 3 + n_bins]``, the
teachers' mean, sliced with the segment like the labels (past the end: silence).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .cache import CachedSong
from .labels import LABEL_KEYS
from .teacher import silence_row

LABEL_DTYPES = {"onset": torch.float32, "offset": torch.float32, "octave": torch.int64,
                "pitch_class": torch.int64, "pitch": torch.float32, "soft": torch.float32}


def segment(song: CachedSong, start: int, length: int) -> tuple[np.ndarray, dict]:
    """Frames ``[start, start + length)`` of a song, zero-padded past its end; with cached soft
    targets, ``labels["soft"]`` holds their mean over the teachers."""
    mel = np.asarray(song.mel[start:start + length], dtype=np.float32)
    labels = {k: song.labels[k][start:start + length] for k in LABEL_KEYS}
    short = length - mel.shape[0]
    if short > 0:
        mel = np.pad(mel, ((0, short), (0, 0)), constant_values=mel.min() if mel.size else 0.0)
        labels = {k: np.pad(v, (0, short)) for k, v in labels.items()}
    if song.soft:
        soft = np.mean([np.asarray(s[start:start + length], dtype=np.float32) for s in song.soft], axis=0)
        if short > 0:
            soft = np.concatenate([soft, np.tile(silence_row(soft.shape[1]), (short, 1))])
        labels["soft"] = soft
    return mel, labels


def epoch_plan(songs: list[CachedSong], segment_frames: int, rng: np.random.Generator,
               variants: dict | None = None, p_variant: float = 0.5) -> list[tuple[int, int]]:
    """Random ``(song index, start frame)`` pairs covering each song about once.

    ``variants``: ``{song index: [indices of its pitch-shifted copies]}``; when
    given, only its keys are planned, and each segment comes, with probability
    ``p_variant``, from one of the song's copies (chosen uniformly) instead.
    """
    plan = []
    for i, copies in (variants or dict.fromkeys(range(len(songs)), [])).items():
        n = songs[i].mel.shape[0]
        count = max(1, math.ceil(n / segment_frames))
        if not copies:
            plan.extend((i, int(st)) for st in rng.integers(0, max(1, n - segment_frames + 1), size=count))
            continue
        for _ in range(count):
            j = copies[int(rng.integers(len(copies)))] if rng.random() < p_variant else i
            plan.append((j, int(rng.integers(0, max(1, songs[j].mel.shape[0] - segment_frames + 1)))))
    rng.shuffle(plan)
    return plan


def fixed_plan(songs: list[CachedSong], segment_frames: int) -> list[tuple[int, int]]:
    """Consecutive non-overlapping segments (for validation)."""
    return [(i, st) for i, s in enumerate(songs) for st in range(0, s.mel.shape[0], segment_frames)]


def batches(songs: list[CachedSong], plan: list[tuple[int, int]], batch_size: int = 8,
            segment_frames: int = 250, augment=None):
    """Yield ``(mel [B, T, F], labels {key: [B, T]})`` torch batches following ``plan``."""
    for b in range(0, len(plan), batch_size):
        mels, labs = [], []
        for i, st in plan[b:b + batch_size]:
            m, lab = segment(songs[i], st, segment_frames)
            mels.append(m)
            labs.append(lab)
        x = torch.from_numpy(np.stack(mels))
        y = {k: torch.from_numpy(np.stack([lab[k] for lab in labs])).to(LABEL_DTYPES[k]) for k in labs[0]}
        if augment is not None:
            x, y = augment(x, y)
        yield x, y
