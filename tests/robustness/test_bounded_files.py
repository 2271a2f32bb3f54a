"""Crafted files that asked for far more than their size: what a file asks for must cost at most a
bounded multiple of its size (or of its audio's length), anything more is refused in one line naming
the file. Checkpoints (stride-0 views, tensors sharing data, zip bombs, feature settings extreme
together, a device as a file), ``last.pt`` for ``--resume`` (every part of the training state),
training configs (``base`` naming a device, a FIFO, a chain 3000 deep; huge or deeply nested files)
and MIR-1K files (empty or absurd ``.pv``, a 1 Hz WAV header)."""
import os
import signal
import time
import wave
import zipfile
from contextlib import contextmanager

import pytest
import synth
import torch
from test_mir1k import fake_mir1k

from svt_live.engine.decode import DecodeParams
from svt_live.models import build_model
from svt_train.cli import main as train_main

from .helpers import case, seen, svt

NOTES = [[0.2 + 0.5 * i, 0.6 + 0.5 * i, 60.0 + i] for i in range(4)]


@contextmanager
def deadline(seconds: int):
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``."""
    def late(*_):
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, late)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def said(err: str) -> list[str]:
    """svt-train's own lines in ``err`` (a progress bar left open may precede one on its line)."""
    return ["svt-train: " + part for line in err.splitlines() for part in line.split("svt-train: ")[1:]]


def train(argv, capsys) -> tuple[int, list[str], float]:
    """``svt-train argv`` in-process: ``(exit status, its lines, seconds taken)``."""
    t0 = time.monotonic()
    with deadline(120):
        rc = train_main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return rc, said(err), time.monotonic() - t0


