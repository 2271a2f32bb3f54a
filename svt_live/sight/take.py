"""A take as the sight-singing check reads it, file or microphone: sung notes with measured pitch, and
the live marks of a take still being sung.

:class:`SungTake` gathers the notes from the engine's events and measures each note's pitch from the
sung fundamental as it ends; :func:`sung_notes` does so for a recording; :func:`live_check` and
:func:`settled` say which score notes of a running take have a verdict; :class:`LiveMarker` prints
them as they come (``svt-live --input mic --score``, svt-gui's exercise lanes). The check itself is
:mod:`svt_live.sight.check`.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from svt_live.console import line
from svt_live.engine.f0 import NotePitcher
from svt_live.engine.features import FeatureConfig
from svt_live.events import NoteOff
from svt_live.sight.check import MAX_PAIRS, CheckResult, check, mark
from svt_live.sight.score import Score

LIVE_MARGIN_S = 0.5  # a score note is judged live once the take is this far past where it was expected
LIVE_VOTE_NOTES = 4  # sung notes from which a live take's start and tempo are voted for, as a file's


class SungTake:
    """The notes of a take as the check reads them, gathered as the take runs: each note's pitch is
    measured from the sung fundamental when it ends (:class:`svt_live.engine.f0.NotePitcher`), not taken
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
    from svt_live.engine.offline import transcribe_blocks
    from svt_live.engine.streaming import FILE_HOP
    from svt_live.io.blocks import file_blocks

    sr = lm.features.sample_rate
    take = SungTake(lm.features)
    transcribe_blocks(file_blocks(path, sr), lm, sr, FILE_HOP, on_block=on_block,
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
                line(mark(c), self.out)
                self.marks.append(c.status)
            self.marked = max(self.marked, done)
