"""DistributedDataParallel: `torchrun --nproc_per_node=2` trains the tiny set on CPU (gloo)."""
import os
import subprocess
import sys

from synth import tiny_training_setup

from svt_live.engine.checkpoint import load_model


def test_torchrun_two_processes_fit_one_epoch(tmp_path):
    config = tiny_training_setup(tmp_path)
    out = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "svt_train.cli", "fit", str(config), "--out", str(out), "--epochs", "1",
           "--cache", str(tmp_path / "cache"), "--device", "cpu", "--threads", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (out / "best.pt").exists() and (out / "last.pt").exists()
    assert proc.stdout.count("epoch 1:") == 1  # only rank 0 validates and reports
    assert load_model(out / "best.pt").name == "base_cnn_mini"
