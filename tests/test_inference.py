"""svt_live.engine.inference: streamed posteriors equal offline posteriors, whatever the chunking."""
import numpy as np
import pytest
import torch

from svt_live.engine import inference
from svt_live.engine.checkpoint import LoadedModel
from svt_live.engine.decode import POSTERIOR_KEYS, DecodeParams
from svt_live.engine.features import FeatureConfig
from svt_live.engine.inference import PosteriorStream, frame_posteriors
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


def stream_in_chunks(lm, mel, rng, overlap=False, distributions=False):
    stream = PosteriorStream(lm, overlap, distributions)
    parts, pos = [], 0
    while pos < mel.shape[0]:
        n = int(rng.integers(0, 12))
        parts.append(stream.push(mel[pos:pos + n]))
        pos += n
    parts.append(stream.flush())
    assert stream.n_done == mel.shape[0]
    return {k: np.concatenate([p[k] for p in parts if len(p[k])]) for k in stream.keys}


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
from svt_live.engine.checkpoint import LoadedModel
from svt_live.engine.decode import DecodeParams
from svt_live.engine.features import FeatureConfig
from svt_live.engine.inference import frame_posteriors
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


def bidirectional(window=7, window_context=3, gru_layers=2) -> LoadedModel:
    """A tiny random non-causal model whose merge and residual block are not the identity."""
    torch.manual_seed(0)
    model = build_model("singing_crnn", hidden=16, bidirectional=True, window=window,
                        window_context=window_context, gru_layers=gru_layers).eval()
    torch.nn.init.normal_(model.merge.weight, std=0.3)
    for block in model.blocks:
        torch.nn.init.normal_(block.out.weight, std=0.3)
    return LoadedModel(model, FeatureConfig(), DecodeParams(), {}, "bi")


@pytest.mark.parametrize("overlap", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bidirectional_stream_equals_offline_whatever_the_chunks(overlap, seed):
    lm = bidirectional()
    mel = torch.randn(97, 256) * 3 - 5
    offline = frame_posteriors(lm, mel)
    online = stream_in_chunks(lm, mel, np.random.default_rng(seed), overlap)
    for k in POSTERIOR_KEYS:
        assert online[k].shape == (97,)
        np.testing.assert_allclose(online[k], offline[k], rtol=1e-5, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("n_frames", [5, 7, 10, 17, 24])
def test_bidirectional_frames_come_from_the_window_where_they_have_context_on_both_sides(n_frames, monkeypatch):
    """Frame t of window j = t // 7 is the heads' output over encoded frames [7j - 3, 7j + 10), cut at the
    stream's ends; whole-song offline (also with tiny internal chunks) gives exactly that."""
    lm = bidirectional()
    model = lm.model
    mel = torch.randn(n_frames, 256) * 3 - 5
    with torch.no_grad():
        h = model.encode(mel.unsqueeze(0))
        expected = {k: [] for k in POSTERIOR_KEYS}
        for first in range(0, n_frames, 7):
            lo, hi = max(0, first - 3), min(n_frames, first + 10)
            post = model.posteriors(model.heads(h[:, lo:hi])[0])
            for k in POSTERIOR_KEYS:
                expected[k].append(post[k][0, first - lo:min(first + 7, n_frames) - lo].numpy())
    monkeypatch.setattr(inference, "MAX_CHUNK", 4)
    offline = frame_posteriors(lm, mel)
    for k in POSTERIOR_KEYS:
        np.testing.assert_allclose(offline[k], np.concatenate(expected[k]), rtol=1e-5, atol=1e-5, err_msg=k)


def test_bidirectional_commits_a_window_once_its_right_context_is_encoded():
    lm = bidirectional()
    stream = PosteriorStream(lm)
    look = lm.model.lookahead
    assert len(stream.push(torch.randn(7 + 3 + look - 1, 256))["onset"]) == 0
    assert len(stream.push(torch.randn(1, 256))["onset"]) == 7  # frames 0-6: window 0 has frames 0-9
    assert len(stream.push(torch.randn(6, 256))["onset"]) == 0
    assert len(stream.push(torch.randn(1, 256))["onset"]) == 7
    for _ in range(20):
        stream.push(torch.randn(10, 256))
    assert stream._h.shape[0] <= 7 + 2 * 3 + 10
    stream.flush()
    assert stream.n_done == stream.n_in == 7 + 3 + look + 7 + 200


def test_a_bidirectional_network_reads_the_future_and_a_causal_one_does_not():
    """Changing frames after t changes a bidirectional model's posterior at t (when its window reaches
    them), never a causal model's beyond its conv lookahead."""
    mel = torch.randn(40, 256) * 3 - 5
    later = mel.clone()
    later[12:] = torch.randn(28, 256) * 3 - 5
    causal = loaded("singing_crnn")
    for lm, moved in ((bidirectional(window=20, window_context=5), True), (causal, False)):
        a, b = frame_posteriors(lm, mel)["onset"], frame_posteriors(lm, later)["onset"]
        edge = 12 - 1 - lm.model.lookahead - lm.model.context  # last frame whose conv field ends before 12
        assert (np.abs(a[:edge] - b[:edge]).max() > 1e-7) == moved


@pytest.mark.parametrize("make", [lambda: loaded("singing_crnn"), bidirectional], ids=["causal", "bidirectional"])
def test_pitch_distributions_stream_like_the_other_posteriors(make, rng):
    """``distributions=True`` (a distillation teacher's soft targets) adds each frame's pitch distribution:
    the same whatever the chunks, summing to 1, its silence class the complement of ``voiced``."""
    lm = make()
    mel = torch.randn(97, 256) * 3 - 5
    offline = frame_posteriors(lm, mel, distributions=True)
    online = stream_in_chunks(lm, mel, rng, overlap=True, distributions=True)["pitch_probs"]
    assert offline["pitch_probs"].shape == online.shape == (97, 1 + lm.model.n_bins)
    np.testing.assert_allclose(online, offline["pitch_probs"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(offline["pitch_probs"].sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(1 - offline["pitch_probs"][:, 0], offline["voiced"], atol=1e-5)
    plain = frame_posteriors(lm, mel)
    assert "pitch_probs" not in plain
    for k in POSTERIOR_KEYS:
        np.testing.assert_allclose(plain[k], offline[k], rtol=0, atol=1e-6)
