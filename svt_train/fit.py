"""Training loop: ``svt-train fit``.

Reads a TOML config (see ``configs/``), builds the cache (with
``pitch_shifts``, also of each training song's tape-speed copies), trains with
Adam + cosine schedule on random 5 s segments, validates every epoch
(losses, frame metrics, and note F1 after tuning thresholds on the
validation songs), keeps ``best.pt`` (a runtime checkpoint),
``last.pt`` (full training state for ``--resume``), ``history.json`` and
``curves.png`` (losses and valid F1 per epoch). With ``swa_from``, the weights after every
epoch from that one on are also averaged (stochastic weight averaging; batch
norm statistics re-estimated on one pass over the training segments), and
the average replaces ``best.pt`` when it validates better. With ``teachers``
(trained checkpoints of the same pitch-bin model family), the loss mixes in,
at ``teacher_weight``, the distance to the teachers' averaged posteriors
(knowledge distillation: one network learns what an ensemble, or a bigger or
non-causal network, knows, at one network's cost). Where those posteriors
come from is ``teacher_source``: ``"batch"`` runs the teachers on the
student's own augmented batch (so they must share its feature settings);
``"cached"`` runs each teacher once per training song and tape-speed copy,
on the song's clean audio with the teacher's own features and the runtime's
whole-file inference, and keeps the result in the cache
(:mod:`svt_train.teacher`): the student then sees augmented audio (noise,
reverb, a band mixed in, masked bands) while its targets come from the
teacher hearing the clean song. Runs single-process or
under ``torchrun`` (DistributedDataParallel: gloo on CPU, nccl on CUDA);
only rank 0 validates and writes files.
"""
from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from svt_live.engine.checkpoint import LoadedModel, save_checkpoint
from svt_live.engine.decode import DecodeParams
from svt_live.engine.device import pick_device
from svt_live.engine.features import FeatureConfig, MelExtractor
from svt_live.engine.inference import frame_posteriors
from svt_live.io.outputs import printable, write_bytes
from svt_live.models import build_model

from .augment import Augment, instrumental_windows
from .band import band_backgrounds
from .cache import DEFAULT_CACHE, CachedSong, load_cached
from .config import RANGES, TrainConfig
from .curves import plot_history
from .datasets import load_groups, speed_variant
from .loader import batches, epoch_plan, fixed_plan
from .losses import distillation_loss, loss_for, teacher_targets
from .metrics import Metrics
from .teacher import attach_soft_targets, soft_targets
from .tune import COARSE, tune_decoding, tune_thresholds

BAND_CLIPS, BAND_SECONDS = 120, 10.0  # generated band excerpts for augment.band_share (cached)


def load_teachers(names: list, student: torch.nn.Module, feat: FeatureConfig, device,
                  cached: bool = False) -> list[LoadedModel]:
    """Teacher networks (eval mode) for ``fit``: each must give the student's pitch bins, from the same
    features (``cached``: from features on the same frame grid, the same hop at the same sample rate),
    else a one-line ValueError."""
    from svt_live.engine.checkpoint import load_model

    teachers = []
    for name in names:
        lm = load_model(name, device)
        t = lm.model
        if getattr(t, "label_scheme", "") != "pitch_bins" or getattr(student, "label_scheme", "") != "pitch_bins":
            raise ValueError(f"teacher {name}: teachers and the model must both be pitch-bin models (singing_crnn)")
        if (t.n_bins, t.lowest_midi, t.bins_per_semitone) != (student.n_bins, student.lowest_midi,
                                                            student.bins_per_semitone):
            raise ValueError(f"teacher {name}: its pitch bins differ from the model's")
        if cached and (lm.features.sample_rate, lm.features.hop) != (feat.sample_rate, feat.hop):
            raise ValueError(f"teacher {name}: its frames (hop {lm.features.hop} samples at "
                             f"{lm.features.sample_rate} Hz) are not the model's ({feat.hop} at {feat.sample_rate} Hz)")
        if not cached and lm.features != feat:
            raise ValueError(f'teacher {name}: its feature settings differ from the model\'s; with '
                             f'teacher_source = "cached" it learns the teacher\'s posteriors of the clean songs')
        t.eval()
        teachers.append(lm)
    return teachers


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite: training stops (one line, exit 2)."""


def save_state(path: Path, model, opt, sched, swa, epoch: int, best_score: float, history: list,
               decoding: DecodeParams) -> None:
    """Write ``last.pt``, the state ``--resume`` continues from, in a form the weights-only unpickler
    reads (tensors, numbers, strings, lists and dicts: the numpy generator's key as a tensor)."""
    from svt_live.io.outputs import atomic_write

    rng = np.random.get_state(legacy=False)
    rng["state"] = {"key": torch.from_numpy(rng["state"]["key"].astype(np.int64)), "pos": int(rng["state"]["pos"])}
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
             "swa": swa.state_dict() if swa is not None else None, "epoch": epoch, "best_score": float(best_score),
             "history": json.loads(json.dumps(history)),  # numpy floats -> plain floats
             "decoding": decoding.to_dict(), "numpy_rng": rng, "torch_rng": torch.get_rng_state()}
    atomic_write(path, lambda tmp: torch.save(state, tmp))


