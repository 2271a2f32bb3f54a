"""Regenerate ``docs/robustness.md``, the table of what svt-live was put through and what it did.

Runs the robustness tests (``tests/robustness/`` and the tests elsewhere named in
``tests/robustness/report.py``); the test session itself writes the table.
``make test`` writes it too, since it runs them all.

    python scripts/robustness_table.py [more pytest options]
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from robustness.report import EXISTING, TABLE  # noqa: E402


def main(argv: list[str]) -> int:
    cmd = [sys.executable, "-m", "pytest", "-q", "tests/robustness", *EXISTING, *argv]
    rc = subprocess.call(cmd, cwd=ROOT, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    print(f"robustness table: {TABLE.relative_to(ROOT)}", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
