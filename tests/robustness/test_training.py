"""``svt-train fit`` given bad configs, a diverging run and file-system faults: one line and a non-zero
exit before any work, a clear stop instead of NaN weights saved as ``best.pt``, and no partial file
left in the feature cache."""
import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import synth
import torch

from svt_live.engine.checkpoint import WEIGHTS_DIR as WEIGHTS
from svt_train.cli import main as train_main

from .helpers import case

CONFIG = "exit 2, one line naming the setting, before any work (no output folder, no cache)"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    return root, synth.tiny_training_setup(root)


def said(err: str) -> list[str]:
    """svt-train's own lines in ``err`` (a progress bar left open may precede one on its line)."""
    return ["svt-train: " + part for line in err.splitlines() for part in line.split("svt-train: ")[1:]]


def with_settings(config, path, **lines):
    """``config`` with the settings in ``lines`` (TOML right-hand sides) replaced or added, at ``path``."""
    kept = [line for line in config.read_text().splitlines() if line.split(" =")[0] not in lines]
    path.write_text("\n".join(kept + [f"{k} = {v}" for k, v in lines.items()]) + "\n")
    return path


def train(argv, capsys) -> tuple[int, list[str]]:
    rc = train_main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return rc, said(err)


def entry(argv, monkeypatch, capsys) -> tuple[int, list[str]]:
    """``svt-train argv`` as its console script runs it (file-system errors are handled there)."""
    from svt_train.entry import main

    monkeypatch.setattr(sys, "argv", ["svt-train", *map(str, argv)])
    rc = main()
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return rc, said(err)


@pytest.mark.parametrize("setting, value, says", [
    case("batch size 0", "batch_size", "0", "batch_size", category="training", expected=CONFIG),
    case("learning rate that is not a number", "lr", '"fast"', "lr", category="training", expected=CONFIG),
    case("learning rate inf", "lr", "inf", "lr", category="training", expected=CONFIG),
    case("learning rate nan", "lr", "nan", "lr", category="training", expected=CONFIG),
    case("empty train list", "train", "[]", "train", category="training", expected=CONFIG),
    case("empty valid list", "valid", "[]", "valid", category="training", expected=CONFIG),
    case("data spec of an unknown kind", "train", '[{ kind = "tape", path = "x" }]', "kind", category="training",
         expected=CONFIG),
    case("unknown augmentation key", "augment", "{ wobble = 1 }", "wobble", category="training", expected=CONFIG),
    case("augmentation probability 2", "augment", "{ p = 2.0 }", "augment.p", category="training",
         expected=CONFIG),
    case("segment of 0 frames", "segment_frames", "0", "segment_frames", category="training", expected=CONFIG),
    case("negative weight decay", "weight_decay", "-1.0", "weight_decay", category="training", expected=CONFIG),
    case("unknown selection measure", "select_measure", '"F1"', "select_measure", category="training",
         expected=CONFIG),
    case("model of 10^8 hidden units", "model_kwargs", "{ hidden = 100000000 }", "hidden", category="training",
         expected=CONFIG),
    case("features that are not a table", "features", '"mel"', "features", category="training", expected=CONFIG),
    case("sample rate of 10^12 Hz", "features", "{ sample_rate = 1000000000000 }", "sample_rate",
         category="training", expected=CONFIG),
    case("fixed min_note_frames = -5", "fixed_decoding", "{ min_note_frames = -5 }", "min_note_frames",
         category="training", expected=CONFIG),
    case("negative seed", "seed", "-1", "seed", category="training", expected=CONFIG),
])
def test_bad_config_values(setting, value, says, tiny, tmp_path, capsys, robust):
    root, config = tiny
    bad = with_settings(config, tmp_path / "bad.toml", **{setting: value})
    rc, lines = train(["fit", bad, "--out", tmp_path / "run", "--cache", tmp_path / "cache"], capsys)
    robust(f"exit {rc}" + "".join(f"; `{line}`" for line in lines))
    assert rc == 2 and len(lines) == 1 and "bad.toml: " in lines[0] and says in lines[0]
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache").exists()


@pytest.mark.robustness("training", "exit 2, one line saying the loss is nan; no best.pt written",
                        case="the loss turns NaN (weights of 10^30 to start from)")
