"""svt_live.inference: streamed posteriors equal offline posteriors, whatever the chunking."""
import numpy as np
import pytest
import torch

from svt_live import inference
from svt_live.checkpoint import LoadedModel
from svt_live.decode import POSTERIOR_KEYS, DecodeParams
from svt_live.features import FeatureConfig
from svt_live.inference import PosteriorStream, frame_posteriors
from svt_live.models import MODELS, build_model


def loaded(name: str) -> LoadedModel:
    torch.manual_seed(0)
    model = build_model(name).eval()
    # non-trivial batch-norm statistics so eval mode differs from the identity
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    return LoadedModel(model, FeatureConfig(), DecodeParams(), {}, name)


def stream_in_chunks(lm, mel, rng, overlap=False):
    stream = PosteriorStream(lm, overlap)
    parts, pos = [], 0
    while pos < mel.shape[0]:
        n = int(rng.integers(0, 12))
        parts.append(stream.push(mel[pos:pos + n]))
        pos += n
    parts.append(stream.flush())
    assert stream.n_done == mel.shape[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in POSTERIOR_KEYS}


@pytest.mark.parametrize("overlap", [False, True])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_stream_random_chunks_equals_offline(name, overlap, rng):
    lm = loaded(name)
    mel = torch.randn(97, 256) * 3 - 5
    offline = frame_posteriors(lm, mel)
    online = stream_in_chunks(lm, mel, rng, overlap)
    for k in POSTERIOR_KEYS:
        assert online[k].shape == (97,)
        np.testing.assert_allclose(online[k], offline[k], rtol=1e-4, atol=1e-4, err_msg=k)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_offline_equals_whole_sequence_forward(name):
    """The commit-once scheme gives what one forward pass over the whole song gives."""
    lm = loaded(name)
    mel = torch.randn(60, 256) * 3 - 5
    with torch.no_grad():
        direct = lm.model.posteriors(lm.model(mel.unsqueeze(0)))
    offline = frame_posteriors(lm, mel)
    for k in POSTERIOR_KEYS:
        np.testing.assert_allclose(offline[k], direct[k][0].numpy(), rtol=1e-4, atol=1e-4, err_msg=k)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_internal_chunking_of_long_input_is_exact(name, monkeypatch):
    lm = loaded(name)
    mel = torch.randn(50, 256) * 3 - 5
    whole = frame_posteriors(lm, mel)
    monkeypatch.setattr(inference, "MAX_CHUNK", 7)
    chunked = frame_posteriors(lm, mel)
    for k in POSTERIOR_KEYS:
        np.testing.assert_allclose(chunked[k], whole[k], rtol=1e-4, atol=1e-4, err_msg=k)


def test_stream_commits_after_lookahead_and_bounds_memory():
    lm = loaded("base_cnn_mini")
    stream = PosteriorStream(lm)
    look = lm.model.lookahead
    assert len(stream.push(torch.randn(look, 256))["onset"]) == 0
    assert len(stream.push(torch.randn(1, 256))["onset"]) == 1
    for _ in range(20):
        stream.push(torch.randn(10, 256))
    assert stream._buf.shape[0] <= lm.model.context + look + 1
    assert len(stream.flush()["onset"]) == look
    assert stream.n_out == stream.n_in == look + 1 + 200


FORK_SCRIPT = """
import multiprocessing, torch
from svt_live.checkpoint import LoadedModel
from svt_live.decode import DecodeParams
from svt_live.features import FeatureConfig
from svt_live.inference import frame_posteriors
from svt_live.models import build_model

torch.set_num_threads(1)  # GNU OpenMP's pool does not survive fork (a torch limit, not ours)
torch.manual_seed(0)
lm = LoadedModel(build_model("singing_crnn").eval(), FeatureConfig(), DecodeParams(), {}, "singing_crnn")
mel = torch.randn(30, 256)
parent = frame_posteriors(lm, mel)["onset"]  # the parent's worker thread now exists

def child(_):
    return frame_posteriors(lm, mel)["onset"]

with multiprocessing.get_context("fork").Pool(1) as pool:
    onsets = pool.apply_async(child, (0,)).get(timeout=30)
assert abs(onsets - parent).max() < 1e-5
print("child ok")
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_overlap_works_in_a_forked_child():
    """The worker thread does not survive fork: a child must start its own instead of waiting forever.

    Runs in a fresh interpreter, so no thread of another test is forked mid-lock."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "child ok" in r.stdout, r.stderr[-2000:]


@pytest.mark.parametrize("lookahead", [1, 2])
def test_stacked_gru_and_longer_lookahead_stream_equals_offline(lookahead, rng):
    """Residual GRU blocks carry their own state across pushes; lookahead 2 commits two frames late."""
    torch.manual_seed(0)
    model = build_model("singing_crnn", gru_layers=3, lookahead=lookahead).eval()
    for block in model.blocks:  # non-zero, so the blocks change the output
        torch.nn.init.normal_(block.out.weight, std=0.3)
    lm = LoadedModel(model, FeatureConfig(), DecodeParams(), {}, "deep")
    mel = torch.randn(83, 256) * 3 - 5
    with torch.no_grad():
        direct = model.posteriors(model(mel.unsqueeze(0)))
    online = stream_in_chunks(lm, mel, rng)
    for k in POSTERIOR_KEYS:
        np.testing.assert_allclose(online[k], direct[k][0].numpy(), rtol=1e-4, atol=1e-4, err_msg=k)
    stream = PosteriorStream(lm)
    assert len(stream.push(mel[:lookahead])["onset"]) == 0
    assert len(stream.push(mel[lookahead:lookahead + 1])["onset"]) == 1
