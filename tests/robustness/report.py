"""The robustness table: every case tried (bad input, faults, load) with what happened.

A test marked ``@pytest.mark.robustness(category, expected, case=...)`` is a
row (``case`` defaults to the test's parameter id); so are the tests elsewhere
in the suite listed in :data:`EXISTING`. A test states what it saw, in one
line, through the ``robust`` fixture. ``python -m scripts.robustness_table``
runs just those tests and writes ``docs/robustness.md``: a session that ran
every row (the whole ``tests/robustness`` package and the :data:`EXISTING`
tests, nothing deselected) hands the rows to it as JSON in the file named by
``$SVT_ROBUSTNESS_ROWS``; other sessions (``make test``) write nothing. The
hooks and the fixture are imported by ``tests/conftest.py``.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent
TABLE = PACKAGE.parents[1] / "docs" / "robustness.md"
CATEGORIES = ("audio", "annotations", "checkpoints", "outputs", "command line", "engine", "faults", "load",
              "training", "gui")

# Tests outside this package that already try a robustness case: node id -> (category, case, expected).
EXISTING = {
    "tests/test_cli.py::test_bad_input_is_one_line_error[missing file]":
        ("audio", "missing file", "exit 1, one-line error"),
    "tests/test_cli.py::test_bad_input_is_one_line_error[text as wav]":
        ("audio", "text file renamed .wav", "exit 1, one-line error"),
    "tests/test_audio.py::test_truncated_file_keeps_what_decoded":
        ("audio", "WAV cut in half", "the first half decodes"),
    "tests/test_cli.py::test_bad_input_is_one_line_error[malformed annotation]":
        ("annotations", "SSVD .txt line that is not numbers", "exit 1, one-line error"),
    "tests/test_cli.py::test_bad_input_is_one_line_error[missing reference]":
        ("annotations", "missing reference file", "exit 1, one-line error"),
    "tests/test_cli.py::test_eval_mir_st500_json_by_folder_name_and_song_id":
        ("annotations", "--song-id not in the JSON", "exit 1, one-line error"),
    "tests/test_cli.py::test_bad_input_is_one_line_error[bad model]":
        ("checkpoints", "missing checkpoint file", "exit 1, one-line error"),
    "tests/test_cli.py::test_bad_input_is_one_line_error[unknown flag]":
        ("command line", "unknown flag", "exit 2, one-line usage error"),
    "tests/test_cli.py::test_bad_input_is_one_line_error[mic with files]":
        ("command line", "--input mic with audio files", "exit 2, one-line usage error"),
    "tests/test_live.py::test_dying_audio_server_saves_and_fails":
        ("faults", "audio server (input device) stops mid-take",
         "exit 1, one-line error; the notes so far are saved"),
    "tests/test_live.py::test_ctrl_c_closes_notes_midi_and_saves_everything":
        ("faults", "Ctrl-C mid-take", "exit 0; JSON, CSV, MIDI file complete; every MIDI note closed"),
    "tests/test_live.py::test_sigterm_and_unavailable_midi":
        ("faults", "SIGTERM before any audio; MIDI system unavailable",
         "exit 0; MIDI reported unavailable; empty outputs written"),
    "tests/test_cache.py::test_truncated_entry_is_detected_and_rebuilt[.mel.npy]":
        ("load", "feature cache: truncated features file", "detected, rebuilt, one warning"),
    "tests/test_cache.py::test_truncated_entry_is_detected_and_rebuilt[.labels.npz]":
        ("load", "feature cache: truncated labels file", "detected, rebuilt, one warning"),
    "tests/test_cache.py::test_two_processes_filling_a_cold_cache_at_once":
        ("load", "two processes fill a cold feature cache at once", "both get the same entry, no temp files"),
}


@dataclass
class Row:
    """One case: what was tried, what should happen, what the test saw and whether it passed."""

    category: str
    case: str
    expected: str
    observed: str = ""
    outcome: str = "not run"


_rows: dict[str, Row] = {}
_state = {"complete": False}


def clean(text: str) -> str:
    """One line without the directories of absolute paths (temporary folders differ each run)."""
    text = re.sub(r"(?<![\w.])/(?:[^\s/'\"]+/)+", "", str(text))
    return " ".join(text.split())


@pytest.fixture
def robust(request):
    """``robust(text)``: record what this robustness test observed (shown in the table, one line)."""
    return lambda text: request.node.user_properties.append(("robustness", clean(text)))


def pytest_configure(config):
    config.addinivalue_line("markers", "robustness(category, expected, case=None): a row of docs/robustness.md")


def pytest_deselected(items):
    if any(item.get_closest_marker("robustness") or item.nodeid in EXISTING for item in items):
        _state["deselected"] = True


def _whole_package(config) -> bool:
    for arg in config.args:
        path = Path(config.invocation_params.dir, arg).resolve()
        if "::" not in arg and (path == PACKAGE or path in PACKAGE.parents):
            return True
    return False


def pytest_collection_finish(session):
    _rows.clear()
    for item in session.items:
        mark = item.get_closest_marker("robustness")
        if mark is not None:
            category, expected = mark.args
            case = mark.kwargs.get("case") or getattr(getattr(item, "callspec", None), "id", item.name)
            _rows[item.nodeid] = Row(category, case, expected)
        elif item.nodeid in EXISTING:
            _rows[item.nodeid] = Row(*EXISTING[item.nodeid])
    assert all(r.category in CATEGORIES for r in _rows.values()), "robustness category not in CATEGORIES"
    _state["complete"] = (_whole_package(session.config) and not _state.get("deselected")
                          and set(EXISTING) <= set(_rows))


def pytest_runtest_logreport(report):
    row = _rows.get(report.nodeid)
    if row is None:
        return
    said = [v for k, v in report.user_properties if k == "robustness"]
    if said:
        row.observed = "; ".join(said)
    if report.failed:
        row.outcome = "FAILED"
        row.observed = row.observed or clean(report.longreprtext.strip().splitlines()[-1])
    elif report.skipped:
        row.outcome = "skipped"
        row.observed = clean(report.longrepr[2]) if isinstance(report.longrepr, tuple) else "skipped"
    elif report.when == "call" and row.outcome != "FAILED":
        row.outcome = "passed"


def ordered_rows() -> list[Row]:
    """The session's rows by category; in each, this package's in collection order, then
    :data:`EXISTING` in its order (the same order however the session was started)."""
    existing, collected = list(EXISTING), list(_rows)
    place = {n: (n in EXISTING, existing.index(n) if n in EXISTING else collected.index(n)) for n in _rows}
    return [_rows[n] for n in sorted(_rows, key=lambda n: (CATEGORIES.index(_rows[n].category), place[n]))]


def render(rows: list[Row]) -> str:
    """The table as Markdown, rows in the order given."""
    counts = {o: sum(r.outcome == o for r in rows) for o in ("passed", "FAILED", "skipped")}
    cell = lambda s: s.replace("|", "\\|") or "as expected"  # noqa: E731
    lines = ["# Robustness: what svt-live was put through, and what it did", "",
             "Generated by `python -m scripts.robustness_table` from the tests in `tests/robustness/`",
             "and those named in `tests/robustness/report.py`.",
             "Every row is a test: *passed* means the observed behaviour is the expected one.", "",
             f"{len(rows)} cases: {counts['passed']} passed, {counts['FAILED']} failed, "
             f"{counts['skipped']} skipped.", "",
             "| Category | Case | Expected | Observed | Test |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r.category} | {cell(r.case)} | {cell(r.expected)} | {cell(r.observed)} | {r.outcome} |"
              for r in rows]
    return "\n".join(lines) + "\n"


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("SVT_ROBUSTNESS_ROWS")
    if out and _state["complete"] and _rows and all(r.outcome != "not run" for r in _rows.values()):
        Path(out).write_text(json.dumps([asdict(r) for r in ordered_rows()]))
