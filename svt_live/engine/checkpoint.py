"""Self-describing checkpoints: weights plus everything needed to use them.

A checkpoint is a ``torch.save`` dict (loadable with ``weights_only=True``)::

    format      "svt-live-checkpoint"
    version     CHECKPOINT_VERSION
    model       {"name": registry name, "kwargs": constructor arguments}
    label_scheme  "octave_pitch_class" or "pitch_bins"
    features    FeatureConfig as a dict
    decoding    DecodeParams as a dict (thresholds tuned on validation data)
    lookahead_frames  right context the model needs (frames)
    state_dict  the weights
    meta        free-form: training data, epochs, validation scores

Bundled models live in ``svt_live/weights/<name>.pt`` and load by name.

A checkpoint file is untrusted input (:func:`load_untrusted`): it must be a
regular file and the zip archive ``torch.save`` writes, whose records declare
at most :data:`MAX_INFLATION` times the file's size (checked before anything is
inflated); it is read with the weights-only unpickler (no code runs), and every
tensor in it must be a plain contiguous CPU tensor holding its own bytes (no
stride-0 or overlapping views, no two tensors sharing data), so the tensors hold
no more than the file does. Every model, feature and decoding setting is then
checked against the ranges in :data:`MODEL_LIMITS`, :class:`FeatureConfig` and
:data:`DECODING_LIMITS` before anything is built; the network is built on the
``meta`` device (no memory) and its weight shapes compared with the file's, so
the real one is never bigger than the file's weights.
"""
from __future__ import annotations

import inspect
import math
import numbers
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from svt_live.engine.decode import MAX_NOTE_FRAMES, DecodeParams
from svt_live.engine.features import FeatureConfig
from svt_live.models import MODELS, build_model

CHECKPOINT_FORMAT = "svt-live-checkpoint"
CHECKPOINT_VERSION = 1
WEIGHTS_DIR = Path(__file__).parents[1] / "weights"
DEFAULT_MODEL = "singing_crnn_bi"
# torch.save stores its zip records uncompressed: what they declare is below the file's size; a
# recompressed archive may inflate a little, a zip bomb a thousandfold
MAX_INFLATION = 4


DECODING_LIMITS = {"onset_threshold": (0.0, 2.0), "offset_threshold": (0.0, 2.0), "voiced_threshold": (0.0, 2.0),
                   "min_note_frames": (1, MAX_NOTE_FRAMES), "silence_frames": (1, MAX_NOTE_FRAMES)}
# (lowest, highest) of each model constructor argument; a list argument: (shortest, longest, lowest, highest item);
# a true/false argument: (False, True)
MODEL_LIMITS = {"n_mels": (1, 1024), "hidden": (1, 4096), "channels": (1, 8, 1, 1024), "lowest_midi": (0, 127),
                "n_semitones": (1, 128), "bins_per_semitone": (1, 100), "lookahead": (0, 8), "gru_layers": (1, 16),
                "bidirectional": (False, True), "window": (1, 100_000), "window_context": (0, 10_000)}


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt or incompatible."""


@dataclass
class LoadedModel:
    """A ready-to-run model (eval mode) with its feature and decoding settings."""

    model: torch.nn.Module
    features: FeatureConfig
    decoding: DecodeParams
    meta: dict
    name: str  # the network's registry name (``singing_crnn``...)
    source: str = ""  # what was loaded: a bundled model's name or the checkpoint's path

    @property
    def lookahead(self) -> int:
        return int(self.model.lookahead)

    @property
    def label(self) -> str:
        """The model as the user named it (bundled name or path), for messages and titles."""
        return self.source or self.name


def bundled_models() -> list[str]:
    """Names of the models shipped inside the package."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt"))


def bundled_descriptions() -> dict[str, str]:
    """``{name: description}`` of every bundled model: the line its training config gave ('' if none)."""
    return {name: read_checkpoint(WEIGHTS_DIR / f"{name}.pt").get("meta", {}).get("description", "")
            for name in bundled_models()}


def resolve(name_or_path: str | Path | None) -> Path:
    """A bundled model name (or ``None`` for the default) or a file path -> path."""
    if name_or_path is None:
        name_or_path = DEFAULT_MODEL if (WEIGHTS_DIR / f"{DEFAULT_MODEL}.pt").exists() else "base_cnn_mini"
    p = Path(name_or_path)
    if p.suffix != ".pt" and (WEIGHTS_DIR / f"{name_or_path}.pt").exists():
        return WEIGHTS_DIR / f"{name_or_path}.pt"
    if not p.exists():
        known = ", ".join(bundled_models()) or "none"
        raise CheckpointError(f"{p}: no such checkpoint file or bundled model (bundled: {known})")
    return p


