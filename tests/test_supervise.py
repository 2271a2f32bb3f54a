"""scripts/supervise-training.sh: a long run that dies is resumed from its last.pt, a bounded number of times."""
from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "supervise-training.sh"

# A stand-in for svt-train fit: records its arguments, writes last.pt, and dies until its third start.
FAKE_FIT = """
import sys, pathlib
out = pathlib.Path(sys.argv[sys.argv.index("--out") + 1])
calls = out / "calls.txt"
with open(calls, "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\\n")
(out / "last.pt").write_text("state")
sys.exit(0 if len(calls.read_text().splitlines()) >= 3 else 9)
"""


def test_a_dying_run_is_resumed_until_it_finishes(tmp_path):
    import sys

    out, log = tmp_path / "run", tmp_path / "train.log"
    out.mkdir()
    p = subprocess.run(["bash", str(SCRIPT), str(log), "5", "--", sys.executable, "-c", FAKE_FIT, "fit", "--out",
                        str(out)], capture_output=True, text=True, timeout=300,
                       env={"PATH": "/usr/bin:/bin", "SVT_SUPERVISE_PAUSE_S": "0"})
    assert p.returncode == 0, p.stderr
    calls = (out / "calls.txt").read_text().splitlines()
    assert calls == [f"fit --out {out}", f"fit --out {out} --resume", f"fit --out {out} --resume"]
    said = [line for line in log.read_text().splitlines() if line.startswith("=== supervise")]
    assert [line.split()[2] for line in said] == ["start", "exit", "start", "exit", "start", "exit"]
    assert said[1].split()[3] == "9" and said[-1].split()[3] == "0"


def test_it_gives_up_after_its_tries_and_needs_an_out_folder(tmp_path):
    log = tmp_path / "train.log"
    p = subprocess.run(["bash", str(SCRIPT), str(log), "2", "--", "false", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin",
                                                                          "SVT_SUPERVISE_PAUSE_S": "0"})
    assert p.returncode == 1 and log.read_text().count("=== supervise: start") == 2
    p = subprocess.run(["bash", str(SCRIPT), str(log), "--", "true"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--out DIR" in p.stderr