# what the weights-only unpickler may also rebuild: plain numpy arrays and scalars, which the last.pt of
# earlier versions holds (numpy's legacy random state); anything else in a file is still refused
NUMPY_ARRAYS = [np.ndarray, np.dtype, np._core.multiarray._reconstruct, np._core.multiarray.scalar,
                *(type(np.dtype(t)) for t in (np.bool_, np.int32, np.int64, np.uint32, np.float32, np.float64))]


def _brief(value) -> str:
    """``value`` for a one-line message: short, and a huge whole number by its size (``str`` refuses it)."""
    if isinstance(value, int) and abs(value).bit_length() > 64:
        return f"a {abs(value).bit_length()}-bit number"
    return repr(value)[:40]


def check_resume_state(st, epochs: int, measure: str = "COnP") -> None:
    """Refuse, before any work, a training state (``last.pt`` as read) that :func:`save_state` did not
    write for a run of ``epochs`` epochs selecting by ``measure``: a missing part, an epoch that is not
    a whole number from 1 to ``epochs``, a best score that is not a finite F1 (or -1, none yet), a
    history that is not one record per epoch done (each with the losses and F1 the curves draw),
    decoding settings out of range, a schedule at another epoch, a weight
    average of more epochs than done, or weights or optimiser values that are not finite numbers.
    Raises a one-line ``ValueError`` (without the path: the caller names the file)."""
    from numbers import Integral, Real

    from svt_live.engine.checkpoint import check_decoding, nonfinite

    if not isinstance(st, dict):
        raise ValueError("it is not a dict of training state")
    missing = [k for k in ("model", "optimizer", "scheduler", "epoch", "best_score", "history", "decoding",
                           "numpy_rng", "torch_rng") if k not in st]
    if missing:
        raise ValueError(f"it lacks {', '.join(missing)}")
    epoch, best, history = st["epoch"], st["best_score"], st["history"]
    if not (isinstance(epoch, Integral) and not isinstance(epoch, bool) and 1 <= epoch):
        raise ValueError(f"its epoch must be a whole number >= 1, got {_brief(epoch)}")
    if epoch > epochs:
        hint = f" (give --epochs {epoch} or more)" if epoch <= RANGES["epochs"][1] else ""
        raise ValueError(f"it is at epoch {_brief(epoch)}, past the run's {epochs} epochs{hint}")
    if not (isinstance(best, Real) and not isinstance(best, bool) and math.isfinite(best) and -1 <= best <= 1):
        raise ValueError(f"its best score must be an F1 from 0 to 1 (-1: none yet), got {_brief(best)}")
    def number(record, key) -> bool:
        return isinstance(record, dict) and isinstance(record.get(key), Real) and not isinstance(record[key], bool)

    if not (isinstance(history, list) and len(history) == epoch and all(
            isinstance(h, dict) and h.get("epoch") == i + 1 and number(h.get("train"), "total_loss")
            and number(h.get("valid"), "total_loss") and number(h.get("valid"), f"val_{measure}_f1")
            for i, h in enumerate(history))):
        raise ValueError(f"its history must hold one record per epoch done ({epoch}), each with the train "
                         f"and valid losses and valid {measure} F1")
    if not isinstance(st["decoding"], dict):
        raise ValueError("its decoding settings are not a dict")
    check_decoding(st["decoding"])
    for part in ("model", "optimizer", "scheduler"):
        if not isinstance(st[part], dict):
            raise ValueError(f"its {part} state is not a dict")
    if st["scheduler"].get("last_epoch") != epoch:
        raise ValueError(f"its schedule is at epoch {_brief(st['scheduler'].get('last_epoch'))}, not {epoch}")
    swa = st.get("swa")
    if swa is not None:
        n = swa.get("n_averaged") if isinstance(swa, dict) else None
        if not (isinstance(n, torch.Tensor) and n.numel() == 1 and 0 <= int(n) <= epoch):
            raise ValueError(f"its weight average must be of 0 to {epoch} epochs")
    parts = {"model": st["model"], "optimizer": st["optimizer"], "scheduler": st["scheduler"],
             "swa": swa if isinstance(swa, dict) else {}}
    todo = list(parts.items())
    while todo:  # every number in the weights, optimiser and schedule: finite
        where, item = todo.pop()
        if isinstance(item, dict):
            todo.extend((f"{where}.{k}", v) for k, v in item.items())
        elif isinstance(item, (list, tuple)):
            todo.extend((f"{where}[{i}]", v) for i, v in enumerate(item))
        elif (isinstance(item, float) and not math.isfinite(item)) or (
                isinstance(item, torch.Tensor) and nonfinite({where: item})):
            raise ValueError(f"its {where} holds NaN or infinite values")