def save_checkpoint(path: str | Path, model: torch.nn.Module, model_kwargs: dict, features: FeatureConfig,
                    decoding: DecodeParams, meta: dict | None = None) -> None:
    """Write a self-describing checkpoint (atomically: temp file, then rename). Weights that are not
    all finite (a diverged training run) are refused with a ``ValueError``: such a model finds no notes."""
    from svt_live.io.outputs import atomic_write

    name = next(k for k, v in MODELS.items() if isinstance(model, v))
    bad = nonfinite(model.state_dict())
    if bad:
        raise ValueError(f"{path}: not saved: weights {', '.join(bad[:3])} hold NaN or infinite values "
                         f"(the training diverged; lower lr?)")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model": {"name": name, "kwargs": dict(model_kwargs)},
        "label_scheme": model.label_scheme,
        "features": features.to_dict(),
        "decoding": decoding.to_dict(),
        "lookahead_frames": int(model.lookahead),
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
        "meta": meta or {},
    }
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def nonfinite(state_dict: dict) -> list[str]:
    """Names of the floating-point tensors of ``state_dict`` that hold NaN or infinite values."""
    return [k for k, v in state_dict.items()
            if isinstance(v, torch.Tensor) and v.is_floating_point() and not torch.isfinite(v).all()]


def _reason(exc: BaseException) -> str:
    """The first sentence of an exception's message on one line (torch's messages run to paragraphs)."""
    return " ".join(str(exc).split()).split(". ")[0][:240] or exc.__class__.__name__  # EOFError: no message


def _check_archive(path: Path) -> None:
    """Refuse, before anything is inflated, what is not a regular file holding a zip archive whose
    records declare at most :data:`MAX_INFLATION` times the file's size."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise CheckpointError(exc.strerror or exc.__class__.__name__) from None
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError("not a regular file")
    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise CheckpointError("not the zip archive torch.save writes") from None
    if declared > MAX_INFLATION * st.st_size:
        raise CheckpointError(f"its zip records would inflate to {declared} bytes from a {st.st_size}-byte "
                              f"file (more than {MAX_INFLATION} times its size)")


def _tensors(obj):
    """``(where, tensor)`` of every tensor inside nested dicts, lists and tuples (iteratively: a file
    may nest deeper than Python recurses)."""
    todo = [("", obj)]
    while todo:
        where, item = todo.pop()
        if isinstance(item, torch.Tensor):
            yield where or "the file", item
        elif isinstance(item, dict):
            todo.extend((f"{where}.{k}" if where else str(k), v) for k, v in item.items())
        elif isinstance(item, (list, tuple)):
            todo.extend((f"{where}[{i}]", v) for i, v in enumerate(item))


def check_tensor_storage(obj) -> None:
    """Refuse tensors that hold more than the file stored: every tensor in ``obj`` must be a plain
    (strided) CPU tensor laid out contiguously in its own storage, no two sharing one. A stride-0
    or overlapping view, or many tensors over one storage, would make a small file a huge model.
    Raises :class:`CheckpointError` naming the first tensor at fault."""
    storages, claimed = {}, 0
    for where, t in _tensors(obj):
        if t.layout != torch.strided or t.device.type != "cpu":
            raise CheckpointError(f"tensor {where} is not a plain CPU tensor ({t.layout}, {t.device.type})")
        if not t.is_contiguous():
            raise CheckpointError(f"tensor {where} is a view that repeats or skips its data "
                                  f"(shape {tuple(t.shape)}, strides {t.stride()})")
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        claimed += t.numel() * t.element_size()
    stored = sum(storages.values())
    if claimed > stored:
        raise CheckpointError(f"its tensors claim {claimed} bytes from {stored} bytes of data (tensors sharing data)")


def load_untrusted(path: str | Path, safe_globals: list = ()):
    """What ``torch.save`` wrote at ``path``, read so that nothing in the file runs or costs more
    than a bounded multiple of its size: :func:`_check_archive` first, then the weights-only
    unpickler (``safe_globals``: what else it may rebuild), then :func:`check_tensor_storage`.

    Raises
    ------
    CheckpointError
        The reason, one line, without the path (the caller names the file and what it wanted).
    """
    _check_archive(Path(path))
    try:
        with torch.serialization.safe_globals(list(safe_globals)):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  garbage bytes fail the weights-only unpickler in many ways
        raise CheckpointError(_reason(exc)) from None
    check_tensor_storage(obj)
    return obj


def read_checkpoint(path: str | Path) -> dict:
    """Load and validate a checkpoint dict; raises :class:`CheckpointError` with the reason."""
    path = Path(path)
    try:
        ck = load_untrusted(path)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not an svt-live checkpoint")
    if ck.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path}: checkpoint version {ck.get('version')} is not supported "
                              f"(this svt-live reads version {CHECKPOINT_VERSION})")
    for key, kind in (("model", dict), ("features", dict), ("decoding", dict), ("state_dict", dict),
                      ("label_scheme", str), ("meta", dict)):
        if key not in ck and key != "meta":
            raise CheckpointError(f"{path}: checkpoint lacks {key!r}")
        if not isinstance(ck.get(key, {}), kind):
            raise CheckpointError(f"{path}: checkpoint's {key!r} is not a {kind.__name__}")
    return ck


def _number(value, whole: bool) -> bool:
    return (isinstance(value, numbers.Integral if whole else numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def check_model_settings(name, kwargs) -> None:
    """Refuse a model a checkpoint declares unless ``name`` is registered and every constructor
    argument is one it takes, within :data:`MODEL_LIMITS`; raises ``ValueError``."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    if not isinstance(kwargs, dict):
        raise ValueError("model settings are not a dict")
    takes = inspect.signature(MODELS[name]).parameters
    for key, value in kwargs.items():
        limits = MODEL_LIMITS.get(key)
        if key not in takes or limits is None:
            raise ValueError(f"model {name!r} takes no setting {key!r}")
        if isinstance(takes[key].default, bool):
            ok = isinstance(value, bool)
        elif len(limits) == 4:
            ok = (isinstance(value, (list, tuple)) and limits[0] <= len(value) <= limits[1]
                  and all(_number(v, True) and limits[2] <= v <= limits[3] for v in value))
        else:
            whole = isinstance(takes[key].default, int)
            ok = _number(value, whole) and limits[0] <= value <= limits[1]
        if not ok:
            within = "true or false" if isinstance(takes[key].default, bool) else f"within {limits}"
            raise ValueError(f"model setting {key} must be {within}, got {value!r}")