def test_nan_loss_stops_training(tiny, tmp_path, capsys, robust):
    root, config = tiny
    ck = torch.load(WEIGHTS / "base_cnn_mini.pt", weights_only=True)
    ck["state_dict"] = {k: v * 1e30 if v.is_floating_point() and "running" not in k else v
                        for k, v in ck["state_dict"].items()}
    torch.save(ck, tmp_path / "huge.pt")
    cfg = with_settings(config, tmp_path / "c.toml", epochs="1", init_from=f'"{(tmp_path / "huge.pt").as_posix()}"')
    rc, lines = train(["fit", cfg, "--out", tmp_path / "run", "--cache", root / "cache", "--device", "cpu"], capsys)
    robust(f"exit {rc}" + "".join(f"; `{line}`" for line in lines))
    assert rc == 2 and len(lines) == 1 and "loss is nan" in lines[0]
    assert not (tmp_path / "run" / "best.pt").exists()


@pytest.mark.parametrize("where", [
    case("--out names a file", "out", category="training", expected="exit 1, one line naming the path"),
    case("--cache inside a file (a cache that cannot be written)", "cache", category="training",
         expected="exit 1, one line naming the path"),
])
def test_file_system_errors(where, tiny, tmp_path, monkeypatch, capsys, robust):
    root, config = tiny
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out, cache = (blocker, root / "cache") if where == "out" else (tmp_path / "run", blocker / "cache")
    rc, lines = entry(["fit", config, "--out", out, "--cache", cache, "--device", "cpu"], monkeypatch, capsys)
    robust(f"exit {rc}" + "".join(f"; `{line}`" for line in lines))
    assert rc == 1 and len(lines) == 1 and str(blocker) in lines[0]


@pytest.mark.robustness("training", "exit 1, one line naming the cache folder in the home folder",
                        case="home folder that cannot be written (the default cache lives there)")
def test_unwritable_home(tiny, tmp_path, robust):
    root, config = tiny
    (tmp_path / "file").write_text("x")
    env = {k: v for k, v in os.environ.items() if k != "SVT_CACHE"}
    env.update(HOME=str(tmp_path / "file" / "home"), MPLCONFIGDIR=str(tmp_path / "mpl"))
    p = subprocess.run([sys.executable, "-c", "import sys; from svt_train.entry import main; sys.exit(main())",
                        "fit", str(config), "--out", str(tmp_path / "run"), "--device", "cpu"],
                       env=env, capture_output=True, text=True, timeout=300)
    lines = said(p.stderr)
    robust(f"exit {p.returncode}" + "".join(f"; `{line}`" for line in lines))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert len(lines) == 1 and str(tmp_path / "file" / "home") in lines[0]


@pytest.mark.robustness("training", "the error propagates as one line (exit 1); no partial or temporary file "
                                    "in the cache", case="the feature cache fills up while an entry is written")
def test_full_cache_leaves_no_partial_files(tiny, tmp_path, monkeypatch, capsys, robust):
    root, config = tiny
    savez = np.savez

    def half_then_full(file, **arrays):  # writes half the entry, then the disk is full
        import io

        buffer = io.BytesIO()
        savez(buffer, **arrays)
        data = buffer.getvalue()[:len(buffer.getvalue()) // 2]
        file.write(data) if hasattr(file, "write") else Path(file).write_bytes(data)
        raise OSError(errno.ENOSPC, "No space left on device", str(getattr(file, "name", file)))

    monkeypatch.setattr(np, "savez", half_then_full)
    rc, lines = entry(["fit", config, "--out", tmp_path / "run", "--cache", tmp_path / "cache", "--device", "cpu"],
                      monkeypatch, capsys)
    left = sorted(p.name for p in (tmp_path / "cache").iterdir())
    robust(f"exit {rc}; `{lines[0] if lines else ''}`; cache holds {left or 'nothing'}")
    assert rc == 1 and len(lines) == 1 and "No space left on device" in lines[0]
    assert not [name for name in left if ".tmp" in name]
    assert not [name for name in left if name.endswith(".npz")]  # no labels file without its features, either