def resume_state(path: Path, model, opt, sched, swa, epochs: int,
                 measure: str = "COnP") -> tuple[int, float, list, DecodeParams]:
    """Load ``last.pt`` into the model, optimiser, schedule, weight average and random generators
    (:func:`~svt_live.engine.checkpoint.load_untrusted`: no code in the file runs, its tensors hold no more
    than the file; then :func:`check_resume_state` for a run of ``epochs`` epochs selecting by
    ``measure``); returns ``(epoch, best score, history, decoding)``. A file this cannot use is a
    one-line ``ValueError`` naming it."""
    from svt_live.engine.checkpoint import CheckpointError, load_untrusted

    try:
        st = load_untrusted(path, NUMPY_ARRAYS)
    except CheckpointError as exc:
        raise ValueError(f"{path}: cannot resume from it: not a training state svt-train wrote ({exc}); "
                         f"to start afresh, give --overwrite instead of --resume") from None
    try:
        check_resume_state(st, epochs, measure)
    except ValueError as exc:
        raise ValueError(f"{path}: cannot resume from it: {exc}; to start afresh, give --overwrite instead of "
                         f"--resume") from None
    try:
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        if swa is not None and st.get("swa"):
            swa.load_state_dict(st["swa"])
        rng = st["numpy_rng"]
        if isinstance(rng, dict):  # the generator's key as a tensor (else numpy's legacy tuple, as written before)
            rng = {**rng, "state": {"key": rng["state"]["key"].numpy().astype(np.uint32), "pos": rng["state"]["pos"]}}
        np.random.set_state(rng)
        torch.set_rng_state(st["torch_rng"])
        return int(st["epoch"]), float(st["best_score"]), list(st["history"]), DecodeParams.from_dict(st["decoding"])
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError, IndexError) as exc:
        raise ValueError(f"{path}: cannot resume from it: its training state does not fit this config "
                         f"({' '.join(str(exc).split())[:200]})") from None


RUN_FILES = ("best.pt", "last.pt", "history.json", "curves.png")  # what fit writes in its output folder


