"""Training configs: TOML files read into a validated :class:`TrainConfig`.

Conventions
-----------
- A config is a TOML file whose top-level keys are :class:`TrainConfig`'s fields; any other key is
  refused, naming the file that holds it.
- ``base = "other.toml"`` names a config this one builds on: a path relative to the folder of the
  file that names it. The base's settings come first and the file's own keys replace them whole (a
  table or a list given here replaces the base's, it is not merged). A base may have a base of its
  own, up to :data:`MAX_BASE_DEPTH` files deep; a chain that comes back to a file it has passed is
  refused.
- A config (or base) must be a regular file of at most :data:`MAX_CONFIG_BYTES` (not a device, a
  FIFO or a folder), its values nested at most as deep as the TOML reader recurses.
- ``data_root`` (where the data specs' relative paths start) given as a relative path is taken
  from the folder of the file that sets it, so a config works from any working folder; ``~`` is
  expanded. Left unset, it is ``../shared/data`` from the working folder.
- Values are checked once the chain is merged, so a base may leave out what its users give.
- Every refusal is a one-line ``ValueError`` (``FileNotFoundError`` for a missing file) that names
  the file at fault.
"""
from __future__ import annotations

import inspect
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

from svt_live.engine.decode import DecodeParams


@dataclass
class TrainConfig:
    """Everything ``svt-train fit`` needs; loaded from TOML."""

    model: str = "base_cnn_mini"
    model_kwargs: dict = field(default_factory=dict)
    train: list = field(default_factory=list)  # data specs, see datasets.load_set
    valid: list = field(default_factory=list)
    data_root: str = "../shared/data"
    epochs: int = 30
    batch_size: int = 8
    segment_frames: int = 250
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    select_measure: str = "COnP"
    augment: dict = field(default_factory=dict)
    features: dict = field(default_factory=dict)
    init_from: str | list = ""  # checkpoint (bundled name or path) whose weights start a fresh run; a list:
    # the average of their weights (same model and size; batch norm re-estimated on the training segments)
    fixed_decoding: dict = field(default_factory=dict)  # decoding settings the final tuning keeps as given
    pitch_shifts: list = field(default_factory=list)  # semitones of tape-speed copies of the training songs
    swa_from: int = 0  # first epoch (1-based) whose weights enter the running average; 0: no averaging
    teachers: list = field(default_factory=list)  # checkpoints whose averaged posteriors the model also learns
    teacher_weight: float = 0.5  # share of the teachers' loss in the total (0-1)
    teacher_source: str = "batch"  # "batch": teachers run on each augmented batch (same features as the model);
    # "cached": their posteriors computed once per training song from its clean audio, own features (teacher.py)
    description: str = ""  # one line, stored in the checkpoint, shown by `svt-live --list-models`
    select_per_set: bool = False  # selection and tuning: the mean over validation sets of each set's
    # per-song mean F1 (every set weighs the same), instead of the mean over all validation songs

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """The config at ``path`` with its ``base`` chain merged in, validated."""
        d = read_settings(path)
        bad = set(d.get("fixed_decoding", {})) - set(DecodeParams.__dataclass_fields__)
        if bad:
            raise ValueError(f"{path}: fixed_decoding has unknown decoding settings {sorted(bad)}")
        shifts = d.get("pitch_shifts", [])
        if not isinstance(shifts, list) or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and x != 0 and abs(x) <= 12 for x in shifts):
            raise ValueError(f"{path}: pitch_shifts must be non-zero semitones within +-12, got {shifts!r}")
        aug = d.get("augment", {})
        share = aug.get("band_share", 0.0)
        if not (isinstance(share, (int, float)) and not isinstance(share, bool) and 0 <= share <= 1):
            raise ValueError(f"{path}: augment.band_share must be a probability in [0, 1], got {share!r}")
        if share and not aug.get("background_db"):
            raise ValueError(f"{path}: augment.band_share needs background_db (the level the band is mixed at)")
        init = d.get("init_from", "")
        if not (isinstance(init, str) or isinstance(init, list) and init and all(
                isinstance(x, str) and x for x in init)):
            raise ValueError(f"{path}: init_from must be a checkpoint, or a list of checkpoints to average")
        epochs = d.get("epochs", cls.epochs)
        if not (isinstance(epochs, int) and not isinstance(epochs, bool) and epochs >= 0) or not (epochs or init):
            raise ValueError(f"{path}: epochs must be a whole number >= 1 (0 only with init_from: "
                             f"the initial weights are then validated, tuned and saved), got {epochs!r}")
        swa = d.get("swa_from", 0)
        if not (isinstance(swa, int) and not isinstance(swa, bool) and 0 <= swa <= d.get("epochs", cls.epochs)):
            raise ValueError(f"{path}: swa_from must be an epoch between 1 and epochs (0: off), got {swa!r}")
        teachers, weight = d.get("teachers", []), d.get("teacher_weight", cls.teacher_weight)
        if not (isinstance(teachers, list) and all(isinstance(t, str) and t for t in teachers)):
            raise ValueError(f"{path}: teachers must be a list of checkpoint paths or bundled model names")
        if not (isinstance(weight, (int, float)) and not isinstance(weight, bool) and 0 <= weight <= 1):
            raise ValueError(f"{path}: teacher_weight must be between 0 and 1, got {weight!r}")
        if d.get("teacher_source", cls.teacher_source) not in TEACHER_SOURCES:
            raise ValueError(f"{path}: teacher_source must be one of {', '.join(TEACHER_SOURCES)}, "
                             f"got {_shown(d['teacher_source'])}")
        if not isinstance(d.get("description", ""), str) or "\n" in d.get("description", ""):
            raise ValueError(f"{path}: description must be one line of text")
        if not isinstance(d.get("select_per_set", False), bool):
            raise ValueError(f"{path}: select_per_set must be true or false")
        check_values(d, path)
        return cls(**d)


