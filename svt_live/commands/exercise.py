"""``svt-live --score EXERCISE``: sing against a score, see every wrong note.

Files: each take is transcribed, checked against the score
(:func:`svt_live.sight.check.check`) and its verdicts printed; ``--report PATH``
writes them (:mod:`svt_live.sight.report`): ``.html`` a page to look at, else
JSON. For several takes, or a ``--report`` that is a folder (exists, or ends
in ``/``), the folder gets ``<take>.json`` and ``<take>.html`` for each take
and ``class.csv``, a row per take.
Microphone: ``--count-in BARS`` clicks that many bars at the score's tempo
first (:mod:`svt_live.sight.metronome`), then each score note is marked right or
wrong as soon as it is sung (or missed once a later note is); the verdicts of
the whole take, checked again at the end, are what the report keeps.

Both measure every sung note's pitch the same way, from the sung fundamental
as the note ends (:class:`svt_live.sight.take.SungTake`).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from svt_live.io.outputs import printable
from svt_live.sight.check import CheckResult, check, format_result
from svt_live.sight.score import Score, read_score
from svt_live.sight.take import LiveMarker, sung_notes

DEFAULT_TOLERANCE_CENTS = 50.0
CLASS_TABLE = "class.csv"


def report_paths(report: str | None, keys: list[str]) -> tuple[dict[str, list[Path]], Path | None]:
    """Where ``--report`` writes: ``({take key: [paths]}, class table or None)``. A folder (several
    takes, an existing folder, or a path ending in a separator) gets ``<key>.json`` and ``<key>.html``
    per take and ``class.csv``; else the one take's report is the path given."""
    if not report:
        return {k: [] for k in keys}, None
    folder = len(keys) > 1 or Path(report).is_dir() or report.endswith(("/", os.sep))
    if not folder:
        return {keys[0]: [Path(report)]}, None
    d = Path(report)
    return {k: [d / f"{k}.json", d / f"{k}.html"] for k in keys}, d / CLASS_TABLE


def _check_paths(args, score: Score, paths: dict[str, list[Path]], table: Path | None) -> None:
    """A report never replaces the score, a take or another output (the user's own files)."""
    from svt_live.console import UsageError
    from svt_live.io.outputs import OutputConflict, check_outputs

    outputs = [("--report", p) for ps in paths.values() for p in ps] + ([("--report", table)] if table else [])
    outputs += [(f"--{flag.replace('_', '-')}", getattr(args, flag, None)) for flag in
                ("json", "csv", "midi_file", "save_audio") if getattr(args, flag, None)]
    try:
        check_outputs(outputs, [("score", score.path)] + [("input", f) for f in args.files if f != "-"])
    except OutputConflict as exc:
        raise UsageError(str(exc)) from None


def run_exercise(args, lm) -> int:
    """``--score``: check files or a microphone take against the score; returns the exit status."""
    from svt_live.io.outputs import song_keys

    score = read_score(args.score)
    files = [Path(f) for f in args.files]
    keys = song_keys(files) if args.input != "mic" else ["microphone"]
    paths, table = report_paths(args.report, keys)
    _check_paths(args, score, paths, table)
    tolerance = args.tolerance_cents or DEFAULT_TOLERANCE_CENTS
    print(printable(f"exercise {score.path}: {len(score.notes)} notes, {score.voice}, {score.bpm:g} per minute"),
          file=sys.stderr)
    if args.input == "mic":
        return _run_mic(args, lm, score, tolerance, paths["microphone"])
    from svt_live.io.audio import AudioError

    results, failed = {}, 0
    for f, key in zip(files, keys):
        try:
            notes = sung_notes(f, lm)
        except AudioError as exc:  # one take that cannot be read does not stop the class
            print(f"svt-live: error: {printable(exc)}", file=sys.stderr)
            failed += 1
            continue
        result = check(score.notes, notes, tolerance)
        print(printable(f"{f}: {len(notes)} sung notes") + "\n" + format_result(result), flush=True)
        results[key] = result
        failed += _report_errors(_write_reports(paths[key], score, str(f), lm.label, result, args.quiet))
    if table is not None and results:
        from svt_live.sight.report import write_class_table
        failed += _report_errors(_write(table, lambda p: write_class_table(p, results), args.quiet))
    return 1 if failed else 0


def _report_errors(errors: list[str]) -> bool:
    for line in errors:
        print(f"svt-live: error: {printable(line)}", file=sys.stderr)
    return bool(errors)


def _write(path: Path, write, quiet: bool) -> list[str]:
    """``write(path)`` and ``wrote PATH``; returns the error line if it failed (``[]`` if not)."""
    from svt_live.console import wrote
    from svt_live.io.outputs import os_error_line
    try:
        write(path)
    except OSError as exc:
        return [os_error_line(exc)]
    wrote(path, quiet)
    return []


def _write_reports(paths: list[Path], score: Score, take: str, model: str, result: CheckResult,
                   quiet: bool) -> list[str]:
    """Each report of one take (HTML for ``.html``, else JSON); returns the error lines."""
    from svt_live.sight.report import report_dict, write_html_report, write_json_report

    report = report_dict(score, take, model, result)
    errors = []
    for p in paths:
        if p.suffix.lower() in (".html", ".htm"):
            errors += _write(p, lambda q: write_html_report(q, report, score, result), quiet)
        else:
            errors += _write(p, lambda q: write_json_report(q, report), quiet)
    return errors


def _run_mic(args, lm, score: Score, tolerance: float, report_paths_: list[Path]) -> int:
    from svt_live.commands.live import live_options, run_live
    from svt_live.sight.metronome import CountIn

    count_in = CountIn(score.bpm, score.beats_per_bar, args.count_in or 0, args.midi_out)
    marker = LiveMarker(score, tolerance, count_in.seconds, cfg=lm.features)

    def finish(notes) -> list[str]:
        result = check(score.notes, marker.take.notes, tolerance)  # as measured when each ended, as marked
        print(format_result(result))
        return _write_reports(report_paths_, score, "microphone", lm.label, result, args.quiet)

    return run_live(lm, **live_options(args), on_event=marker.on_event, on_start=count_in.start,
                    on_finish=finish, on_audio=marker.on_audio)
