"""``svt-live --score EXERCISE``: sing against a score, see every wrong note.

Files: each take is transcribed, checked against the score
(:func:`svt_live.sightsing.check`) and its verdicts printed; ``--report PATH``
writes them (:mod:`svt_live.sightreport`): ``.html`` a page to look at, else
JSON. For several takes, or a ``--report`` that is a folder (exists, or ends
in ``/``), the folder gets ``<take>.json`` and ``<take>.html`` for each take
and ``class.csv``, a row per take.
Microphone: ``--count-in BARS`` clicks that many bars at the score's tempo
first (:mod:`svt_live.metronome`), then each score note is marked right or
wrong as soon as it is sung (or missed once a later note is); the verdicts of
the whole take, checked again at the end, are what the report keeps.

Both measure every sung note's pitch the same way, from the sung fundamental
as the note ends (:class:`SungTake`).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from .events import NoteOff
from .f0 import NotePitcher
from .features import FeatureConfig
from .outputs import printable
from .score import Score, read_score
from .sightsing import MAX_PAIRS, CheckResult, check, format_result, mark

DEFAULT_TOLERANCE_CENTS = 50.0
LIVE_MARGIN_S = 0.5  # a score note is judged live once the take is this far past where it was expected
LIVE_VOTE_NOTES = 4  # sung notes from which a live take's start and tempo are voted for, as a file's
CLASS_TABLE = "class.csv"


class SungTake:
    """The notes of a take as the check reads them, gathered as the take runs: each note's pitch is
    measured from the sung fundamental when it ends (:class:`svt_live.f0.NotePitcher`), not taken
    from the network, and a note whose fundamental steps to another pitch inside it (a legato change
    the transcription did not split) becomes two. Give it the engine's audio (:meth:`on_audio`) and
    its events (:meth:`add`)."""

    def __init__(self, cfg: FeatureConfig = FeatureConfig()):
        self.pitcher = NotePitcher(cfg)
        self.on_audio = self.pitcher.push
        self.rows: list[tuple[float, float, float]] = []

    def add(self, ev) -> bool:
        """Take an engine event; returns whether it was a note's end (and the note is measured)."""
        if not isinstance(ev, NoteOff):
            return False
        self.rows += self.pitcher.measure_parts(ev.onset, ev.time, ev.midi)
        return True

    @property
    def notes(self) -> np.ndarray:
        """The measured notes ``[n, 3]`` so far, by onset."""
        arr = np.array(self.rows, np.float64).reshape(-1, 3)
        return arr[np.argsort(arr[:, 0], kind="stable")]


def sung_notes(path: str | Path, lm, on_block=None) -> np.ndarray:
    """The notes ``[n, 3]`` of a recording as the check reads them: transcribed as a stream (memory
    flat in its length), each note's pitch measured from the sung fundamental as it ends
    (:class:`SungTake`, as in a live take). ``on_block``: called after every block."""
    from .audio import iter_audio
    from .engine import FILE_HOP
    from .offline import transcribe_blocks

    sr = lm.features.sample_rate
    take = SungTake(lm.features)
    transcribe_blocks(iter_audio(path, sr, block_seconds=5.0), lm, sr, FILE_HOP, on_block=on_block,
                      sinks=[lambda events: [take.add(ev) for ev in events]], on_audio=take.on_audio)
    return take.notes


def live_check(score: np.ndarray, sung: np.ndarray, tolerance_cents: float, start_s: float) -> CheckResult:
    """The check of a take still being sung. From ``LIVE_VOTE_NOTES`` sung notes on, the check of a
    finished take (:func:`check`: the start and tempo voted for by the notes so far), as long as it
    starts no earlier than ``start_s`` (the end of the count-in); before that, the score starts at
    ``start_s`` or where the first sung note puts it, at the written tempo (the local time map then
    follows the singer)."""
    if len(sung) >= LIVE_VOTE_NOTES:
        r = check(score, sung, tolerance_cents)
        if r.start_s >= start_s - LIVE_MARGIN_S:
            return r
    first = sung[0, 0] - score[0, 0] if len(sung) else start_s
    return check(score, sung, tolerance_cents, time_map=(max(start_s, first), 1.0))


