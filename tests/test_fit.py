"""A tiny real training run: fit on synthetic songs, evaluate the checkpoint, resume."""
import json

import numpy as np
import pytest
import torch
from synth import tiny_training_setup

from svt_live.engine.checkpoint import load_model
from svt_live.models import build_model
from svt_train.cli import main
from svt_train.fit import TrainConfig, fit, init_weights


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("fit")
    config = tiny_training_setup(root)
    config.write_text(config.read_text() + 'description = "a tiny test model"\n')
    out = root / "run"
    best = fit(config, out, epochs=2, cache_dir=root / "cache", device="cpu")
    return root, config, out, best


def test_fit_writes_best_last_and_history(trained):
    root, config, out, best = trained
    assert best == out / "best.pt"
    assert {p.name for p in out.iterdir()} >= {"best.pt", "last.pt", "history.json", "curves.png"}
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[1]["train"]["total_loss"] < history[0]["train"]["total_loss"]
    assert set(history[0]["train"]) >= {"total_loss", "onset_f1", "octave_acc", "pitch_class_acc"}
    lm = load_model(best)
    assert lm.name == "base_cnn_mini"
    assert "tuned_valid_f1" in lm.meta  # finalize() ran the fine threshold search
    assert lm.meta["description"] == "a tiny test model"


