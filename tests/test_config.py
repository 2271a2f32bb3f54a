"""Training configs: ``base`` chains, their refusals, and every committed config."""
import json
from pathlib import Path

import pytest

from svt_live.models import build_model
from svt_train.cli import main
from svt_train.config import TrainConfig, read_settings

CONFIGS = Path(__file__).parents[1] / "configs"
DATA = 'train = [{ kind = "folder", path = "a" }]\nvalid = [{ kind = "folder", path = "v" }]\n'


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_base_settings_come_first_and_own_keys_replace_them_whole(tmp_path):
    write(tmp_path / "common.toml", 'model = "singing_crnn"\nepochs = 12\nlr = 1e-3\n'
          'augment = { gain_db = 6.0, freq_mask = 16 }\n' + DATA)
    stage = write(tmp_path / "stage.toml", 'base = "common.toml"\nlr = 5e-4\naugment = { gain_db = 3.0 }\n')
    cfg = TrainConfig.load(stage)
    assert (cfg.model, cfg.epochs, cfg.lr) == ("singing_crnn", 12, 5e-4)
    assert cfg.augment == {"gain_db": 3.0}  # a table replaces the base's, it is not merged
    assert cfg.train == [{"kind": "folder", "path": "a"}]
    assert "base" not in read_settings(stage)


def test_base_is_relative_to_the_folder_of_the_file_naming_it_and_chains(tmp_path, monkeypatch):
    write(tmp_path / "shared" / "data.toml", DATA + "seed = 3\n")
    write(tmp_path / "shared" / "recipe.toml", 'base = "data.toml"\nseed = 4\nepochs = 5\n')
    stage = write(tmp_path / "stages" / "one.toml", 'base = "../shared/recipe.toml"\nepochs = 6\n')
    monkeypatch.chdir(tmp_path / "shared")  # not the working directory
    cfg = TrainConfig.load(Path("..") / "stages" / "one.toml")
    assert (cfg.valid, cfg.seed, cfg.epochs) == ([{"kind": "folder", "path": "v"}], 4, 6)
    assert TrainConfig.load(stage) == cfg


def test_values_are_checked_after_merging(tmp_path):
    write(tmp_path / "common.toml", "epochs = 4\n" + DATA)
    stage = write(tmp_path / "stage.toml", 'base = "common.toml"\nswa_from = 5\n')
    with pytest.raises(ValueError, match=r"stage.toml: swa_from must be an epoch between 1 and epochs"):
        TrainConfig.load(stage)


@pytest.mark.parametrize("files, message", [
    ({"a.toml": 'base = "b.toml"\n', "b.toml": 'base = "a.toml"\n'},
     r"the base chain loops \(a.toml -> b.toml -> a.toml\)"),
    ({"a.toml": 'base = "a.toml"\n'}, r"the base chain loops \(a.toml -> a.toml\)"),
    ({"a.toml": 'base = "gone.toml"\n'}, r"gone.toml: No such file or directory"),
    ({"a.toml": "base = 3\n"}, "base must be the path of another config"),
    ({"a.toml": 'base = ""\n'}, "base must be the path of another config"),
    ({"a.toml": 'base = "b.toml"\n', "b.toml": "epoch = 3\n"}, r"b.toml: unknown settings \['epoch'\]"),
    ({"a.toml": 'base = "b.toml"\n', "b.toml": "epochs = \n"}, r"b.toml: not a valid TOML config"),
])
def test_bad_chains_are_refused_in_one_line(tmp_path, capsys, files, message):
    for name, text in files.items():
        write(tmp_path / name, text)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        TrainConfig.load(tmp_path / "a.toml")
    assert main(["fit", str(tmp_path / "a.toml"), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("svt-train: error:") and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_svt_train_checks_the_data_folders_a_base_names(tmp_path, capsys):
    write(tmp_path / "common.toml", f'data_root = "{tmp_path.as_posix()}"\n'
          'train = [{ kind = "folder", path = "missing" }]\nvalid = [{ kind = "folder", path = "missing" }]\n')
    stage = write(tmp_path / "stage.toml", 'base = "common.toml"\nepochs = 1\n')
    assert main(["fit", str(stage), "--out", str(tmp_path / "run")]) == 2
    assert f"data folder {tmp_path / 'missing'} does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("path", sorted(CONFIGS.rglob("*.toml")), ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_every_committed_config_validates_and_builds_its_model(path):
    cfg = TrainConfig.load(path)
    model = build_model(cfg.model, **cfg.model_kwargs)
    assert cfg.train and cfg.valid and (cfg.epochs > 0 or cfg.init_from)
    assert sum(p.numel() for p in model.parameters()) > 0


def test_shipped_recipes_sit_at_the_top_and_stage_chains_below():
    top = {p.name for p in CONFIGS.glob("*.toml")}
    assert {"base_cnn_mini.toml", "singing_crnn.toml", "singing_crnn_live.toml"} <= top
    assert not any(name.startswith("singing_crnn_v") for name in top)
    assert (CONFIGS / "stages" / "singing_crnn_v18.toml").exists()


def test_fit_trains_from_a_config_that_names_a_base(tmp_path):
    from synth import tiny_training_setup

    from svt_train.fit import fit

    base = tiny_training_setup(tmp_path)
    stage = write(tmp_path / "stages" / "one.toml", f'base = "../{base.name}"\nepochs = 1\n')
    best = fit(stage, tmp_path / "run", cache_dir=tmp_path / "cache", device="cpu")
    assert best.exists() and len(json.loads((tmp_path / "run" / "history.json").read_text())) == 1


def test_relative_data_root_is_taken_from_the_file_that_sets_it(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "common.toml", 'data_root = "data"\n' + DATA)
    write(tmp_path / "sub" / "own.toml", 'base = "../common.toml"\n')
    write(tmp_path / "sub" / "mine.toml", 'data_root = "../elsewhere"\n' + DATA)
    monkeypatch.chdir("/")
    assert Path(TrainConfig.load(tmp_path / "sub" / "own.toml").data_root).resolve() == tmp_path / "data"
    assert Path(TrainConfig.load(tmp_path / "sub" / "mine.toml").data_root).resolve() == tmp_path / "elsewhere"
    write(tmp_path / "abs.toml", f'data_root = "{tmp_path.as_posix()}/x"\n' + DATA)
    assert TrainConfig.load(tmp_path / "abs.toml").data_root == f"{tmp_path.as_posix()}/x"


def test_shipped_configs_find_the_shared_data_from_any_folder(monkeypatch):
    monkeypatch.chdir("/")
    for name in ("singing_crnn", "singing_crnn_live", "base_cnn_mini"):
        cfg = TrainConfig.load(CONFIGS / f"{name}.toml")
        assert Path(cfg.data_root).resolve() == (CONFIGS.parents[1] / "shared" / "data").resolve()
    assert Path(TrainConfig.load(CONFIGS / "stages" / "singing_crnn_f0.toml").data_root).resolve() == (
        CONFIGS.parents[1] / "shared" / "data").resolve()
