"""Regenerate ``docs/robustness.md``, the table of what svt-live was put through and what it did.

Runs the robustness tests (``tests/robustness/`` and the tests elsewhere named in
``tests/robustness/report.py``), collects every row from that session and writes the
table. Run from the repository root:

    python -m scripts.robustness_table [more pytest options]

The table is written only when every row ran; the exit status is pytest's.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from svt_live.io.outputs import atomic_write
from tests.robustness.report import EXISTING, TABLE, Row, render

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        rows_file = Path(tmp) / "rows.json"
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SVT_ROBUSTNESS_ROWS=str(rows_file))
        rc = subprocess.call([sys.executable, "-m", "pytest", "-q", "tests/robustness", *EXISTING, *argv],
                             cwd=ROOT, env=env)
        if not rows_file.exists():
            print("robustness table: not written (not every case ran: options that deselect tests, "
                  "or an interrupted run)", file=sys.stderr)
            return rc or 1
        rows = [Row(**r) for r in json.loads(rows_file.read_text())]
    atomic_write(TABLE, lambda path: Path(path).write_text(render(rows)))
    print(f"wrote {TABLE.relative_to(ROOT)}", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
