"""Shared fixtures: the real data folder (skipped when absent) and small helpers."""
from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

sys.path.insert(0, str(Path(__file__).parent))  # so tests can `import synth`

# The machine is shared with training jobs: one thread keeps the suite predictable.
torch.set_num_threads(1)

# The Ctrl-C tests need Python's own SIGINT handler here and in the commands they start. A shell
# starting the suite in the background (`make test &`) hands it SIGINT ignored, and child processes
# inherit that: every Ctrl-C test would then fail for a reason that is not the code's.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def keep_torch_threads():
    """File mode sets torch's thread count for its run; later tests in this process keep theirs."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` relative to the repository root; skips the test when it is absent."""
    if not (SHARED_DATA / "README.md").exists():
        pytest.skip(f"real data not present at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def rng():
    import numpy as np
    return np.random.default_rng(1234)


# ---------------------------------------------------------------------------------------------
# Engine, MIDI and live-mode fixtures: a model that yields notes, and real audio/MIDI servers
# (JACK with the dummy driver, PulseAudio with a null sink) that need no sound hardware.

import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import servers  # noqa: E402

CLIP = ROOT / "svt_live" / "data" / "vocadito_10.wav"


@pytest.fixture(scope="session")
def note_model(tmp_path_factory) -> Path:
    """Checkpoint of a seeded, randomly initialised small ``singing_crnn`` that yields many notes.

    Its thresholds sit at quantiles of its own posteriors on the bundled clip,
    so any input gives notes: for comparing engine paths with each other,
    never with ground truth.
    """
    import numpy as np

    from svt_live.engine.checkpoint import LoadedModel, save_checkpoint
    from svt_live.engine.decode import DecodeParams
    from svt_live.engine.features import FeatureConfig
    from svt_live.engine.offline import transcribe_audio
    from svt_live.io.audio import load_audio
    from svt_live.models import build_model

    torch.manual_seed(0)
    kwargs = {"channels": (8, 8, 8), "hidden": 48}
    model = build_model("singing_crnn", **kwargs).eval()
    with torch.no_grad():  # sharper heads: posteriors spread over [0, 1] instead of hugging 0.5
        for head in (model.onset_head, model.offset_head, model.pitch_head):
            head.weight.mul_(10.0)
    _, post = transcribe_audio(load_audio(CLIP), LoadedModel(model, FeatureConfig(), DecodeParams(), {}, "x"))
    decoding = DecodeParams(onset_threshold=float(np.percentile(post["onset"], 85)),
                            offset_threshold=float(np.percentile(post["offset"], 97)),
                            voiced_threshold=float(np.percentile(post["voiced"], 30)))
    path = tmp_path_factory.mktemp("model") / "noisy_crnn.pt"
    save_checkpoint(path, model, kwargs, FeatureConfig(), decoding, {"note": "random weights, for tests"})
    return path


def _wait_until(check, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.1)
    return False





@pytest.fixture(scope="session")
def jack_server(tmp_path_factory):
    """A JACK server (dummy driver, 16 kHz, no hardware) under a unique server name.

    It runs synchronously (``--sync``, clients given 5 s a cycle): on a loaded machine a client
    late for its cycle is waited for, where the default asynchronous server would count an xrun
    and drop the MIDI that client had to read, and the tests check every byte.

    Sets ``JACK_DEFAULT_SERVER`` in this process so JACK clients (rtmidi) reach it;
    yields the environment for subprocesses. Skips when jackd cannot start.
    """
    if not (shutil.which("jackd") and shutil.which("jack_wait")):
        pytest.skip("jackd not installed (scripts/setup-system.sh installs jackd2)")
    name = f"svt-test-{os.getpid()}"
    log = tmp_path_factory.mktemp("jack") / "jackd.log"
    with open(log, "w") as out:
        proc = servers.start(servers.jackd_command(name),
                             stdout=out, stderr=subprocess.STDOUT)
    waited = subprocess.run(["jack_wait", "-s", name, "-w", "-t", "10"], capture_output=True)
    if waited.returncode != 0 or proc.poll() is not None:
        servers.stop(proc)
        pytest.skip(f"jackd could not start: {log.read_text()[-300:]!r}")
    saved = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = name
    yield dict(os.environ)
    if saved is None:
        os.environ.pop("JACK_DEFAULT_SERVER", None)
    else:
        os.environ["JACK_DEFAULT_SERVER"] = saved
    servers.stop(proc)


def start_pulse(runtime: Path) -> tuple[subprocess.Popen, dict]:
    """A PulseAudio server with a 16 kHz mono null sink ``vsink`` whose monitor is the default source.

    What ``paplay`` plays into it is what an input stream on the ALSA device
    ``pulse`` records, sample for sample. Returns ``(process, env for clients)``;
    skips when pulseaudio cannot start. Stop it with ``proc.terminate()``.
    """
    if not (shutil.which("pulseaudio") and shutil.which("pactl") and shutil.which("paplay")):
        pytest.skip("pulseaudio not installed (scripts/setup-system.sh installs pulseaudio, pulseaudio-utils)")
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), PULSE_SERVER=f"unix:{runtime}/pulse/native")
    proc = servers.start(["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1",
                          f"--log-target=file:{runtime}/pulse.log", "-L", "module-native-protocol-unix",
                          "-L", "module-null-sink sink_name=vsink rate=16000 channels=1"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def up() -> bool:
        return subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0

    if not _wait_until(up, 15) or proc.poll() is not None:
        servers.stop(proc)
        log = runtime / "pulse.log"
        pytest.skip(f"pulseaudio could not start: {log.read_text()[-300:] if log.exists() else 'no log'!r}")
    for cmd in (["set-default-sink", "vsink"], ["set-default-source", "vsink.monitor"]):
        subprocess.run(["pactl", *cmd], env=env, check=True, capture_output=True)
    return proc, env


@pytest.fixture(scope="session")
def pulse_server(tmp_path_factory):
    """Session PulseAudio null-sink server (see :func:`start_pulse`); yields the client environment."""
    proc, env = start_pulse(tmp_path_factory.mktemp("pulse"))
    yield env
    servers.stop(proc)


@pytest.fixture
def private_pulse(tmp_path):
    """A PulseAudio server for one test (which may stop it): yields ``(process, client environment)``."""
    proc, env = start_pulse(tmp_path / "pulse")
    yield proc, env
    servers.stop(proc)


# ---------------------------------------------------------------------------------------------
# The robustness table (docs/robustness.md): its pytest hooks and the `robust` fixture.

from robustness.report import (  # noqa: E402,F401
    pytest_collection_finish,
    pytest_configure,
    pytest_deselected,
    pytest_runtest_logreport,
    pytest_sessionfinish,
    robust,
)


@pytest.fixture
def private_jack(tmp_path):
    """A JACK server (dummy driver, 16 kHz) for one test, which may stop it: yields
    ``(process, environment naming it in JACK_DEFAULT_SERVER)``. Skips when jackd cannot start."""
    if not (shutil.which("jackd") and shutil.which("jack_wait")):
        pytest.skip("jackd not installed (scripts/setup-system.sh installs jackd2)")
    name = f"svt-private-{os.getpid()}-{time.monotonic_ns()}"
    with open(tmp_path / "jackd.log", "w") as log:
        proc = servers.start(servers.jackd_command(name),
                             stdout=log, stderr=subprocess.STDOUT)
    if subprocess.run(["jack_wait", "-s", name, "-w", "-t", "10"], capture_output=True).returncode or \
            proc.poll() is not None:
        servers.stop(proc)
        pytest.skip(f"jackd could not start: {(tmp_path / 'jackd.log').read_text()[-300:]!r}")
    yield proc, dict(os.environ, JACK_DEFAULT_SERVER=name)
    servers.stop(proc)
