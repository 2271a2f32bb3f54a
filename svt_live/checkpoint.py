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
"""
from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from .decode import DecodeParams
from .features import FeatureConfig
from .models import MODELS, build_model

CHECKPOINT_FORMAT = "svt-live-checkpoint"
CHECKPOINT_VERSION = 1
WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_MODEL = "singing_crnn"


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
    """Write a self-describing checkpoint (atomically: temp file, then rename)."""
    from .annotations import atomic_write

    name = next(k for k, v in MODELS.items() if isinstance(model, v))
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model": {"name": name, "kwargs": dict(model_kwargs)},
        "label_scheme": model.label_scheme,
        "features": features.to_dict(),
        "decoding": decoding.to_dict(),
        "lookahead_frames": int(model.lookahead),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": meta or {},
    }
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def _reason(exc: BaseException) -> str:
    """The first sentence of an exception's message on one line (torch's messages run to paragraphs)."""
    return " ".join(str(exc).split()).split(". ")[0][:240] or exc.__class__.__name__  # EOFError: no message


def read_checkpoint(path: str | Path) -> dict:
    """Load and validate a checkpoint dict; raises :class:`CheckpointError` with the reason."""
    path = Path(path)
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError,
            KeyError, IndexError) as exc:  # garbage bytes fail the weights-only unpickler in all these ways
        raise CheckpointError(f"{path}: not a readable checkpoint ({_reason(exc)})") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not an svt-live checkpoint")
    if ck.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path}: checkpoint version {ck.get('version')} is not supported "
                              f"(this svt-live reads version {CHECKPOINT_VERSION})")
    for key in ("model", "features", "decoding", "state_dict", "label_scheme"):
        if key not in ck:
            raise CheckpointError(f"{path}: checkpoint lacks {key!r}")
    return ck


def load_model(name_or_path: str | Path | None = None, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a bundled model by name (default: the shipped default) or a checkpoint file."""
    path = resolve(name_or_path)
    ck = read_checkpoint(path)
    try:
        features = FeatureConfig.from_dict(ck["features"])
        model = build_model(ck["model"]["name"], **ck["model"]["kwargs"])
        if model.label_scheme != ck["label_scheme"]:
            raise ValueError(f"label scheme {ck['label_scheme']!r} does not match model {ck['model']['name']!r}")
        if getattr(model, "n_mels", features.n_mels) != features.n_mels:
            raise ValueError(f"model expects {model.n_mels} mel bands, features give {features.n_mels}")
        model.load_state_dict(ck["state_dict"])
        decoding = DecodeParams.from_dict(ck["decoding"])
    except (ValueError, TypeError, KeyError, AttributeError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: incompatible checkpoint ({_reason(exc)})") from None
    model.to(device).eval()
    source = path.stem if path.parent == WEIGHTS_DIR else str(path)
    return LoadedModel(model, features, decoding, ck.get("meta", {}), ck["model"]["name"], source)