def check_out_dir(out_dir: str | Path, resume: bool, overwrite: bool) -> None:
    """Refuse to start a run over the files of another (:data:`RUN_FILES`) in ``out_dir`` unless
    ``overwrite``; ``resume`` with a ``last.pt`` there continues it instead. One-line ``ValueError``."""
    out_dir = Path(out_dir)
    found = [name for name in RUN_FILES if (out_dir / name).exists()]
    if found and not overwrite and not (resume and "last.pt" in found):
        hint = "" if resume else "--resume to continue it, "
        raise ValueError(f"{out_dir}: holds a run already ({', '.join(found)}); give {hint}--overwrite to "
                         f"start afresh over it, or another --out")


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def init_weights(model: torch.nn.Module, init: torch.nn.Module) -> list[str]:
    """Copy ``init``'s weights into ``model``; returns the names of ``model``'s added top-level parts.

    ``model`` may have parts the checkpoint lacks (e.g. residual GRU blocks, which start as the
    identity); every weight the checkpoint has must exist in ``model`` with the same shape.
    Conv blocks whose lookahead differs adopt the checkpoint's kernels shifted in time.
    """
    own, given = model.state_dict(), init.state_dict()
    unexpected = [k for k in given if k not in own]
    if unexpected:
        raise ValueError(f"init_from checkpoint has weights the model lacks: {', '.join(unexpected)}")
    resized = [f"{k} {tuple(v.shape)} vs {tuple(own[k].shape)}" for k, v in given.items() if v.shape != own[k].shape]
    if resized:
        raise ValueError(f"init_from checkpoint has weights of other shapes: {'; '.join(resized)}")
    missing = model.load_state_dict(given, strict=False).missing_keys
    old_blocks = dict(init.named_modules())
    for name, block in model.named_modules():  # conv blocks given more (or less) lookahead
        old = old_blocks.get(name)
        if hasattr(block, "adopt_taps") and getattr(old, "ahead", block.ahead) != block.ahead:
            block.adopt_taps(old.conv.weight, old.ahead)
    return sorted({".".join(k.split(".")[:2]) for k in missing})


def average_checkpoints(names: list[str]):
    """The :class:`~svt_live.engine.checkpoint.LoadedModel` of ``names[0]`` holding the mean of all the
    checkpoints' weights (a "model soup"; integer buffers are the first one's). They must be the
    same model with the same weight shapes; its decoding settings are the first one's."""
    from svt_live.engine.checkpoint import load_model

    loaded = [load_model(n) for n in names]
    sds = [lm.model.state_dict() for lm in loaded]
    for name, lm, sd in zip(names[1:], loaded[1:], sds[1:]):
        if lm.name != loaded[0].name or sd.keys() != sds[0].keys() or any(
                sd[k].shape != v.shape for k, v in sds[0].items()):
            raise ValueError(f"init_from: {name} is not the same model and size as {names[0]}; "
                             f"only such checkpoints can be averaged")
    if len(sds) > 1:
        loaded[0].model.load_state_dict({k: torch.stack([sd[k] for sd in sds]).mean(0) if v.is_floating_point()
                                         else v for k, v in sds[0].items()})
    return loaded[0]


def prepare(specs: list, cfg: FeatureConfig, data_root: str, cache_dir, desc: str,
            pitch_shifts: list = ()) -> tuple[list, list, dict | None, list]:
    """Load songs for data specs and their cached features; returns ``(songs, cached, variants, sets)``.

    The specs' songs come first, in spec order, then all their copies: each song's tape-speed copies
    (``pitch_shifts`` semitones, unless its spec says ``pitch_shifts = false``) followed by the copies
    its spec gives (MIR-1K's mixes, see :func:`~svt_train.datasets.load_groups`). ``variants``:
    ``{song index: [indices of its copies]}`` for :func:`~svt_train.loader.epoch_plan` (None when no
    song has copies); ``sets [n]``: the index of the spec each song or copy comes from.
    """
    groups = [(i, song, own) for i, spec in enumerate(specs) for song, own in load_groups(spec, data_root)]
    songs, sets, copies, variants = [g[1] for g in groups], [g[0] for g in groups], [], {}
    for k, (i, song, own) in enumerate(groups):
        shifts = pitch_shifts if specs[i].get("pitch_shifts", True) is not False else ()
        mine = [speed_variant(song, st, cfg.sample_rate) for st in shifts] + list(own)
        variants[k] = list(range(len(songs) + len(copies), len(songs) + len(copies) + len(mine)))
        copies += [(i, c) for c in mine]
    songs += [c for _, c in copies]
    sets += [i for i, _ in copies]
    ex = MelExtractor(cfg)
    cached = [load_cached(s, cfg, cache_dir, ex) for s in tqdm(songs, desc=f"features {desc}", unit="song")]
    return songs, cached, variants if copies else None, sets


def song_posteriors(lm: LoadedModel, songs: list, cached: list, sets: list) -> tuple[dict, list]:
    """``({"<set>/<id>": (reference notes, posteriors)}, [ids of each set])`` for tuning decoding."""
    posts = {f"{k}/{s.id}": (s.notes, frame_posteriors(lm, torch.from_numpy(np.asarray(c.mel, np.float32))))
             for s, c, k in zip(songs, cached, sets)}
    return posts, [[f"{k}/{s.id}" for s, j in zip(songs, sets) if j == k] for k in sorted(set(sets))]


