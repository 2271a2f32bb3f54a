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
at ``teacher_weight``, the distance to the teachers' averaged posteriors on
the same augmented batch (knowledge distillation: one network learns what an
ensemble knows, at one network's cost). Runs single-process or
under ``torchrun`` (DistributedDataParallel: gloo on CPU, nccl on CUDA);
only rank 0 validates and writes files.
"""
from __future__ import annotations

import json
import sys
import math
import os
import random
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from svt_live.checkpoint import LoadedModel, save_checkpoint
from svt_live.decode import DecodeParams
from svt_live.features import FeatureConfig, MelExtractor
from svt_live.inference import frame_posteriors
from svt_live.models import build_model

from .augment import Augment, instrumental_windows
from .band import band_backgrounds
from .cache import DEFAULT_CACHE, CachedSong, load_cached
from .config import TrainConfig
from .curves import plot_history
from .datasets import load_groups, speed_variant
from .loader import batches, epoch_plan, fixed_plan
from .losses import distillation_loss, loss_for, teacher_targets
from .metrics import Metrics
from .tune import COARSE, tune_decoding, tune_thresholds

BAND_CLIPS, BAND_SECONDS = 120, 10.0  # generated band excerpts for augment.band_share (cached)


def load_teachers(names: list, student: torch.nn.Module, feat: FeatureConfig, device) -> list:
    """Teacher networks (eval mode) for ``fit``: each must give the student's pitch bins from the same
    features, else a one-line ValueError."""
    from svt_live.checkpoint import load_model

    teachers = []
    for name in names:
        lm = load_model(name, device)
        t = lm.model
        if getattr(t, "label_scheme", "") != "pitch_bins" or getattr(student, "label_scheme", "") != "pitch_bins":
            raise ValueError(f"teacher {name}: teachers and the model must both be pitch-bin models (singing_crnn)")
        if (t.n_bins, t.lowest_midi, t.bins_per_semitone) != (student.n_bins, student.lowest_midi,
                                                            student.bins_per_semitone):
            raise ValueError(f"teacher {name}: its pitch bins differ from the model's")
        if lm.features != feat:
            raise ValueError(f"teacher {name}: its feature settings differ from the model's")
        teachers.append(t)
    return teachers


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite: training stops (one line, exit 2)."""


def save_state(path: Path, model, opt, sched, swa, epoch: int, best_score: float, history: list,
               decoding: DecodeParams) -> None:
    """Write ``last.pt``, the state ``--resume`` continues from, in a form the weights-only unpickler
    reads (tensors, numbers, strings, lists and dicts: the numpy generator's key as a tensor)."""
    from svt_live.outputs import atomic_write

    rng = np.random.get_state(legacy=False)
    rng["state"] = {"key": torch.from_numpy(rng["state"]["key"].astype(np.int64)), "pos": int(rng["state"]["pos"])}
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
             "swa": swa.state_dict() if swa is not None else None, "epoch": epoch, "best_score": float(best_score),
             "history": json.loads(json.dumps(history)),  # numpy floats -> plain floats
             "decoding": decoding.to_dict(), "numpy_rng": rng, "torch_rng": torch.get_rng_state()}
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def resume_state(path: Path, model, opt, sched, swa) -> tuple[int, float, list, DecodeParams]:
    """Load ``last.pt`` into the model, optimiser, schedule, weight average and random generators
    (weights only: no code in the file runs); returns ``(epoch, best score, history, decoding)``.
    A file this cannot use is a one-line ``ValueError``."""
    try:
        st = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  the weights-only unpickler refuses code, and garbage, in many ways
        reason = " ".join(str(exc).split()).split(". ")[0][:200]
        raise ValueError(f"{path}: cannot resume from it: not a training state svt-train wrote ({reason}); "
                         f"move it away to start afresh") from None
    try:
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        if swa is not None and st.get("swa"):
            swa.load_state_dict(st["swa"])
        rng = dict(st["numpy_rng"])
        rng["state"] = {"key": st["numpy_rng"]["state"]["key"].numpy().astype(np.uint32),
                        "pos": st["numpy_rng"]["state"]["pos"]}
        np.random.set_state(rng)
        torch.set_rng_state(st["torch_rng"])
        return int(st["epoch"]), float(st["best_score"]), list(st["history"]), DecodeParams.from_dict(st["decoding"])
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
        raise ValueError(f"{path}: cannot resume from it: its training state does not fit this config "
                         f"({' '.join(str(exc).split())[:200]})") from None


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` -> cuda, then mps, then cpu."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


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
    """The :class:`~svt_live.checkpoint.LoadedModel` of ``names[0]`` holding the mean of all the
    checkpoints' weights (a "model soup"; integer buffers are the first one's). They must be the
    same model with the same weight shapes; its decoding settings are the first one's."""
    from svt_live.checkpoint import load_model

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


def fit(config_path: str | Path, out_dir: str | Path, resume: bool = False, epochs: int | None = None,
        device: str = "auto", cache_dir=DEFAULT_CACHE, threads: int | None = None,
        data_root: str | Path | None = None) -> Path:
    """Train per the config; returns the path of ``best.pt``. ``data_root`` replaces the config's."""
    cfg = TrainConfig.load(config_path)
    if epochs is not None:
        cfg = replace(cfg, epochs=epochs)
    if data_root is not None:
        cfg = replace(cfg, data_root=str(data_root))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    dev = pick_device(device)
    if world > 1:
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        if dev.type == "cuda":
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if threads:
        torch.set_num_threads(threads)
    out_dir = Path(out_dir)
    main = rank == 0
    if main:
        out_dir.mkdir(parents=True, exist_ok=True)
    _seed(cfg.seed)
    feat = FeatureConfig.from_dict(cfg.features) if cfg.features else FeatureConfig()
    model = build_model(cfg.model, **cfg.model_kwargs).to(dev)
    loss_fn = loss_for(model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda e: 0.5 * (1 + math.cos(math.pi * min(e, cfg.epochs) / max(1, cfg.epochs))))
    start_epoch, best_score, history = 0, -1.0, []
    decoding = DecodeParams()
    inits = [cfg.init_from] if isinstance(cfg.init_from, str) else list(cfg.init_from)
    if cfg.init_from:
        init = average_checkpoints(inits)
        added = init_weights(model, init.model)
        decoding = init.decoding
        if main:
            what = inits[0] if len(inits) == 1 else f"the weight average of {', '.join(inits)}"
            print(f"initialised from {what}" + (f"; new: {', '.join(added)}" if added else ""))
    swa = torch.optim.swa_utils.AveragedModel(model) if cfg.swa_from and main else None
    last = out_dir / "last.pt"
    if resume and last.exists():
        start_epoch, best_score, history, decoding = resume_state(last, model, opt, sched, swa)
        if main:
            print(f"resumed from {last} at epoch {start_epoch}")
    teachers = load_teachers(cfg.teachers, model, feat, dev)
    if teachers and main:
        print(f"teachers: {', '.join(cfg.teachers)} (weight {cfg.teacher_weight})")
    ddp_model = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model

    train_songs, train_cached, variants, _ = prepare(cfg.train, feat, cfg.data_root, cache_dir, "train",
                                                     cfg.pitch_shifts)
    valid_songs, valid_cached, _, valid_sets = (prepare(cfg.valid, feat, cfg.data_root, cache_dir, "valid")
                                                if main else ([], [], None, []))
    backgrounds = ((train_cached, instrumental_windows(train_cached, cfg.segment_frames))
                   if cfg.augment.get("background_db") else None)
    band_seconds = max(BAND_SECONDS, cfg.segment_frames * feat.frame_seconds)  # a clip holds a whole segment
    band = (band_backgrounds(BAND_CLIPS, band_seconds, feat, cfg.seed, cache_dir)
            if cfg.augment.get("band_share") else None)
    augment = (Augment(**cfg.augment, backgrounds=backgrounds, band=band, frame_seconds=feat.frame_seconds)
               if cfg.augment else None)
    if len(inits) > 1 and start_epoch == 0:  # averaged weights: batch norm statistics to match them
        plan = epoch_plan(train_cached, cfg.segment_frames, np.random.default_rng(cfg.seed + 2), variants)
        torch.optim.swa_utils.update_bn(batches(train_cached, plan, cfg.batch_size, cfg.segment_frames, augment),
                                        model, dev)
    rng = np.random.default_rng(cfg.seed)
    for _ in range(start_epoch):
        epoch_plan(train_cached, cfg.segment_frames, rng, variants)  # replay the plan stream for exact resume
    best_path = out_dir / "best.pt"
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.time()
        full_plan = epoch_plan(train_cached, cfg.segment_frames, rng, variants)
        per_rank = len(full_plan) // world  # equal step counts on every rank
        plan = full_plan[rank::world][:per_rank]
        n_batches = math.ceil(per_rank / cfg.batch_size)
        metrics = Metrics()
        model.train()
        bar = tqdm(batches(train_cached, plan, cfg.batch_size, cfg.segment_frames, augment), total=n_batches,
                   desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", disable=not main, leave=False,
                   mininterval=1 if sys.stderr.isatty() else 30)
        for x, y in bar:
            x, y = x.to(dev), {k: v.to(dev) for k, v in y.items()}
            out = ddp_model(x)
            losses = loss_fn(out, y)
            if teachers:
                soft = distillation_loss(out, teacher_targets(teachers, x))
                w = cfg.teacher_weight
                losses = {**losses, **soft, "total": (1 - w) * losses["total"] + w * soft["total"]}
            opt.zero_grad(set_to_none=True)
            if not torch.isfinite(losses["total"]):
                raise TrainingDiverged(f"the training loss is {losses['total'].item()} at epoch {epoch + 1}: "
                                       f"training stopped (lower lr?); best.pt, if any, holds the last good epoch")
            losses["total"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            with torch.no_grad():
                metrics.update(model.posteriors({k: v.detach() for k, v in out.items()}), y, losses)
            bar.set_postfix(loss=f"{losses['total'].item():.3f}")
        sched.step()
        train_m = metrics.get_value()
        if not main:
            continue
        val = validate(model, loss_fn, valid_songs, valid_cached, valid_sets, cfg, feat, decoding, COARSE)
        tuned = val.pop("decoding")
        score = val[f"val_{cfg.select_measure}_f1"]
        history.append({"epoch": epoch + 1, "seconds": round(time.time() - t0, 1),
                        "train": train_m, "valid": val, "decoding": tuned.to_dict()})
        print(f"epoch {epoch + 1}: train loss {train_m['total_loss']:.4f}  valid loss {val['total_loss']:.4f}  "
              f"valid {cfg.select_measure} F1 {score:.3f}  ({time.time() - t0:.0f} s)", flush=True)
        meta = {"config": str(config_path), "epoch": epoch + 1, "history": history,
                "train_sets": cfg.train, "valid_sets": cfg.valid}
        if score > best_score:
            best_score, decoding = score, tuned
            save_checkpoint(best_path, model, cfg.model_kwargs, feat, tuned, meta)
        if swa is not None and epoch + 1 >= cfg.swa_from:
            swa.update_parameters(model)
        save_state(last, model, opt, sched, swa, epoch + 1, best_score, history, decoding)
        (out_dir / "history.json").write_text(json.dumps(history, indent=1))
        plot_history(history, out_dir / "curves.png", cfg.select_measure, title=f"{cfg.model}: {config_path}")
    if swa is not None and int(swa.n_averaged):
        plan = epoch_plan(train_cached, cfg.segment_frames, np.random.default_rng(cfg.seed + 1), variants)
        torch.optim.swa_utils.update_bn(batches(train_cached, plan, cfg.batch_size, cfg.segment_frames, augment),
                                        swa, dev)
        val = validate(swa.module, loss_fn, valid_songs, valid_cached, valid_sets, cfg, feat, decoding, COARSE)
        tuned, score = val.pop("decoding"), val[f"val_{cfg.select_measure}_f1"]
        span = f"{cfg.swa_from}-{cfg.epochs}"
        print(f"weights averaged over epochs {span}: valid {cfg.select_measure} F1 {score:.3f} "
              f"({'kept' if score > best_score else 'not kept'}: best epoch {best_score:.3f})", flush=True)
        plot_history(history, out_dir / "curves.png", cfg.select_measure, title=f"{cfg.model}: {config_path}",
                     average=(cfg.swa_from, cfg.epochs, score))
        if score > best_score:
            meta = {"config": str(config_path), "epoch": f"average of {span}", "history": history,
                    "train_sets": cfg.train, "valid_sets": cfg.valid, "average_valid_f1": score}
            save_checkpoint(best_path, swa.module, cfg.model_kwargs, feat, tuned, meta)
    if cfg.epochs == 0 and main:  # no training: the initial (averaged) weights are the result
        val = validate(model, loss_fn, valid_songs, valid_cached, valid_sets, cfg, feat, decoding, COARSE)
        tuned, score = val.pop("decoding"), val[f"val_{cfg.select_measure}_f1"]
        print(f"initial weights: valid {cfg.select_measure} F1 {score:.3f}", flush=True)
        meta = {"config": str(config_path), "epoch": 0, "init_from": inits, "history": [],
                "train_sets": cfg.train, "valid_sets": cfg.valid}
        save_checkpoint(best_path, model, cfg.model_kwargs, feat, tuned, meta)
    if world > 1:
        dist.destroy_process_group()
    if main and best_path.exists():
        finalize(best_path, cfg, feat, valid_songs, valid_cached, valid_sets)
    return best_path


def finalize(best_path: Path, cfg: TrainConfig, feat: FeatureConfig, songs, cached, sets) -> None:
    """Fine decoding search for the best checkpoint on the validation songs; rewrites its settings."""
    from svt_live.checkpoint import load_model

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