def test_eval_cli_prints_a_table(trained, capsys):
    root, config, out, best = trained
    preds = root / "preds.json"
    rc = main(["eval", str(best), "--set", str(root / "train"), "--json", str(preds), "--device", "cpu"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "COnPOff P/R/F1" in text and "mean/song" in text and "pooled" in text
    assert "onset tolerance 50 ms" in text and "onset tolerance 100 ms" in text
    for song in ("a", "b", "c"):
        assert any(line.startswith(song + " ") for line in text.splitlines())
    assert set(json.loads(preds.read_text())) == {"a", "b", "c"}


def test_eval_cli_reports_bad_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    assert main(["eval", str(bad), "--set", str(tmp_path)]) == 2
    assert "svt-train: error:" in capsys.readouterr().err


def test_resume_continues_from_last(trained, capsys):
    root, config, out, best = trained
    capsys.readouterr()
    fit(config, out, resume=True, epochs=3, cache_dir=root / "cache", device="cpu")
    assert f"resumed from {out / 'last.pt'} at epoch 2" in capsys.readouterr().out
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    import torch
    assert torch.load(out / "last.pt", weights_only=True)["epoch"] == 3


def test_resume_reads_the_last_pt_that_earlier_versions_wrote(trained, tmp_path, capsys):
    """A run started before last.pt held only tensors (numpy's legacy random state, numpy scalars)."""
    root, config, out, best = trained
    state = torch.load(out / "last.pt", weights_only=True)
    state["numpy_rng"], state["best_score"] = np.random.get_state(), np.float64(state["best_score"])
    (tmp_path / "run").mkdir()
    torch.save(state, tmp_path / "run" / "last.pt")
    fit(config, tmp_path / "run", resume=True, epochs=state["epoch"] + 1, cache_dir=root / "cache", device="cpu")
    assert f"at epoch {state['epoch']}" in capsys.readouterr().out
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["epoch"] == state["epoch"] + 1


def test_config_rejects_unknown_settings(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('model = "base_cnn_mini"\nepoch = 3\n')
    with pytest.raises(ValueError, match=r"unknown settings \['epoch'\]"):
        TrainConfig.load(cfg)


def test_init_from_starts_a_fresh_run_from_a_checkpoint_with_every_augmentation(trained, capsys, monkeypatch):
    root, config, out, best = trained
    monkeypatch.setattr("svt_train.fit.BAND_CLIPS", 2)  # two 1 s generated band excerpts, not 120 of 10 s
    monkeypatch.setattr("svt_train.fit.BAND_SECONDS", 1.0)
    cfg = root / "init.toml"
    # 0.2 s segments: the tiny songs' note-free tails hold whole windows to mix in
    cfg.write_text(config.read_text().replace("epochs = 2", "epochs = 1")
                   .replace("segment_frames = 50", "segment_frames = 10")
                   + f'init_from = "{best.as_posix()}"\n'
                   + 'augment = { background_db = [-10.0, 0.0], reverb_s = [0.3, 1.0], band_share = 0.5 }\n'
                   + 'pitch_shifts = [1.5]\n')
    capsys.readouterr()
    fit(cfg, root / "run_init", cache_dir=root / "cache", device="cpu")
    text = capsys.readouterr().out
    assert f"initialised from {best.as_posix()}" in text and "resumed" not in text
    history = json.loads((root / "run_init" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1]
    first_run = json.loads((out / "history.json").read_text())
    # starting from trained weights: the first epoch's loss is below the first run's first epoch
    assert history[0]["train"]["total_loss"] < first_run[0]["train"]["total_loss"]
    # the train songs, the valid song, one copy per train song
    assert len(list((root / "cache").glob("*.mel.npy"))) == 3 + 1 + 3
    assert len(list((root / "cache").glob("*.band.npy"))) == 1


def test_swa_averages_every_epoch_from_swa_from_and_resumes_the_average(trained, capsys):
    root, config, out, best = trained
    cfg = root / "swa.toml"
    cfg.write_text(config.read_text() + "swa_from = 1\n")
    capsys.readouterr()
    fit(cfg, root / "run_swa", cache_dir=root / "cache", device="cpu")
    text = capsys.readouterr().out
    assert "weights averaged over epochs 1-2: valid COnP F1" in text
    assert int(torch.load(root / "run_swa" / "last.pt", weights_only=True)["swa"]["n_averaged"]) == 2
    fit(cfg, root / "run_swa", resume=True, epochs=3, cache_dir=root / "cache", device="cpu")
    assert "weights averaged over epochs 1-3" in capsys.readouterr().out
    assert int(torch.load(root / "run_swa" / "last.pt", weights_only=True)["swa"]["n_averaged"]) == 3
    assert load_model(root / "run_swa" / "best.pt").name == "base_cnn_mini"


def test_epochs_0_validates_tunes_and_saves_the_weight_average_of_init_from(trained, tmp_path, capsys):
    from svt_live.engine.checkpoint import save_checkpoint

    root, config, out, best = trained
    lm = load_model(best)
    other = tmp_path / "other.pt"
    with torch.no_grad():
        for p in lm.model.parameters():
            p.add_(0.1)
    save_checkpoint(other, lm.model, {}, lm.features, lm.decoding)
    cfg = tmp_path / "soup.toml"
    cfg.write_text(config.read_text().replace("epochs = 2", "epochs = 0")
                   + f'init_from = ["{best.as_posix()}", "{other.as_posix()}"]\n')
    fit(cfg, tmp_path / "run", cache_dir=root / "cache", device="cpu")
    text = capsys.readouterr().out
    assert f"initialised from the weight average of {best.as_posix()}, {other.as_posix()}" in text
    assert "initial weights: valid COnP F1" in text and "epoch 1" not in text
    soup = load_model(tmp_path / "run" / "best.pt")
    assert soup.meta["epoch"] == 0 and "tuned_valid_f1" in soup.meta
    first = load_model(best).model.state_dict()
    for k, v in soup.model.state_dict().items():
        if k.endswith("weight"):  # conv, linear and batch-norm scale: the mean of the two (+0.05)
            assert torch.allclose(v, first[k] + 0.05, atol=1e-6), k
    running = [k for k in first if k.endswith("running_var")]
    assert running and all(not torch.equal(soup.model.state_dict()[k], first[k]) for k in running)


def test_only_checkpoints_of_one_model_and_size_are_averaged(trained, tmp_path):
    from svt_live.engine.checkpoint import save_checkpoint
    from svt_live.engine.decode import DecodeParams
    from svt_live.engine.features import FeatureConfig
    from svt_train.fit import average_checkpoints

    root, config, out, best = trained  # base_cnn_mini
    crnn = tmp_path / "crnn.pt"
    save_checkpoint(crnn, build_model("singing_crnn"), {}, FeatureConfig(), DecodeParams())
    with pytest.raises(ValueError, match="crnn.pt is not the same model and size"):
        average_checkpoints([str(best), str(crnn)])


@pytest.mark.parametrize("value", ["3", "-1", "true", '"last"'])
def test_config_rejects_swa_from_outside_the_epochs(tmp_path, value):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'model = "base_cnn_mini"\nepochs = 2\nswa_from = {value}\n')
    with pytest.raises(ValueError, match="swa_from must be an epoch between 1 and epochs"):
        TrainConfig.load(cfg)


def test_teachers_mix_a_distillation_loss_into_training(tmp_path, capsys):
    from svt_live.engine.checkpoint import save_checkpoint
    from svt_live.engine.decode import DecodeParams
    from svt_live.engine.features import FeatureConfig

    config = tiny_training_setup(tmp_path, model="singing_crnn")
    teacher = tmp_path / "teacher.pt"
    save_checkpoint(teacher, build_model("singing_crnn"), {}, FeatureConfig(), DecodeParams())
    cfg = tmp_path / "distill.toml"
    cfg.write_text(config.read_text().replace("epochs = 2", "epochs = 1")
                   + f'teachers = ["{teacher.as_posix()}", "{teacher.as_posix()}"]\nteacher_weight = 0.25\n')
    fit(cfg, tmp_path / "run", cache_dir=tmp_path / "cache", device="cpu")
    assert f"teachers: {teacher.as_posix()}, {teacher.as_posix()} (weight 0.25)" in capsys.readouterr().out
    train = json.loads((tmp_path / "run" / "history.json").read_text())[0]["train"]
    hard = sum(train[f"{k}_loss"] for k in ("onset", "offset", "pitch"))
    soft = sum(train[f"distill_{k}_loss"] for k in ("onset", "offset", "pitch"))
    assert train["total_loss"] == pytest.approx(0.75 * hard + 0.25 * soft, rel=1e-4)


def test_a_cached_teacher_with_other_features_trains_the_live_network(tmp_path, capsys):
    """The live network's features (40 ms window, no lookahead) learning the bundled singing_crnn
    (64 ms window): its posteriors of the clean songs are cached once, then reused by the next run."""
    config = tiny_training_setup(tmp_path, model="singing_crnn")
    cfg = tmp_path / "distill.toml"
    cfg.write_text(config.read_text().replace("epochs = 2", "epochs = 1")
                   + 'model_kwargs = { lookahead = 0 }\nfeatures = { win = 640 }\npitch_shifts = [2]\n'
                   + 'teachers = ["singing_crnn"]\nteacher_weight = 0.25\nteacher_source = "cached"\n')
    fit(cfg, tmp_path / "run", cache_dir=tmp_path / "cache", device="cpu")
    text = capsys.readouterr().out
    assert "teachers: singing_crnn (weight 0.25, posteriors of the clean songs, cached)" in text
    assert "teacher posteriors: 6 songs computed, 0 from the cache" in text  # 3 songs, a copy of each
    assert len(list((tmp_path / "cache").glob("*.soft.npy"))) == 6
    train = json.loads((tmp_path / "run" / "history.json").read_text())[0]["train"]
    hard = sum(train[f"{k}_loss"] for k in ("onset", "offset", "pitch"))
    soft = sum(train[f"distill_{k}_loss"] for k in ("onset", "offset", "pitch"))
    assert soft > 0 and train["total_loss"] == pytest.approx(0.75 * hard + 0.25 * soft, rel=1e-4)
    fit(cfg, tmp_path / "run", cache_dir=tmp_path / "cache", device="cpu", overwrite=True)
    assert "teacher posteriors: 0 songs computed, 6 from the cache" in capsys.readouterr().out


def test_a_teacher_with_other_features_needs_teacher_source_cached(tmp_path):
    config = tiny_training_setup(tmp_path, model="singing_crnn")
    cfg = tmp_path / "distill.toml"
    cfg.write_text(config.read_text() + 'features = { win = 640 }\nteachers = ["singing_crnn"]\n')
    with pytest.raises(ValueError, match='feature settings differ from the model.s; with teacher_source = "cached"'):
        fit(cfg, tmp_path / "run", cache_dir=tmp_path / "cache", device="cpu")
    cfg.write_text(config.read_text() + 'features = { hop = 160 }\nteachers = ["singing_crnn"]\n'
                   'teacher_source = "cached"\n')
    with pytest.raises(ValueError, match=r"its frames \(hop 320 samples at 16000 Hz\) are not the model's"):
        fit(cfg, tmp_path / "run", cache_dir=tmp_path / "cache", device="cpu")


def test_teachers_must_share_the_models_pitch_bins(trained, tmp_path):
    root, config, out, best = trained  # a base_cnn_mini checkpoint: octave and pitch-class heads
    cfg = tmp_path / "distill.toml"
    cfg.write_text(tiny_training_setup(tmp_path, model="singing_crnn").read_text()
                   + f'teachers = ["{best.as_posix()}"]\n')
    with pytest.raises(ValueError, match="must both be pitch-bin models"):
        fit(cfg, tmp_path / "run", cache_dir=tmp_path / "cache", device="cpu")


def test_config_rejects_unknown_fixed_decoding_setting(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('model = "base_cnn_mini"\nfixed_decoding = { min_note_frame = 2 }\n')
    with pytest.raises(ValueError, match=r"fixed_decoding has unknown decoding settings \['min_note_frame'\]"):
        TrainConfig.load(cfg)


@pytest.mark.parametrize("shifts", ["[0]", "[13]", '["up"]', "2", "[true]"])
def test_config_rejects_bad_pitch_shifts(tmp_path, shifts):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'model = "base_cnn_mini"\npitch_shifts = {shifts}\n')
    with pytest.raises(ValueError, match="pitch_shifts must be non-zero semitones within"):
        TrainConfig.load(cfg)


@pytest.mark.parametrize("setting, message", [
    ("augment = { band_share = 1.5, background_db = [-10.0, 0.0] }", "band_share must be a probability"),
    ('augment = { band_share = "half", background_db = [-10.0, 0.0] }', "band_share must be a probability"),
    ("augment = { band_share = 0.5 }", "band_share needs background_db"),
    ('teachers = "runs/a.pt"', "teachers must be a list"),
    ("teacher_weight = 1.5", "teacher_weight must be between 0 and 1"),
    ('teacher_source = "disk"', "teacher_source must be one of batch, cached"),
    ("init_from = []", "init_from must be a checkpoint, or a list"),
    ('init_from = ["a.pt", 3]', "init_from must be a checkpoint, or a list"),
    ("epochs = 0", "epochs must be a whole number >= 1 \\(0 only with init_from"),
    ('epochs = -1\ninit_from = "a.pt"', "epochs must be a whole number"),
    ("description = 3", "description must be one line of text"),
    ('description = "two\\nlines"', "description must be one line of text"),
])
def test_config_rejects_bad_settings(tmp_path, setting, message):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'model = "singing_crnn"\n{setting}\n')
    with pytest.raises(ValueError, match=message):
        TrainConfig.load(cfg)


def test_init_weights_adds_residual_gru_blocks_as_the_identity():
    torch.manual_seed(0)
    shallow = build_model("singing_crnn").eval()
    deep = build_model("singing_crnn", gru_layers=2).eval()
    assert init_weights(deep, shallow) == ["blocks.0"]
    x = torch.randn(1, 40, 256)
    with torch.no_grad():
        a, b = shallow(x), deep(x)
    for k in a:
        torch.testing.assert_close(a[k], b[k])
    with pytest.raises(ValueError, match="weights the model lacks: blocks.0"):
        init_weights(build_model("singing_crnn"), deep)
    with pytest.raises(ValueError, match="other shapes: proj.weight"):
        init_weights(build_model("singing_crnn", hidden=64), shallow)


def test_init_weights_moves_conv_taps_when_the_lookahead_changes():
    """Time taps of a kernel for lookahead 0 (t-2, t-1, t) move to (t-1, t, t+1) with t+1 at zero."""
    torch.manual_seed(0)
    one, two = build_model("singing_crnn", lookahead=1), build_model("singing_crnn", lookahead=2)
    init_weights(two, one)
    w_old, w_new = one.convs[1].conv.weight, two.convs[1].conv.weight
    torch.testing.assert_close(w_new[:, :, :2], w_old[:, :, 1:])
    assert not w_new[:, :, 2].any()
    torch.testing.assert_close(two.convs[0].conv.weight, one.convs[0].conv.weight)  # same lookahead
    init_weights(one, two)  # and back: taps move forward, the oldest start at zero
    assert not one.convs[1].conv.weight[:, :, 0].any()
    torch.testing.assert_close(one.convs[1].conv.weight[:, :, 1:], w_new[:, :, :2])



def test_tune_writes_to_out_or_keeps_a_backup(trained, tmp_path, capsys):
    """`svt-train tune` never destroys the checkpoint it was given."""
    root, config, out, best = trained
    ckpt = tmp_path / "best.pt"
    ckpt.write_bytes(best.read_bytes())
    original = ckpt.read_bytes()
    tuned = tmp_path / "tuned" / "best.pt"
    assert main(["tune", str(ckpt), str(config), "--out", str(tuned), "--cache", str(root / "cache")]) == 0
    assert ckpt.read_bytes() == original and load_model(tuned).decoding is not None
    assert main(["tune", str(ckpt), str(config), "--out", str(ckpt)]) == 2
    assert "is the checkpoint itself" in capsys.readouterr().err
    for backup in ("best.pt.bak", "best.pt.bak1"):
        assert main(["tune", str(ckpt), str(config), "--cache", str(root / "cache")]) == 0
        assert (tmp_path / backup).exists()
    assert (tmp_path / "best.pt.bak").read_bytes() == original
    load_model(ckpt)


def test_data_root_option_and_a_missing_data_folder(trained, tmp_path, capsys):
    root, config, out, best = trained
    moved = tmp_path / "config.toml"  # the same config pointing at a folder that does not exist
    moved.write_text(config.read_text().replace(f'data_root = "{root.as_posix()}"', 'data_root = "nowhere"'))
    assert main(["fit", str(moved), "--out", str(tmp_path / "run"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--data-root" in err
    assert f"data folder {tmp_path / 'nowhere' / 'train'} does not exist" in err
    assert main(["tune", str(best), str(moved), "--out", str(tmp_path / "t.pt"), "--data-root", str(root),
                 "--cache", str(root / "cache")]) == 0
    assert load_model(tmp_path / "t.pt").name == "base_cnn_mini"


def test_overwrite_starts_afresh_over_an_earlier_run(trained, tmp_path):
    import shutil

    root, config, out, best = trained
    shutil.copytree(out, tmp_path / "run")
    argv = ["fit", str(config), "--out", str(tmp_path / "run"), "--epochs", "1", "--cache", str(root / "cache"),
            "--device", "cpu"]
    assert main(argv) == 2  # refused: the folder holds a run
    assert main([*argv, "--overwrite"]) == 0
    assert [h["epoch"] for h in json.loads((tmp_path / "run" / "history.json").read_text())] == [1]
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["epoch"] == 1