def validate(model, loss_fn, songs: list, cached: list[CachedSong], sets: list, cfg: TrainConfig,
             feat: FeatureConfig, decoding: DecodeParams, grid: dict) -> dict:
    """Validation losses, frame metrics and tuned note F1; returns a flat dict (plus ``decoding``)."""
    model.eval()
    metrics = Metrics()
    with torch.no_grad():
        for x, y in batches(cached, fixed_plan(cached, cfg.segment_frames), cfg.batch_size, cfg.segment_frames):
            dev = next(model.parameters()).device
            x, y = x.to(dev), {k: v.to(dev) for k, v in y.items()}
            out = model(x)
            metrics.update(model.posteriors(out), y, loss_fn(out, y))
    posts, groups = song_posteriors(LoadedModel(model, feat, decoding, {}, cfg.model), songs, cached, sets)
    best, f = tune_thresholds(posts, decoding, feat.frame_seconds, grid, cfg.select_measure,
                              fixed=cfg.fixed_decoding, groups=groups if cfg.select_per_set else None)
    model.train()
    return {**metrics.get_value(), f"val_{cfg.select_measure}_f1": f, "decoding": best}


@dataclass
class Run:
    """One training run: its settings, network, optimiser and progress, shared by ``fit``'s steps.

    Only rank 0 (``main``) validates and writes files; ``best_path`` and ``last_path`` lie in ``out_dir``.
    """

    cfg: TrainConfig
    config_path: str | Path
    out_dir: Path
    feat: FeatureConfig
    dev: torch.device
    rank: int
    world: int
    model: torch.nn.Module
    loss_fn: Callable
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    swa: torch.optim.swa_utils.AveragedModel | None
    inits: list  # the init_from checkpoints (empty: random initial weights)
    decoding: DecodeParams
    start_epoch: int = 0
    best_score: float = -1.0
    history: list = field(default_factory=list)
    teachers: list = field(default_factory=list)  # networks run on each augmented batch (teacher_source "batch")
    cached_teachers: list = field(default_factory=list)  # LoadedModels whose soft targets are cached ("cached")

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def best_path(self) -> Path:
        return self.out_dir / "best.pt"

    @property
    def last_path(self) -> Path:
        return self.out_dir / "last.pt"

    def meta(self, epoch, history: list, **extra) -> dict:
        """The training facts stored in a checkpoint's ``meta``."""
        return {"config": str(self.config_path), "epoch": epoch, **extra, "history": history,
                "train_sets": self.cfg.train, "valid_sets": self.cfg.valid}


@dataclass
class Data:
    """The songs ``fit`` trains and validates on (cached features), and the augmentation."""

    train: list[CachedSong]
    variants: dict | None  # {song index: indices of its copies}, see prepare
    valid_songs: list  # empty on ranks other than 0
    valid: list[CachedSong]
    valid_sets: list
    augment: Augment | None


