"""``svt-live --score EXERCISE``: sing against a score, see every wrong note.

Files: each take is transcribed, checked against the score
(:func:`svt_live.sightsing.check`) and its verdicts printed; ``--report``
writes them as JSON (a folder, one ``<take>.json`` each, for several files).
Microphone: ``--count-in BARS`` clicks that many bars at the score's tempo
(:mod:`svt_live.metronome`), then each score note is marked right or wrong
as soon as it is sung (or missed once a later note is); the verdicts of the
whole take, checked again at the end, are what the report keeps.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from .outputs import atomic_write
from .events import NoteOff
from .score import Score, read_score
from .sightsing import CheckResult, check, format_result, mark

DEFAULT_TOLERANCE_CENTS = 50.0
LIVE_MARGIN_S = 0.5  # a score note is judged live once the take is this far past where it was expected


def report_dict(score: Score, take: str, model: str, result: CheckResult) -> dict:
    """The ``--report`` JSON: what was checked against what, then :meth:`CheckResult.to_dict`."""
    return {"score": score.path, "voice": score.voice, "take": take, "model": model} | result.to_dict()


def write_report(path: str | Path, report: dict) -> None:
    payload = json.dumps(report, indent=1)
    atomic_write(path, lambda tmp: Path(tmp).write_text(payload + "\n"))


def _check_paths(args, score: Score) -> None:
    """A report never replaces the score or a take (the user's own files)."""
    from .cli import UsageError
    if args.report:
        target = Path(args.report).resolve()
        if any(target == Path(f).resolve() for f in [score.path, *args.files]):
            raise UsageError(f"--report {args.report} would replace an input file")


def sung_notes(path: str | Path, lm) -> np.ndarray:
    """The notes ``[n, 3]`` of a recording as the check reads them: transcribed, then each note's
    pitch measured from the sung fundamental (:func:`svt_live.f0.note_pitches`, as the as-sung
    references of the benchmark are), not the model's note pitch."""
    from .audio import load_audio
    from .f0 import note_pitches
    from .offline import transcribe_audio

    audio = load_audio(path, lm.features.sample_rate)
    notes, _ = transcribe_audio(audio, lm)
    notes[:, 2] = note_pitches(notes, audio, lm.features)
    return notes


def live_check(score: np.ndarray, sung: np.ndarray, tolerance_cents: float, start_s: float) -> CheckResult:
    """The check of a take still being sung: the score starts at ``start_s`` (the end of the count-in)
    or, once a note is sung, where that first note puts it, at the written tempo (the local time map
    then follows the singer)."""
    first = sung[0, 0] - score[0, 0] if len(sung) else start_s
    return check(score, sung, tolerance_cents, time_map=(max(start_s, first), 1.0))


def settled(result: CheckResult, now_s: float) -> int:
    """How many score notes, from the first, have a verdict that later singing will not change: up to
    the first one neither sung nor ``LIVE_MARGIN_S`` in the past at take time ``now_s``."""
    for k, c in enumerate(result.notes):
        if c.sung is None and c.expected_s > now_s - LIVE_MARGIN_S:
            return k
    return len(result.notes)


class LiveMarker:
    """Prints a mark for each score note as the microphone take runs (engine ``on_event`` hook):
    after each finished sung note the take so far is checked (:func:`live_check`) and the newly
    :func:`settled` notes are printed, each once."""

    def __init__(self, score: Score, tolerance_cents: float, start_s: float, out=sys.stdout):
        self.score, self.tolerance, self.start_s, self.out = score, tolerance_cents, start_s, out
        self.sung: list[tuple[float, float, float]] = []
        self.marked = 0  # score notes printed so far (in order)

    def on_event(self, ev) -> None:
        if isinstance(ev, NoteOff):
            self.sung.append((ev.onset, ev.time, ev.midi))
            r = live_check(self.score.notes, np.array(self.sung).reshape(-1, 3), self.tolerance, self.start_s)
            for c in r.notes[self.marked:settled(r, ev.time)]:
                print(mark(c), file=self.out, flush=True)
            self.marked = max(self.marked, settled(r, ev.time))


def run_exercise(args, lm) -> int:
    """``--score``: check files or a microphone take against the score; returns the exit status."""
    score = read_score(args.score)
    _check_paths(args, score)
    tolerance = args.tolerance_cents or DEFAULT_TOLERANCE_CENTS
    print(f"exercise {score.path}: {len(score.notes)} notes, {score.voice}, {score.bpm:g} per minute",
          file=sys.stderr)
    if args.input == "mic":
        return _run_mic(args, lm, score, tolerance)
    from .cli import song_keys

    files = [Path(f) for f in args.files]
    keys = song_keys(files)
    for f in files:
        notes = sung_notes(f, lm)
        result = check(score.notes, notes, tolerance)
        print(f"{f}: {len(notes)} sung notes\n{format_result(result)}")
        if args.report:
            path = Path(args.report) / f"{keys[f]}.json" if len(files) > 1 else Path(args.report)
            write_report(path, report_dict(score, str(f), lm.label, result))
    return 0


def _run_mic(args, lm, score: Score, tolerance: float) -> int:
    from .live import live_options, run_live
    from .metronome import CountIn

    count_in = CountIn(score.bpm, score.beats_per_bar, args.count_in or 0, args.midi_out)
    marker = LiveMarker(score, tolerance, count_in.seconds)

    def finish(notes) -> list[str]:
        result = check(score.notes, notes, tolerance)
        print(format_result(result))
        if args.report:
            try:
                write_report(args.report, report_dict(score, "microphone", lm.label, result))
            except OSError as exc:
                return [f"cannot write {args.report}: {exc.strerror or exc}"]
        return []

    return run_live(lm, **live_options(args), on_event=marker.on_event, on_start=count_in.start, on_finish=finish)