def check_decoding(d) -> None:
    """Refuse decoding settings outside :data:`DECODING_LIMITS`; raises ``ValueError``."""
    for key, (lo, hi) in DECODING_LIMITS.items():
        if key in d and not (_number(d[key], isinstance(lo, int)) and lo <= d[key] <= hi):
            raise ValueError(f"decoding setting {key} must be a {'whole' if isinstance(lo, int) else 'finite'} "
                             f"number from {lo} to {hi}, got {d[key]!r}")


def _build(name: str, kwargs: dict, state_dict: dict) -> torch.nn.Module:
    """The network, built for real only once its meta-device twin has exactly the file's weight shapes."""
    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in build_model(name, **kwargs).state_dict().items()}
    given = {k: tuple(v.shape) for k, v in state_dict.items() if isinstance(v, torch.Tensor)}
    if shapes != given:
        wrong = sorted(k for k in shapes.keys() | given.keys() if shapes.get(k) != given.get(k))
        raise ValueError(f"size mismatch: the weights do not fit the declared model ({', '.join(wrong[:3])})")
    bad = nonfinite(state_dict)
    if bad:
        raise ValueError(f"weights {', '.join(bad[:3])} hold NaN or infinite values (a diverged training run)")
    model = build_model(name, **kwargs)
    model.load_state_dict(state_dict)
    return model


def load_model(name_or_path: str | Path | None = None, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a bundled model by name (default: the shipped default) or a checkpoint file."""
    path = resolve(name_or_path)
    ck = read_checkpoint(path)
    try:
        decoding = ck["decoding"]
        check_decoding(decoding)
        features = FeatureConfig.from_dict(ck["features"])
        name, kwargs = ck["model"].get("name"), ck["model"].get("kwargs", {})
        check_model_settings(name, kwargs)
        if kwargs.get("n_mels", features.n_mels) != features.n_mels:
            raise ValueError(f"model expects {kwargs['n_mels']} mel bands, features give {features.n_mels}")
        if MODELS[name].label_scheme != ck["label_scheme"]:
            raise ValueError(f"label scheme {ck['label_scheme']!r} does not match model {name!r}")
        model = _build(name, kwargs, ck["state_dict"])
        decoding = DecodeParams.from_dict(decoding)
    except (ValueError, TypeError, KeyError, AttributeError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: incompatible checkpoint ({_reason(exc)})") from None
    model.to(device).eval()
    source = path.stem if path.parent == WEIGHTS_DIR else str(path)
    return LoadedModel(model, features, decoding, ck.get("meta", {}), name, source)