def start_processes(device: str, threads: int | None) -> tuple[torch.device, int, int]:
    """``(device, rank, world size)``; joins the process group when run under ``torchrun``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    dev = pick_device(device)
    if world > 1:
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        if dev.type == "cuda":
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if threads:
        torch.set_num_threads(threads)
    return dev, rank, world


def new_run(cfg: TrainConfig, config_path: str | Path, out_dir: str | Path, dev: torch.device, rank: int,
            world: int) -> Run:
    """The network (from ``init_from`` when given), AdamW and its cosine schedule over ``cfg.epochs``,
    and the running weight average (``swa_from``, rank 0)."""
    out_dir = Path(out_dir)
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
    _seed(cfg.seed)
    feat = FeatureConfig.from_dict(cfg.features) if cfg.features else FeatureConfig()
    model = build_model(cfg.model, **cfg.model_kwargs).to(dev)
    loss_fn = loss_for(model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda e: 0.5 * (1 + math.cos(math.pi * min(e, cfg.epochs) / max(1, cfg.epochs))))
    decoding = DecodeParams()
    inits = [cfg.init_from] if isinstance(cfg.init_from, str) else list(cfg.init_from)
    if cfg.init_from:
        init = average_checkpoints(inits)
        added = init_weights(model, init.model)
        decoding = init.decoding
        if rank == 0:
            what = inits[0] if len(inits) == 1 else f"the weight average of {', '.join(inits)}"
            taken = len(init.model.state_dict())
            print(printable(f"initialised from {what} (all {taken} of its tensors taken)"
                            + (f"; new: {', '.join(added)}" if added else "")))
    swa = torch.optim.swa_utils.AveragedModel(model) if cfg.swa_from and rank == 0 else None
    return Run(cfg, config_path, out_dir, feat, dev, rank, world, model, loss_fn, opt, sched, swa,
               inits if cfg.init_from else [], decoding)


def load_data(run: Run, cache_dir) -> Data:
    """The training songs and their copies (all ranks) with the cached teachers' soft targets, the
    validation songs (rank 0), and the augmentation with its backgrounds (the training songs'
    band-only windows, generated band clips)."""
    cfg, feat = run.cfg, run.feat
    train_songs, train, variants, _ = prepare(cfg.train, feat, cfg.data_root, cache_dir, "train", cfg.pitch_shifts)
    if run.cached_teachers:
        computed, read = attach_soft_targets(train_songs, train, run.cached_teachers, cfg.teachers, cache_dir,
                                             run.rank, run.world, dist.barrier if run.world > 1 else None)
        if run.main:
            print(f"teacher posteriors: {computed} songs computed, {read} from the cache", flush=True)
    valid_songs, valid, _, valid_sets = (prepare(cfg.valid, feat, cfg.data_root, cache_dir, "valid")
                                         if run.main else ([], [], None, []))
    backgrounds = ((train, instrumental_windows(train, cfg.segment_frames))
                   if cfg.augment.get("background_db") else None)
    band_seconds = max(BAND_SECONDS, cfg.segment_frames * feat.frame_seconds)  # a clip holds a whole segment
    band = (band_backgrounds(BAND_CLIPS, band_seconds, feat, cfg.seed, cache_dir)
            if cfg.augment.get("band_share") else None)
    augment = (Augment(**cfg.augment, backgrounds=backgrounds, band=band, frame_seconds=feat.frame_seconds)
               if cfg.augment else None)
    return Data(train, variants, valid_songs, valid, valid_sets, augment)


def update_batch_norm(run: Run, data: Data, model: torch.nn.Module, seed: int) -> None:
    """Re-estimate ``model``'s batch norm statistics on one pass over augmented training segments
    (the plan drawn with ``seed``), for weights that were averaged rather than trained."""
    cfg = run.cfg
    plan = epoch_plan(data.train, cfg.segment_frames, np.random.default_rng(seed), data.variants)
    torch.optim.swa_utils.update_bn(batches(data.train, plan, cfg.batch_size, cfg.segment_frames, data.augment),
                                    model, run.dev)


def train_epoch(run: Run, net: torch.nn.Module, data: Data, rng: np.random.Generator, epoch: int) -> dict:
    """One pass over this rank's share of the epoch's segments (``net``: the model, or its DDP
    wrapper); steps the schedule; returns the training metrics. A non-finite loss raises
    :class:`TrainingDiverged`."""
    cfg, model = run.cfg, run.model
    full_plan = epoch_plan(data.train, cfg.segment_frames, rng, data.variants)
    per_rank = len(full_plan) // run.world  # equal step counts on every rank
    plan = full_plan[run.rank::run.world][:per_rank]
    n_batches = math.ceil(per_rank / cfg.batch_size)
    metrics = Metrics()
    model.train()
    bar = tqdm(batches(data.train, plan, cfg.batch_size, cfg.segment_frames, data.augment), total=n_batches,
               desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", disable=not run.main, leave=False,
               mininterval=1 if sys.stderr.isatty() else 30)
    for x, y in bar:
        x, y = x.to(run.dev), {k: v.to(run.dev) for k, v in y.items()}
        out = net(x)
        losses = run.loss_fn(out, y)
        if run.teachers or "soft" in y:
            soft = distillation_loss(out, teacher_targets(run.teachers, x) if run.teachers else soft_targets(y["soft"]))
            w = cfg.teacher_weight
            losses = {**losses, **soft, "total": (1 - w) * losses["total"] + w * soft["total"]}
        run.opt.zero_grad(set_to_none=True)
        if not torch.isfinite(losses["total"]):
            raise TrainingDiverged(f"the training loss is {losses['total'].item()} at epoch {epoch + 1}: "
                                   f"training stopped (lower lr?); best.pt, if any, holds the last good epoch")
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        run.opt.step()
        with torch.no_grad():
            metrics.update(model.posteriors({k: v.detach() for k, v in out.items()}), y, losses)
        bar.set_postfix(loss=f"{losses['total'].item():.3f}")
    run.sched.step()
    return metrics.get_value()


def validate_and_save(run: Run, data: Data, epoch: int, train_metrics: dict, t0: float) -> None:
    """After an epoch (rank 0): validate, log, keep ``best.pt`` when the score is the best yet,
    update the weight average, write ``last.pt``, ``history.json`` and ``curves.png``. ``t0``: when
    the epoch began (``time.time()``)."""
    cfg = run.cfg
    val = validate(run.model, run.loss_fn, data.valid_songs, data.valid, data.valid_sets, cfg, run.feat,
                   run.decoding, COARSE)
    tuned = val.pop("decoding")
    score = val[f"val_{cfg.select_measure}_f1"]
    run.history.append({"epoch": epoch + 1, "seconds": round(time.time() - t0, 1),
                        "train": train_metrics, "valid": val, "decoding": tuned.to_dict()})
    print(f"epoch {epoch + 1}: train loss {train_metrics['total_loss']:.4f}  valid loss {val['total_loss']:.4f}  "
          f"valid {cfg.select_measure} F1 {score:.3f}  ({time.time() - t0:.0f} s)", flush=True)
    if score > run.best_score:
        run.best_score, run.decoding = score, tuned
        save_checkpoint(run.best_path, run.model, cfg.model_kwargs, run.feat, tuned, run.meta(epoch + 1, run.history))
    if run.swa is not None and epoch + 1 >= cfg.swa_from:
        run.swa.update_parameters(run.model)
    save_state(run.last_path, run.model, run.opt, run.sched, run.swa, epoch + 1, run.best_score, run.history,
               run.decoding)
    write_bytes(run.out_dir / "history.json", json.dumps(run.history, indent=1).encode())
    plot_history(run.history, run.out_dir / "curves.png", cfg.select_measure,
                 title=f"{cfg.model}: {run.config_path}")


def keep_weight_average(run: Run, data: Data) -> None:
    """After the last epoch (rank 0, ``swa_from``): validate the running weight average, its batch
    norm re-estimated; it replaces ``best.pt`` when it scores higher than the best epoch."""
    cfg, swa = run.cfg, run.swa
    update_batch_norm(run, data, swa, cfg.seed + 1)
    val = validate(swa.module, run.loss_fn, data.valid_songs, data.valid, data.valid_sets, cfg, run.feat,
                   run.decoding, COARSE)
    tuned, score = val.pop("decoding"), val[f"val_{cfg.select_measure}_f1"]
    span = f"{cfg.swa_from}-{cfg.epochs}"
    print(f"weights averaged over epochs {span}: valid {cfg.select_measure} F1 {score:.3f} "
          f"({'kept' if score > run.best_score else 'not kept'}: best epoch {run.best_score:.3f})", flush=True)
    plot_history(run.history, run.out_dir / "curves.png", cfg.select_measure,
                 title=f"{cfg.model}: {run.config_path}", average=(cfg.swa_from, cfg.epochs, score))
    if score > run.best_score:
        save_checkpoint(run.best_path, swa.module, cfg.model_kwargs, run.feat, tuned,
                        run.meta(f"average of {span}", run.history, average_valid_f1=score))


def save_initial_weights(run: Run, data: Data) -> None:
    """``epochs = 0`` (rank 0): validate, tune and save the initial (averaged) weights as ``best.pt``."""
    cfg = run.cfg
    val = validate(run.model, run.loss_fn, data.valid_songs, data.valid, data.valid_sets, cfg, run.feat,
                   run.decoding, COARSE)
    tuned, score = val.pop("decoding"), val[f"val_{cfg.select_measure}_f1"]
    print(f"initial weights: valid {cfg.select_measure} F1 {score:.3f}", flush=True)
    save_checkpoint(run.best_path, run.model, cfg.model_kwargs, run.feat, tuned,
                    run.meta(0, [], init_from=run.inits))


def fit(config_path: str | Path, out_dir: str | Path, resume: bool = False, epochs: int | None = None,
        device: str = "auto", cache_dir=DEFAULT_CACHE, threads: int | None = None,
        data_root: str | Path | None = None, overwrite: bool = False) -> Path:
    """Train per the config; returns the path of ``best.pt``. ``data_root`` replaces the config's.
    A folder holding another run's files is refused unless ``resume`` (continue from its
    ``last.pt``) or ``overwrite`` (start afresh over it)."""
    cfg = TrainConfig.load(config_path)
    if epochs is not None:
        cfg = replace(cfg, epochs=epochs)
    if data_root is not None:
        cfg = replace(cfg, data_root=str(data_root))
    check_out_dir(out_dir, resume, overwrite)
    run = new_run(cfg, config_path, out_dir, *start_processes(device, threads))
    if resume and run.last_path.exists():
        run.start_epoch, run.best_score, run.history, run.decoding = resume_state(
            run.last_path, run.model, run.opt, run.sched, run.swa, cfg.epochs, cfg.select_measure)
        if run.main:
            print(f"resumed from {printable(run.last_path)} at epoch {run.start_epoch}")
    cached = cfg.teacher_source == "cached"
    teachers = load_teachers(cfg.teachers, run.model, run.feat, run.dev, cached)
    run.cached_teachers, run.teachers = (teachers, []) if cached else ([], [lm.model for lm in teachers])
    if teachers and run.main:
        print(printable(f"teachers: {', '.join(cfg.teachers)} (weight {cfg.teacher_weight}"
                        + (", posteriors of the clean songs, cached)" if cached else ")")))
    net = torch.nn.parallel.DistributedDataParallel(run.model) if run.world > 1 else run.model
    data = load_data(run, cache_dir)
    if len(run.inits) > 1 and run.start_epoch == 0:  # averaged weights: batch norm statistics to match them
        update_batch_norm(run, data, run.model, cfg.seed + 2)
    rng = np.random.default_rng(cfg.seed)
    for _ in range(run.start_epoch):
        epoch_plan(data.train, cfg.segment_frames, rng, data.variants)  # replay the plan stream for exact resume
    for epoch in range(run.start_epoch, cfg.epochs):
        t0 = time.time()
        train_metrics = train_epoch(run, net, data, rng, epoch)
        if run.main:
            validate_and_save(run, data, epoch, train_metrics, t0)
    if run.swa is not None and int(run.swa.n_averaged):
        keep_weight_average(run, data)
    if cfg.epochs == 0 and run.main:  # no training: the initial (averaged) weights are the result
        save_initial_weights(run, data)
    if run.world > 1:
        dist.destroy_process_group()
    if run.main and run.best_path.exists():
        finalize(run.best_path, cfg, run.feat, data.valid_songs, data.valid, data.valid_sets)
    return run.best_path


def finalize(best_path: Path, cfg: TrainConfig, feat: FeatureConfig, songs, cached, sets) -> None:
    """Fine decoding search for the best checkpoint on the validation songs; rewrites its settings."""
    from svt_live.engine.checkpoint import load_model

    lm = load_model(best_path)
    posts, groups = song_posteriors(lm, songs, cached, sets)
    best, f = tune_decoding(posts, lm.decoding, feat.frame_seconds, cfg.select_measure, fixed=cfg.fixed_decoding,
                            groups=groups if cfg.select_per_set else None)
    meta = dict(lm.meta, tuned_valid_f1=f, **({"description": cfg.description} if cfg.description else {}))
    save_checkpoint(best_path, lm.model, cfg.model_kwargs, feat, best, meta)
    print(f"tuned decoding on validation: {best} -> {cfg.select_measure} F1 {f:.3f}")


def retune(checkpoint: str | Path, config_path: str | Path, cache_dir=DEFAULT_CACHE,
           data_root: str | Path | None = None) -> None:
    """``svt-train tune``: re-choose a checkpoint's decoding settings on the config's validation sets,
    rewriting ``checkpoint``; ``data_root`` replaces the config's."""
    cfg = TrainConfig.load(config_path)
    if data_root is not None:
        cfg = replace(cfg, data_root=str(data_root))
    feat = FeatureConfig.from_dict(cfg.features) if cfg.features else FeatureConfig()
    songs, cached, _, sets = prepare(cfg.valid, feat, cfg.data_root, cache_dir, "valid")
    finalize(Path(checkpoint), cfg, feat, songs, cached, sets)