def deflated(path):
    """``path`` rewritten as the same zip archive with every record deflated (as a zip bomb is)."""
    with zipfile.ZipFile(path) as src:
        records = [(info.filename, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in records:
            dst.writestr(name, data)
    return path


def not_inflated(monkeypatch):
    """Make any ``torch.load`` fail the test: a zip bomb must be refused before it is read."""
    def inflating(*args, **kwargs):
        raise AssertionError("torch.load read a zip bomb")

    monkeypatch.setattr(torch, "load", inflating)


# ---------------------------------------------------------------- checkpoints (svt-live --model)

def huge_model_of_views(src, path):
    """A 7 GiB singing_crnn (hidden 4096, 16 GRU layers) whose every weight is a stride-0 view of one number."""
    ck = torch.load(src, weights_only=True)
    kwargs = {**ck["model"]["kwargs"], "hidden": 4096, "gru_layers": 16}
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in build_model("singing_crnn", **kwargs).state_dict().items()}
    ck["model"]["kwargs"] = kwargs
    ck["state_dict"] = {k: torch.zeros(1).expand(shape) if len(shape) else torch.zeros(())
                        for k, shape in shapes.items()}
    torch.save(ck, path)


def weights_over_one_storage(src, path):
    """The model's weights, every tensor a contiguous view at the start of one shared storage."""
    ck = torch.load(src, weights_only=True)
    sd = ck["state_dict"]
    shared = torch.zeros(max(v.numel() for v in sd.values()))
    ck["state_dict"] = {k: shared[:v.numel()].view(v.shape).to(v.dtype) if v.is_floating_point() else v
                        for k, v in sd.items()}
    torch.save(ck, path)


def zip_bomb(src, path):
    """The model plus 64 MB of zeros in its meta, every record deflated: a file of about 100 KB."""
    ck = torch.load(src, weights_only=True)
    ck["meta"] = {**ck.get("meta", {}), "pad": torch.zeros(2 ** 24)}
    torch.save(ck, path)
    deflated(path)


def extreme_features(src, path):
    """Features each within its limits, together 1.5 GB of features per second of audio."""
    ck = torch.load(src, weights_only=True)
    ck["features"] = {**ck["features"], "sample_rate": 384000, "hop": 1, "win": 65536, "n_fft": 65536}
    torch.save(ck, path)


REFUSED = "exit 1 at once, one line naming the file; nothing built or inflated"


@pytest.mark.parametrize("make, says, small", [
    case("stride-0 views: a 7 GiB model declared in a small file", huge_model_of_views, "view", True,
         category="checkpoints", expected=REFUSED),
    case("every weight a view of one shared storage", weights_over_one_storage, "sharing data", False,
         category="checkpoints", expected=REFUSED),
    case("zip bomb: 64 MB of records deflated into a 0.2 MB .pt", zip_bomb, "inflate", True, category="checkpoints",
         expected=REFUSED),
    case("feature settings each within limits, extreme together (hop 1 at 384 kHz, n_fft 65536)",
         extreme_features, "per second", False, category="checkpoints", expected=REFUSED),
])
def test_checkpoint_costs_bounded_by_its_size(make, says, small, note_model, tmp_path, monkeypatch, capsys, robust):
    path = tmp_path / "model.pt"
    make(note_model, path)
    if small:
        assert path.stat().st_size < 400_000
    if make is zip_bomb:
        not_inflated(monkeypatch)
    rc, _, lines = svt(["--model", path, synth.write_song(tmp_path, "s", NOTES, 2.5), "-q"], capsys)
    robust(f"{seen(rc, lines)}; file {path.stat().st_size // 1000} KB")
    assert rc == 1 and len(lines) == 1 and "model.pt: " in lines[0] and says in lines[0]


@pytest.mark.robustness("checkpoints", "exit 1, one line: not a regular file (nothing read)",
                        case="--model /dev/zero (a device that never ends)")
def test_device_as_checkpoint(tmp_path, capsys, robust):
    with deadline(30):
        rc, _, lines = svt(["--model", "/dev/zero", synth.write_song(tmp_path, "s", NOTES, 2.5), "-q"], capsys)
    robust(seen(rc, lines))
    assert rc == 1 and len(lines) == 1 and "/dev/zero: " in lines[0] and "regular file" in lines[0]


# ---------------------------------------------------------------- last.pt (svt-train fit --resume)

@pytest.fixture(scope="module")
def resumable(tmp_path_factory):
    """A tiny config (2 epochs) and the genuine last.pt of its run after epoch 1 (written by save_state,
    no training needed: the checks must pass it)."""
    from svt_train.config import TrainConfig
    from svt_train.fit import check_resume_state, new_run, save_state

    root = tmp_path_factory.mktemp("resume")
    config = synth.tiny_training_setup(root)
    run = new_run(TrainConfig.load(config), config, root / "run", torch.device("cpu"), 0, 1)
    run.opt.zero_grad()
    sum(p.sum() for p in run.model.parameters()).backward()
    run.opt.step()  # the optimiser holds state, as after an epoch
    run.sched.step()
    history = [{"epoch": 1, "seconds": 1.0, "train": {"total_loss": 1.0},
                "valid": {"total_loss": 1.0, "val_COnP_f1": 0.5}, "decoding": DecodeParams().to_dict()}]
    save_state(root / "run" / "last.pt", run.model, run.opt, run.sched, None, 1, 0.5, history, DecodeParams())
    state = torch.load(root / "run" / "last.pt", weights_only=True)
    check_resume_state(state, 2)
    return root, config, state


def changed(**parts):
    return lambda st: {**st, **parts}


def first_weight(value):
    def make(st):
        model = dict(st["model"])
        k = next(k for k, v in model.items() if v.is_floating_point() and v.ndim > 1)
        model[k] = value(model[k])
        return {**st, "model": model}
    return make


def optimiser_lr(value):
    def make(st):
        opt = dict(st["optimizer"])
        opt["param_groups"] = [{**g, "lr": value} for g in opt["param_groups"]]
        return {**st, "optimizer": opt}
    return make


STATE = "exit 2 before any work, one line naming last.pt and the part at fault"


@pytest.mark.parametrize("make, says", [
    case("epoch 10^9 (spun silently for good)", changed(epoch=10 ** 9), "past the run's 2 epochs",
         category="training", expected=STATE),
    case("epoch 2^80", changed(epoch=2 ** 80), "81-bit number", category="training", expected=STATE),
    case("epoch -3", changed(epoch=-3), "epoch must be a whole number >= 1", category="training", expected=STATE),
    case("epoch as text", changed(epoch="1"), "epoch must be a whole number", category="training", expected=STATE),
    case("epoch beyond the config's epochs", changed(epoch=3), "past the run's 2 epochs", category="training",
         expected=STATE),
    case("best score NaN (finished with exit 0 and no best.pt)", changed(best_score=float("nan")), "best score",
         category="training", expected=STATE),
    case("best score 10^9", changed(best_score=1e9), "best score", category="training", expected=STATE),
    case("history without the epoch done", changed(history=[]), "history", category="training", expected=STATE),
    case("history record without its losses (a KeyError after an epoch's work)",
         changed(history=[{"epoch": 1, "train": {}, "valid": {}}]), "history", category="training", expected=STATE),
    case("schedule at another epoch than the state",
         lambda st: {**st, "scheduler": {**st["scheduler"], "last_epoch": 7}}, "schedule", category="training",
         expected=STATE),
    case("weights holding NaN", first_weight(lambda v: v * float("nan")), "NaN", category="training",
         expected=STATE),
    case("optimiser learning rate infinite", optimiser_lr(float("inf")), "NaN or infinite", category="training",
         expected=STATE),
    case("decoding min_note_frames = -5", lambda st: {**st, "decoding": {**st["decoding"], "min_note_frames": -5}},
         "min_note_frames", category="training", expected=STATE),
    case("a weight that is a stride-0 view", first_weight(lambda v: torch.zeros(1).expand(v.shape)), "view",
         category="training", expected=STATE),
    case("state that is a list", lambda st: [st], "not a dict", category="training", expected=STATE),
])
def test_crafted_training_state(make, says, resumable, tmp_path, capsys, robust):
    root, config, state = resumable
    out = tmp_path / "run"
    out.mkdir()
    torch.save(make(state), out / "last.pt")
    rc, lines, seconds = train(["fit", config, "--out", out, "--cache", tmp_path / "cache", "--device", "cpu",
                                "--resume"], capsys)
    robust(f"exit {rc}" + "".join(f"; `{line}`" for line in lines) + f"; {seconds:.1f} s")
    assert rc == 2 and len(lines) == 1 and "last.pt: cannot resume from it: " in lines[0] and says in lines[0]
    assert seconds < 60 and not (tmp_path / "cache").exists() and not (out / "best.pt").exists()


@pytest.mark.robustness("training", STATE + " (nothing inflated)", case="last.pt a zip bomb (64 MB of zeros deflated)")
def test_training_state_zip_bomb(resumable, tmp_path, monkeypatch, capsys, robust):
    root, config, state = resumable
    out = tmp_path / "run"
    out.mkdir()
    torch.save({**state, "pad": torch.zeros(2 ** 24)}, out / "last.pt")
    deflated(out / "last.pt")
    not_inflated(monkeypatch)
    rc, lines, _ = train(["fit", config, "--out", out, "--cache", tmp_path / "cache", "--device", "cpu", "--resume"],
                         capsys)
    size_kb = (out / "last.pt").stat().st_size // 1000
    robust(f"exit {rc}" + "".join(f"; `{line}`" for line in lines) + f"; file {size_kb} KB")
    assert rc == 2 and len(lines) == 1 and "last.pt: " in lines[0] and "inflate" in lines[0]


# ---------------------------------------------------------------- training configs

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("configs")
    return root, synth.tiny_training_setup(root)


def based_on(base, fault=None):
    """A config whose ``base`` is what ``base(folder, config)`` makes; returns ``(the config, the name
    of the file at fault)``: ``fault``, else the base's."""
    def make(folder, config):
        target = base(folder, config)
        (folder / "c.toml").write_text(f'base = "{target.as_posix()}"\n')
        return folder / "c.toml", fault or target.name
    return make


def fifo(folder, config):
    os.mkfifo(folder / "fifo.toml")
    return folder / "fifo.toml"


def chain(folder, config):
    """3000 configs, each the base of the one before; the last the tiny config."""
    (folder / "3000.toml").write_text(f'base = "{config.as_posix()}"\n')
    for i in range(2999, 0, -1):
        (folder / f"{i}.toml").write_text(f'base = "{i + 1}.toml"\n')
    return folder / "1.toml"


def own(content):
    """A config file of ``content(tiny config)`` (text or bytes), itself the file at fault."""
    def make(folder, config):
        data = content(config)
        (folder / "c.toml").write_bytes(data if isinstance(data, bytes) else data.encode())
        return folder / "c.toml", "c.toml"
    return make


CONFIG = "exit 2 at once, one line naming the file at fault; no output folder, no cache"


@pytest.mark.parametrize("make, says", [
    case("base = /dev/zero (read until memory ran out)", based_on(lambda f, c: type(f)("/dev/zero")),
         "not a regular file", category="training", expected=CONFIG),
    case("base a FIFO (blocked)", based_on(fifo), "not a regular file", category="training", expected=CONFIG),
    case("base chain 3000 files deep (RecursionError)", based_on(chain, "32.toml"), "more than 32 files deep",
         category="training", expected=CONFIG),
    case("config of 2 MB", own(lambda c: c.read_text() + "# " + "x" * 2_000_000 + "\n"), "bytes", category="training",
         expected=CONFIG),
    case("config value nested 100000 deep", own(lambda c: c.read_text() + "seed = " + "[" * 100000 + "]" * 100000),
         "nested too deep", category="training", expected=CONFIG),
    case("config that is not UTF-8", own(lambda c: c.read_bytes() + b"# \xff\n"), "UTF-8", category="training",
         expected=CONFIG),
])
def test_config_files_bounded(make, says, tiny, tmp_path, capsys, robust):
    root, config = tiny
    start, fault = make(tmp_path, config)
    rc, lines, seconds = train(["fit", start, "--out", tmp_path / "run", "--cache", tmp_path / "cache"], capsys)
    robust(f"exit {rc}" + "".join(f"; `{line}`" for line in lines) + f"; {seconds:.1f} s")
    assert rc == 2 and len(lines) == 1 and f"{fault}: " in lines[0] and says in lines[0]
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache").exists()


# ---------------------------------------------------------------- MIR-1K files

@pytest.fixture
def mir1k_config(tmp_path):
    """A tiny config training on one fake MIR-1K clip (singer leon); returns (config, clip wav, clip .pv)."""
    config = synth.tiny_training_setup(tmp_path)
    root = fake_mir1k(tmp_path / "mir1k", singers=("leon",))
    config.write_text(config.read_text().replace('train = [{ kind = "folder", path = "train" }]',
                                                 f'train = [{{ kind = "mir1k", path = "{root.as_posix()}" }}]'))
    return config, root / "Wavfile" / "leon_1_01.wav", root / "PitchLabel" / "leon_1_01.pv"


def pv_text(text):
    return lambda wav, pv: pv.write_text(text)


def pv_value(value, row=10):
    def make(wav, pv):
        lines = pv.read_text().splitlines()
        lines[row] = value
        pv.write_text("\n".join(lines) + "\n")
    return make


def wav_header(rate: int, channels: int = 2):
    """The clip's samples under a header claiming ``rate`` Hz and ``channels`` channels."""
    def make(wav, pv):
        with wave.open(str(wav)) as w:
            frames = w.readframes(w.getnframes())
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(frames)
    return make


MIR1K = "exit 2, one line naming the file and what is wrong"


@pytest.mark.parametrize("make, fault, says", [
    case("empty .pv (IndexError traceback)", pv_text(""), "pv", "no pitch values", category="annotations",
         expected=MIR1K),
    case(".pv holding text", pv_value("sixty"), "pv", "not a MIR-1K pitch file", category="annotations",
         expected=MIR1K),
    case(".pv pitch NaN", pv_value("nan"), "pv", "neither 0", category="annotations", expected=MIR1K),
    case(".pv pitch MIDI 300", pv_value("300"), "pv", "neither 0", category="annotations", expected=MIR1K),
    case(".pv pitch negative", pv_value("-60"), "pv", "neither 0", category="annotations", expected=MIR1K),
    case(".pv with two values a line", pv_text("60 61\n60 61\n"), "pv", "one", category="annotations",
         expected=MIR1K),
    case("clip WAV whose header says 1 Hz (each sample resampled into 16000)", wav_header(1), "wav", "1 Hz",
         category="annotations", expected=MIR1K),
    case("clip WAV in mono (no voice channel)", wav_header(16000, 1), "wav", "1 channel", category="annotations",
         expected=MIR1K),
])
def test_mir1k_files(make, fault, says, mir1k_config, tmp_path, capsys, robust):
    config, wav, pv = mir1k_config
    make(wav, pv)
    rc, lines, seconds = train(["fit", config, "--out", tmp_path / "run", "--cache", tmp_path / "cache",
                                "--device", "cpu"], capsys)
    robust(f"exit {rc}" + "".join(f"; `{line}`" for line in lines) + f"; {seconds:.1f} s")
    named = pv if fault == "pv" else wav
    assert rc == 2 and len(lines) == 1 and f"{named.name}: " in lines[0] and says in lines[0]
