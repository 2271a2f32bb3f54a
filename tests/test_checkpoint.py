"""svt_live.engine.checkpoint: save/load round trip and refusal of bad files with CheckpointError."""
import numpy as np
import pytest
import torch

from svt_live.engine import checkpoint as ckpt
from svt_live.engine.checkpoint import CheckpointError, LoadedModel, load_model, read_checkpoint, save_checkpoint
from svt_live.engine.decode import DecodeParams
from svt_live.engine.features import FeatureConfig
from svt_live.models import MODELS, build_model

DECODING = DecodeParams(onset_threshold=0.35, offset_threshold=0.7, min_note_frames=3)


def saved(path, name="base_cnn_mini", kwargs=None, features=FeatureConfig()):
    torch.manual_seed(0)
    kwargs = kwargs or {}
    model = build_model(name, **kwargs)
    save_checkpoint(path, model, kwargs, features, DECODING, {"epoch": 3})
    return model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip(tmp_path, name):
    path = tmp_path / "m.pt"
    model = saved(path, name, {"hidden": 64} if name == "base_cnn_mini" else {"hidden": 32})
    lm = load_model(path)
    assert lm.name == name and lm.decoding == DECODING and lm.features == FeatureConfig()
    assert lm.meta == {"epoch": 3} and not lm.model.training
    assert lm.lookahead == model.lookahead
    for k, v in model.state_dict().items():
        torch.testing.assert_close(lm.model.state_dict()[k], v)
    x = torch.randn(1, 20, 256)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(lm.model(x), model(x))
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temp file left


def test_checkpoint_loads_with_weights_only(tmp_path):
    saved(tmp_path / "m.pt")
    ck = torch.load(tmp_path / "m.pt", weights_only=True)
    assert ck["format"] == "svt-live-checkpoint" and ck["label_scheme"] == "octave_pitch_class"
    assert load_model(tmp_path / "m.pt").label == str(tmp_path / "m.pt")


def test_corrupt_file(tmp_path):
    path = tmp_path / "m.pt"
    saved(path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match="m.pt: not a readable checkpoint"):
        load_model(path)


@pytest.mark.parametrize("content", [b"", b"hello, I am a text file\n", bytes(range(256)) * 4])
def test_garbage_files(tmp_path, content):
    path = tmp_path / "g.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="g.pt: not a readable checkpoint"):
        load_model(path)


@pytest.mark.parametrize("obj", [{"weights": torch.zeros(3)}, torch.zeros(3), [1, 2, 3]])
def test_torch_file_that_is_not_a_checkpoint(tmp_path, obj):
    torch.save(obj, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="other.pt: not an svt-live checkpoint"):
        load_model(tmp_path / "other.pt")


def rewrite(path, **changes):
    ck = torch.load(path, weights_only=True)
    ck.update(changes)
    torch.save(ck, path)


def test_wrong_version(tmp_path):
    path = tmp_path / "m.pt"
    saved(path)
    rewrite(path, version=99)
    with pytest.raises(CheckpointError, match="checkpoint version 99 is not supported"):
        load_model(path)


def test_missing_key(tmp_path):
    path = tmp_path / "m.pt"
    saved(path)
    ck = torch.load(path, weights_only=True)
    del ck["decoding"]
    torch.save(ck, path)
    with pytest.raises(CheckpointError, match="lacks 'decoding'"):
        read_checkpoint(path)


def test_mismatched_n_mels(tmp_path):
    path = tmp_path / "m.pt"
    saved(path, kwargs={"n_mels": 128}, features=FeatureConfig(n_mels=256))
    with pytest.raises(CheckpointError, match="model expects 128 mel bands, features give 256"):
        load_model(path)


def test_weights_that_do_not_fit_the_model(tmp_path):
    path = tmp_path / "m.pt"
    saved(path)
    rewrite(path, model={"name": "base_cnn_mini", "kwargs": {"hidden": 32}})
    with pytest.raises(CheckpointError, match="incompatible checkpoint"):
        load_model(path)


def test_bidirectional_model_round_trip_keeps_its_windows(tmp_path):
    """The non-causal option and its window grid are stored as model settings and come back; the
    same weights under the causal declaration do not fit (its GRU has no reverse direction)."""
    from svt_live.engine.inference import frame_posteriors  # noqa: PLC0415

    path = tmp_path / "bi.pt"
    kwargs = {"hidden": 16, "bidirectional": True, "window": 9, "window_context": 4, "gru_layers": 2}
    model = saved(path, "singing_crnn", kwargs).eval()
    assert read_checkpoint(path)["model"]["kwargs"] == kwargs
    lm = load_model(path)
    assert not lm.model.causal and (lm.model.window, lm.model.window_context) == (9, 4)
    mel = torch.randn(30, 256)
    before = frame_posteriors(LoadedModel(model, lm.features, lm.decoding, {}, "bi"), mel)
    after = frame_posteriors(lm, mel)
    for k, v in before.items():
        np.testing.assert_array_equal(after[k], v)
    for bad, why in (({**kwargs, "bidirectional": False}, "size mismatch"),
                     ({**kwargs, "bidirectional": 1}, "bidirectional must be true or false"),
                     ({**kwargs, "window": 0}, "window must be within")):
        rewrite(path, model={"name": "singing_crnn", "kwargs": bad})
        with pytest.raises(CheckpointError, match=why):
            load_model(path)


def test_label_scheme_mismatch_and_unknown_model(tmp_path):
    path = tmp_path / "m.pt"
    saved(path)
    rewrite(path, label_scheme="pitch_bins")
    with pytest.raises(CheckpointError, match="label scheme 'pitch_bins' does not match"):
        load_model(path)
    rewrite(path, label_scheme="octave_pitch_class", model={"name": "transformer9000", "kwargs": {}})
    with pytest.raises(CheckpointError, match="unknown model 'transformer9000'"):
        load_model(path)


def test_missing_file_and_unknown_bundled_name(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint file or bundled model"):
        load_model(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="no such checkpoint file or bundled model"):
        load_model("no_such_model_name")


def test_bundled_models_load_by_name():
    for name in ckpt.bundled_models():
        lm = load_model(name)
        assert lm.features.n_mels == getattr(lm.model, "n_mels", lm.features.n_mels)
        assert np.isfinite(lm.decoding.onset_threshold)
        assert lm.label == name  # messages name the bundled model, not its network (two share singing_crnn)


def test_the_live_port_refuses_a_bidirectional_model(tmp_path):
    from svt_live.engine.lowlatency import load_live_model

    path = tmp_path / "bi.pt"
    saved(path, "singing_crnn", {"hidden": 16, "bidirectional": True})
    with pytest.raises(CheckpointError, match="bi.pt: a file model .* up to 6 s late.*singing_crnn_live"):
        load_live_model(str(path))
    assert load_live_model().model.causal