MAX_CONFIG_BYTES = 1 << 20  # the configs in configs/ are under 4 KB
MAX_BASE_DEPTH = 32  # files in a base chain (configs/ uses 3)
DATA_KINDS = ("mir_st500", "ssvd", "vocadito", "folder", "mir1k")  # what datasets.load_groups reads
TEACHER_SOURCES = ("batch", "cached")  # where a teacher's posteriors come from, see TrainConfig
MEASURES = ("COnPOff", "COnP", "COn")  # svt_live.evaluate's, without importing mir_eval here
# (lowest, highest, whole number) of each numeric setting
RANGES = {"epochs": (0, 100_000, True), "batch_size": (1, 4096, True), "segment_frames": (1, 100_000, True),
          "lr": (1e-12, 10.0, False), "weight_decay": (0.0, 10.0, False), "seed": (0, 2**32 - 1, True),
          "teacher_weight": (0.0, 1.0, False)}
TABLES = ("model_kwargs", "augment", "features", "fixed_decoding")


def _number(value, whole: bool) -> bool:
    return (isinstance(value, int if whole else (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_values(d: dict, path: str | Path) -> None:
    """Refuse, before any work, a setting of the wrong type or outside its range (:data:`RANGES`),
    an empty ``train`` or ``valid`` list or a data spec without a known ``kind`` and a ``path``, an
    unknown model, model setting, feature setting, decoding value or augmentation key; raises a
    one-line ``ValueError`` naming ``path`` and the setting."""
    from svt_live.engine.checkpoint import check_decoding, check_model_settings
    from svt_live.engine.features import FeatureConfig

    from .augment import Augment

    def fail(what: str):
        raise ValueError(f"{path}: {what}")

    for key, (lo, hi, whole) in RANGES.items():
        if key in d and not (_number(d[key], whole) and lo <= d[key] <= hi):
            fail(f"{key} must be a {'whole' if whole else 'finite'} number from {lo} to {hi}, got {_shown(d[key])}")
    for key in TABLES:
        if not isinstance(d.get(key, {}), dict):
            fail(f"{key} must be a table {{name = value, ...}}, got {_shown(d[key])}")
    for key in ("train", "valid"):
        specs = d.get(key, [])
        if not (isinstance(specs, list) and specs):
            fail(f"{key} must be a non-empty list of data specs {{ kind = ..., path = ... }}")
        for spec in specs:
            if not (isinstance(spec, dict) and spec.get("kind") in DATA_KINDS and isinstance(spec.get("path"), str)
                    and spec["path"]):
                fail(f"each {key} spec needs kind (one of {', '.join(DATA_KINDS)}) and a path, got {_shown(spec)}")
    for key in ("data_root", "model", "select_measure"):
        if key in d and not isinstance(d[key], str):
            fail(f"{key} must be text, got {_shown(d[key])}")
    if d.get("select_measure", "COnP") not in MEASURES:
        fail(f"select_measure must be one of {', '.join(MEASURES)}, got {_shown(d['select_measure'])}")
    try:
        check_model_settings(d.get("model", TrainConfig.model), d.get("model_kwargs", {}))
        FeatureConfig.from_dict(d.get("features", {}))
        check_decoding(d.get("fixed_decoding", {}))
    except (ValueError, TypeError) as exc:
        fail(str(exc))
    takes = set(inspect.signature(Augment).parameters) - {"backgrounds", "band", "frame_seconds"}
    for key, value in d.get("augment", {}).items():
        if key not in takes:
            fail(f"unknown augmentation {key!r} (known: {', '.join(sorted(takes))})")
        values = value if isinstance(value, list) else [value]
        if not all(_number(v, key == "freq_mask") and v >= 0 or key.endswith("_db") and _number(v, False)
                   for v in values) or key == "p" and not (_number(value, False) and 0 <= value <= 1):
            fail(f"augment.{key} must be {'a probability' if key == 'p' else 'numbers'}, got {_shown(value)}")


def read_settings(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict:
    """The settings of the config at ``path``, its ``base`` chain merged in (not yet validated).

    Parameters
    ----------
    path : str or Path
        A TOML config.

    Returns
    -------
    dict
        ``{setting: value}``: the base's settings updated with the file's own (``base`` itself removed).

    Raises
    ------
    FileNotFoundError
        ``path`` or a base does not exist.
    ValueError
        Not a regular file, bigger than :data:`MAX_CONFIG_BYTES`, not TOML (or nested deeper than the
        reader recurses), an unknown setting, a ``base`` that is not a path, a chain that loops or
        one more than :data:`MAX_BASE_DEPTH` files deep.
    """
    path = Path(path)
    here = path.resolve()
    if here in _chain:
        names = " -> ".join(p.name for p in (*_chain, here))
        raise ValueError(f"{path}: the base chain loops ({names})")
    if len(_chain) >= MAX_BASE_DEPTH:
        raise ValueError(f"{path}: the base chain is more than {MAX_BASE_DEPTH} files deep")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block, /dev/zero never end
            raise ValueError(f"{path}: not a regular file (a config is a TOML file)")
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise ValueError(f"{path}: more than {MAX_CONFIG_BYTES} bytes: not a config")
        d = tomllib.loads(data.decode("utf-8"))
    except OSError as exc:
        raise FileNotFoundError(f"{path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a valid TOML config (not UTF-8 text at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not a valid TOML config ({exc})") from None
    except RecursionError:
        raise ValueError(f"{path}: not a valid TOML config (values nested too deep)") from None
    unknown = set(d) - set(TrainConfig.__dataclass_fields__) - {"base"}
    if unknown:
        raise ValueError(f"{path}: unknown settings {sorted(unknown)}")
    if isinstance(d.get("data_root"), str) and d["data_root"]:
        d["data_root"] = str(path.parent / Path(d["data_root"]).expanduser())  # kept as is when absolute
    if "base" not in d:
        return d
    base = d.pop("base")
    if not (isinstance(base, str) and base):
        raise ValueError(f"{path}: base must be the path of another config, relative to {path.parent}")
    return {**read_settings(path.parent / base, (*_chain, here)), **d}