def settled(result: CheckResult, now_s: float) -> int:
    """How many score notes, from the first, have a verdict that later singing is unlikely to change: up
    to the first one that is sung by the last sung note (the next one may still move it), or neither sung
    nor ``LIVE_MARGIN_S`` in the past at take time ``now_s``."""
    last = len(result.sung) - 1
    for k, c in enumerate(result.notes):
        if (c.sung is None and c.expected_s > now_s - LIVE_MARGIN_S) or (c.sung is not None and c.sung >= last):
            return k
    return len(result.notes)


class LiveMarker:
    """Prints a mark for each score note as the microphone take runs (engine ``on_event`` and
    ``on_audio`` hooks): after each finished sung note, measured as :class:`SungTake` does, the take
    so far is checked (:func:`live_check`) and the newly :func:`settled` notes are printed, each once."""

    def __init__(self, score: Score, tolerance_cents: float, start_s: float, out=sys.stdout,
                 cfg: FeatureConfig = FeatureConfig()):
        self.score, self.tolerance, self.start_s, self.out = score, tolerance_cents, start_s, out
        self.take = SungTake(cfg)
        self.on_audio = self.take.on_audio
        self.marked = 0  # score notes printed so far (in order)
        self.marks: list[str] = []  # the status of each note printed, in order

    def on_event(self, ev) -> None:
        if not self.take.add(ev) or len(self.take.rows) * len(self.score.notes) > MAX_PAIRS:
            return  # a take too long to compare is checked (and refused) at its end
        if len(self.take.rows) >= LIVE_VOTE_NOTES:  # before that the start is a guess
            r = live_check(self.score.notes, self.take.notes, self.tolerance, self.start_s)
            done = settled(r, ev.time)
            for c in r.notes[self.marked:done]:
                print(mark(c), file=self.out, flush=True)
                self.marks.append(c.status)
            self.marked = max(self.marked, done)


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
    from .cli import UsageError
    from .outputs import OutputConflict, check_outputs

    outputs = [("--report", p) for ps in paths.values() for p in ps] + ([("--report", table)] if table else [])
    outputs += [(f"--{flag.replace('_', '-')}", getattr(args, flag, None)) for flag in
                ("json", "csv", "midi_file", "save_audio") if getattr(args, flag, None)]
    try:
        check_outputs(outputs, [("score", score.path)] + [("input", f) for f in args.files if f != "-"])
    except OutputConflict as exc:
        raise UsageError(str(exc)) from None


def run_exercise(args, lm) -> int:
    """``--score``: check files or a microphone take against the score; returns the exit status."""
    from .outputs import song_keys

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
    from .audio import AudioError

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
        from .sightreport import write_class_table
        failed += _report_errors(_write(table, lambda p: write_class_table(p, results), args.quiet))
    return 1 if failed else 0


def _report_errors(errors: list[str]) -> bool:
    for line in errors:
        print(f"svt-live: error: {printable(line)}", file=sys.stderr)
    return bool(errors)


def _write(path: Path, write, quiet: bool) -> list[str]:
    """``write(path)`` and ``wrote PATH``; returns the error line if it failed (``[]`` if not)."""
    from .cli import wrote
    from .outputs import os_error_line
    try:
        write(path)
    except OSError as exc:
        return [os_error_line(exc)]
    wrote(path, quiet)
    return []


def _write_reports(paths: list[Path], score: Score, take: str, model: str, result: CheckResult,
                   quiet: bool) -> list[str]:
    """Each report of one take (HTML for ``.html``, else JSON); returns the error lines."""
    from .sightreport import report_dict, write_html_report, write_json_report

    report = report_dict(score, take, model, result)
    errors = []
    for p in paths:
        html = p.suffix.lower() in (".html", ".htm")
        errors += _write(p, lambda q: write_html_report(q, report, score, result) if html
                         else write_json_report(q, report), quiet)
    return errors


def _run_mic(args, lm, score: Score, tolerance: float, report_paths_: list[Path]) -> int:
    from .live import live_options, run_live
    from .metronome import CountIn

    count_in = CountIn(score.bpm, score.beats_per_bar, args.count_in or 0, args.midi_out)
    marker = LiveMarker(score, tolerance, count_in.seconds, cfg=lm.features)

    def finish(notes) -> list[str]:
        result = check(score.notes, marker.take.notes, tolerance)  # as measured when each ended, as marked
        print(format_result(result))
        return _write_reports(report_paths_, score, "microphone", lm.label, result, args.quiet)

    return run_live(lm, **live_options(args), on_event=marker.on_event, on_start=count_in.start,
                    on_finish=finish, on_audio=marker.on_audio)
