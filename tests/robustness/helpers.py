"""Running ``svt-live`` in-process and reading its stderr the way a user would."""
from __future__ import annotations

import pytest

from svt_live.cli import main


def svt(argv, capsys) -> tuple[int, str, list[str]]:
    """Run ``svt-live argv``; returns ``(exit status, stdout, stderr lines)``.

    Asserts the contract for stderr: no traceback, and every line is one of
    svt-live's own one-line messages (``svt-live: error: ...``, ``svt-live: warning: ...``).
    """
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert all(line.startswith("svt-live: ") for line in lines), err
    return rc, out, lines


def seen(rc: int, lines: list[str]) -> str:
    """What a user saw, for the table: the exit status and the stderr lines."""
    return f"exit {rc}" + "".join(f"; `{line}`" for line in lines)


def case(case_id: str, *values, category: str, expected: str):
    """A ``pytest.param`` that is also a row of the robustness table."""
    return pytest.param(*values, id=case_id, marks=pytest.mark.robustness(category, expected))
