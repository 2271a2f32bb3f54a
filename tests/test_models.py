"""Models, losses and running metrics: the course's shape and value contracts."""
import numpy as np
import pytest
import torch

from svt_live.models import MODELS, build_model
from svt_live.models.base_cnn_mini import BaseCNN_mini
from svt_train.labels import notes_to_frames
from svt_train.losses import CRNNLoss, LossFunc, loss_for
from svt_train.metrics import Metrics

B, T, F = 2, 30, 256


@pytest.fixture(scope="module")
def mini():
    torch.manual_seed(0)
    return BaseCNN_mini().eval()


def batch_labels(b=B, t=T):
    notes = np.array([[0.1, 0.3, 60.0], [0.3, 0.5, 71.5]])
    lab = notes_to_frames(notes, t)
    return {k: torch.from_numpy(np.stack([v] * b)) for k, v in lab.items()}


def test_base_cnn_mini_output_shapes(mini):
    out = mini(torch.randn(B, T, F))
    assert out["onset"].shape == (B, T)
    assert out["offset"].shape == (B, T)
    assert out["octave"].shape == (B, T, 5)
    assert out["pitch_class"].shape == (B, T, 13)


def test_base_cnn_mini_posteriors_are_probabilities_and_course_pitches(mini):
    post = mini.posteriors(mini(torch.randn(B, T, F)))
    assert set(post) == {"onset", "offset", "voiced", "pitch"}
    for k in ("onset", "offset", "voiced"):
        assert post[k].shape == (B, T) and ((post[k] >= 0) & (post[k] <= 1)).all()
    assert ((post["pitch"] >= 36) & (post["pitch"] <= 83)).all()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_gives_frame_logits_with_matching_time_axis(name):
    model = build_model(name).eval()
    with torch.no_grad():
        post = model.posteriors(model(torch.randn(1, 17, F)))
    assert all(v.shape == (1, 17) for v in post.values())


def test_crnn_eval_conv_block_folds_batch_norm_exactly():
    """Eval mode's folded conv + pairwise max equals conv -> BN -> ReLU -> max-pool."""
    torch.manual_seed(0)
    block = build_model("singing_crnn").convs[1].eval()
    block.bn.running_mean.uniform_(-1, 1)
    block.bn.running_var.uniform_(0.5, 2)
    block.bn.weight.data.uniform_(-2, 2)  # negative scales: pooling before BN would be wrong
    x = torch.randn(2, 16, 40, 128)
    with torch.no_grad():
        reference = block.pool(torch.relu(block.bn(block.conv(torch.nn.functional.pad(x, block.pad)))))
        fast = block(x.contiguous(memory_format=torch.channels_last))
    assert fast.shape == reference.shape == (2, 32, 40, 64)
    torch.testing.assert_close(fast, reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs, message", [({"lookahead": 4}, "lookahead must be 0-3"),
                                             ({"gru_layers": 0}, "gru_layers must be at least 1")])
def test_crnn_rejects_impossible_shapes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_model("singing_crnn", **kwargs)


def test_build_model_rejects_unknown_name():
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        build_model("nope")


def test_loss_func_total_is_sum_of_four_parts(mini):
    losses = LossFunc()(mini(torch.randn(B, T, F)), batch_labels())
    assert set(losses) == {"total", "onset", "offset", "octave", "pitch_class"}
    assert all(v.ndim == 0 and v.item() > 0 for v in losses.values())
    parts = sum(losses[k] for k in ("onset", "offset", "octave", "pitch_class"))
    assert losses["total"].item() == pytest.approx(parts.item(), rel=1e-6)


def test_loss_func_is_small_for_confident_correct_logits():
    lab = batch_labels()
    big = 20.0
    out = {
        "onset": (lab["onset"] * 2 - 1) * big,
        "offset": (lab["offset"] * 2 - 1) * big,
        "octave": torch.nn.functional.one_hot(lab["octave"], 5).float() * big,
        "pitch_class": torch.nn.functional.one_hot(lab["pitch_class"], 13).float() * big,
    }
    assert LossFunc()(out, lab)["total"].item() < 1e-6


def test_crnn_loss_parts_and_pitch_target():
    model = build_model("singing_crnn").eval()
    loss_fn = loss_for(model)
    assert isinstance(loss_fn, CRNNLoss)
    lab = batch_labels()
    losses = loss_fn(model(torch.randn(B, T, F)), lab)
    assert set(losses) == {"total", "onset", "offset", "pitch"}
    assert losses["total"].item() == pytest.approx(sum(losses[k].item() for k in ("onset", "offset", "pitch")),
                                                   rel=1e-6)
    target = loss_fn.pitch_target(lab["pitch"])
    torch.testing.assert_close(target.sum(-1), torch.ones(B, T))
    assert (target[lab["pitch"] == 0][:, 0] == 1).all()  # silence class on unvoiced frames
    peak_bin = target[0, 6, 1:].argmax().item()  # frame 6 is MIDI 60 -> bin (60 - 33) * 5
    assert peak_bin == (60 - 33) * 5


def test_metrics_returns_nine_values_then_empties(mini):
    metrics = Metrics()
    for _ in range(2):
        out = mini(torch.randn(B, T, F))
        lab = batch_labels()
        metrics.update(mini.posteriors(out), lab, LossFunc()(out, lab))
    values = metrics.get_value()
    assert len(values) == 9
    assert set(values) == {"total_loss", "onset_loss", "offset_loss", "octave_loss", "pitch_class_loss",
                           "onset_f1", "offset_f1", "octave_acc", "pitch_class_acc"}
    assert all(np.isfinite(v) for v in values.values())
    assert values["total_loss"] > 0
    again = metrics.get_value()
    assert not any(k.endswith("_loss") for k in again)
    assert again == {"onset_f1": 0.0, "offset_f1": 0.0, "octave_acc": 0.0, "pitch_class_acc": 0.0}


def test_metrics_perfect_posteriors_score_one():
    lab = batch_labels()
    post = {"onset": lab["onset"], "offset": lab["offset"], "voiced": (lab["pitch"] > 0).float(),
            "pitch": lab["pitch"]}
    metrics = Metrics()
    metrics.update(post, lab, {"total": torch.tensor(0.5)})
    v = metrics.get_value()
    assert v == {"total_loss": 0.5, "onset_f1": 1.0, "offset_f1": 1.0, "octave_acc": 1.0, "pitch_class_acc": 1.0}
