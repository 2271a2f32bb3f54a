"""Sight-singing check: align sung notes to a score and judge every score note.

Conventions
-----------
- A **score** is notes ``[n, 3]`` ``(onset_s, offset_s, midi)`` in *score
  time*: seconds at the score's own tempo, from its start. It is monophonic
  and sorted by onset; pitches are whole MIDI numbers (fractions are allowed
  and used as they are).
- The **sung** notes are notes ``[m, 3]`` in *take time* (seconds from the
  start of the recording), pitch in fractional MIDI, as svt-live transcribes
  them.
- The **time map** takes score time to take time. It is first one line,
  ``take = start_s + tempo_ratio * score`` (``tempo_ratio`` > 1: sung slower
  than written), found by voting: every pair of a score note and a sung note
  of the same pitch class proposes a start for each tempo ratio on a grid
  (0.5-2 by default), and the line that puts the most score notes on a sung
  note of their pitch wins. This absorbs a late start, any steady tempo and
  a whole-octave transposition (``octave_shift``: a man singing a treble
  exercise an octave down is not wrong).
- **Alignment** is dynamic programming over the two note sequences (in
  order, as Needleman-Wunsch aligns strings): a score note is *matched* to
  one sung note, or *missed*; a sung note matched to no score note is an
  *extra*. Matching costs the squared onset error in units of ``tau`` (a
  fraction of the sung inter-onset interval) plus 1 when the pitch is off by
  more than the tolerance; a miss or an extra costs 1.5 each. So a note sung
  at about the right time but at the wrong pitch is a *wrong* note, not a
  miss plus an extra, and one more than about 1.7 ``tau`` away from where it
  belongs is not taken for it.
- **Tempo drift**: after a first alignment the map is refitted locally: for
  every score note a line through the matched pairs nearby (Gaussian weights
  over about four score notes either side, leaning on the global line where
  matches are few; only matches at the right pitch place it, a wrong note may
  be a misalignment), and the alignment is run again until it no longer
  changes: each round follows a drift further. The onset error of a
  note is its sung onset minus where this local map, fitted without that
  note, expects it: timing is judged against the singer's own tempo there.
- **Pitch error** (cents) is sung minus written pitch (after the octave
  shift), against A4 = 440 Hz unless a tuning is given (``tuning_cents``;
  ``None`` estimates the singer's own). Within ``tolerance_cents`` (default
  50) the note is *right*, else *wrong*. The summary's ``median_cents``
  shows a singer sitting flat or sharp throughout.
- A note sung within ``borderline_cents`` (default 5, at most a quarter of
  the tolerance) of the tolerance's edge is *borderline*: a few cents of
  measurement decide between right and wrong there, so it is neither (it is
  listed apart, with its cents). The same holds at the edge of an octave.
- A score note repeating the pitch of the one before, inside a sung note
  already matched to that one, is *held*: sung without a new attack
  (or the attack was not heard). It counts as sung, not as a mistake.
- A note sung within the tolerance of a whole number of octaves from the
  written one (beyond the take's ``octave_shift``) is *octave*: one note
  dropped for the voice's range, or the transcription's octave error. It
  counts as sung, not as a mistake.
- An unmatched sung note shorter than ``GLIDE_S`` that touches a matched
  one is a *glide* (a scoop into or out of that note), not an extra note;
  so is one of any length that carries on a matched note without a break
  (within ``GLIDE_GAP_S``) less than a semitone from it: the note held on
  longer, which the transcription split (listed with the glides).

Statuses per score note: ``right``, ``borderline``, ``wrong``, ``missed``, ``held``, ``octave``.
Mistakes are ``wrong`` and ``missed`` score notes and ``extra`` sung notes; ``borderline``
notes are neither mistakes nor sung right.

Examples
--------
>>> import numpy as np
>>> score = np.array([[0.0, 0.5, 60], [0.5, 1.0, 62], [1.0, 1.5, 64], [1.5, 2.0, 65]], float)
>>> sung = np.array([[2.0, 2.6, 60.1], [2.6, 3.2, 63.0], [3.8, 4.4, 65.2]])  # late, slow, 64 missed
>>> r = check(score, sung)
>>> [n.status for n in r.notes]
['right', 'wrong', 'missed', 'right']
>>> round(r.tempo_ratio, 2), round(r.start_s, 2)
(1.2, 2.0)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from svt_live.notes import NoteError, note_name

GLIDE_S = 0.25  # an unmatched sung note this short, touching a matched one, is a glide into or out of it
GLIDE_GAP_S = 0.03
MISS_COST = 1.5  # a score note sung by nobody, and an extra sung note, each cost this much
WRONG_COST = 1.0  # added to a match whose pitch is off by more than the tolerance
MAX_TIME_COST = 9.0  # squared onset error (in tau) beyond which a match is never cheaper than skipping
MAX_ROUNDS = 8  # alignments after the first, each on the time map refitted to the one before
TEMPO_RANGE = (0.5, 2.0)  # sung duration / written duration searched by the initial vote
MAX_PAIRS = 10_000_000  # score notes x sung notes the alignment compares at most (about 60 bytes each)
BORDERLINE_CENTS = 5.0  # a pitch error this close to the tolerance's edge is borderline
STATUSES = ("right", "borderline", "wrong", "missed", "held", "octave")
SUNG_RIGHT = ("right", "held", "octave")  # statuses that are sung right
MISTAKES = ("wrong", "missed")  # statuses that are mistakes (with the extra sung notes)


@dataclass(frozen=True)
class NoteCheck:
    """The verdict on one score note.

    ``onset``/``offset``/``pitch``: the score note (score seconds, MIDI);
    ``expected_s``: where the time map puts its onset in the take;
    ``sung``: index of the sung note matched (``None`` when missed);
    ``pitch_error_cents``: sung minus written (``None`` when missed);
    ``onset_error_ms``: sung onset minus expected (``None`` when missed or held).
    """

    index: int
    onset: float
    offset: float
    pitch: float
    status: str
    expected_s: float
    sung: int | None = None
    pitch_error_cents: float | None = None
    onset_error_ms: float | None = None


@dataclass
class CheckResult:
    """Everything :func:`check` found: per score note verdicts, extra sung notes and the time map."""

    notes: list[NoteCheck]
    sung: np.ndarray  # [m, 3] the sung notes as given
    extra: list[int]  # indices into ``sung`` of notes matched to no score note (glides left out)
    glides: list[int]  # indices into ``sung`` of short unmatched notes joined to a matched one
    start_s: float  # take time of score time 0 (global line)
    tempo_ratio: float  # take seconds per score second (global line)
    octave_shift: int  # whole octaves the singer sang below (-) or above (+) the score
    tuning_cents: float  # the singer's tuning against A4 = 440 Hz, subtracted from every pitch error
    tolerance_cents: float
    counts: dict = field(init=False)

    def __post_init__(self):
        self.counts = {s: sum(n.status == s for n in self.notes) for s in STATUSES} | {"extra": len(self.extra)}

    def summary(self) -> dict:
        """Counts per status, ``within_tolerance`` (share of score notes sung right, held or an octave off),
        ``mean_abs_cents`` and ``onset_spread_ms`` (standard deviation of onset errors) over
        the sung score notes (``None`` when none was sung), ``median_onset_error_ms``, and the time map."""
        cents = np.array([n.pitch_error_cents for n in self.notes if n.status in ("right", "borderline", "wrong")])
        onsets = np.array([n.onset_error_ms for n in self.notes if n.onset_error_ms is not None])
        n = len(self.notes)

        def stat(f, a):
            return round(float(f(a)), 1) if len(a) else None

        return {"score_notes": n, **self.counts, "glides": len(self.glides),
                "within_tolerance": round(sum(self.counts[k] for k in SUNG_RIGHT) / n, 4) if n else 0.0,
                "mean_abs_cents": stat(lambda a: np.abs(a).mean(), cents),
                "median_cents": stat(np.median, cents[np.abs(cents) < 100]),
                "onset_spread_ms": stat(np.std, onsets), "median_onset_error_ms": stat(np.median, onsets),
                "start_s": round(self.start_s, 3), "tempo_ratio": round(self.tempo_ratio, 4),
                "octave_shift": self.octave_shift, "tuning_cents": round(self.tuning_cents, 1),
                "tolerance_cents": self.tolerance_cents}

    def to_dict(self) -> dict:
        """The JSON report: ``summary``, ``notes`` (one object per score note), ``extra`` sung notes."""
        def r(x, k=1):
            return None if x is None else round(float(x), k)

        notes = [{"index": c.index, "onset": r(c.onset, 4), "offset": r(c.offset, 4), "pitch": r(c.pitch, 2),
                  "name": note_name(c.pitch), "status": c.status, "expected_s": r(c.expected_s, 3),
                  "sung": None if c.sung is None else self._sung_dict(c.sung),
                  "pitch_error_cents": r(c.pitch_error_cents), "onset_error_ms": r(c.onset_error_ms)}
                 for c in self.notes]
        return {"summary": self.summary(), "notes": notes,
                "borderline": [{"index": c.index, "name": note_name(c.pitch),
                                "pitch_error_cents": r(c.pitch_error_cents)} for c in self.notes
                               if c.status == "borderline"],
                "extra": [self._sung_dict(j) for j in self.extra],
                "glides": [self._sung_dict(j) for j in self.glides]}

    def _sung_dict(self, j: int) -> dict:
        on, off, p = self.sung[j]
        return {"index": int(j), "onset": round(float(on), 4), "offset": round(float(off), 4),
                "pitch": round(float(p), 2), "name": note_name(p)}


def _as_notes(notes, what: str) -> np.ndarray:
    arr = np.asarray(notes, dtype=np.float64)
    if arr.size == 0:
        arr = arr.reshape(0, 3)
    if arr.ndim != 2 or arr.shape[1] != 3 or not np.isfinite(arr).all():
        raise NoteError(f"{what}: notes must be finite rows of [onset, offset, midi], got shape {arr.shape}")
    return arr[np.argsort(arr[:, 0], kind="stable")]


def pitch_cost(written: np.ndarray, sung: np.ndarray, tolerance_cents: float) -> np.ndarray:
    """Cost of calling sung pitches ``[..]`` the written ones (MIDI, broadcast): 0 at the written
    pitch rising to 0.1 at the tolerance, then ``WRONG_COST`` plus up to 0.1 more for an octave off."""
    cents = np.abs(sung - written) * 100.0
    within = cents <= tolerance_cents
    return np.where(within, 0.1 * cents / tolerance_cents,
                    WRONG_COST + 0.1 * np.minimum(cents, 1200.0) / 1200.0)


def initial_map(score: np.ndarray, sung: np.ndarray, tempo_range=TEMPO_RANGE,
                window_s: float = 0.15, n_tempi: int = 61) -> tuple[float, float, int]:
    """The line ``take = start + ratio * score`` and octave shift that put the most score notes on
    a sung note of their pitch (within half a semitone and ``window_s``).

    Returns ``(start_s, tempo_ratio, octave_shift)``; ``(sung[0] - score[0] onsets, 1, 0)`` when
    nothing votes.
    """
    fallback = (float(sung[0, 0] - score[0, 0]), 1.0, 0)
    best, best_votes = fallback, 0.0
    s_on, t_on = score[:, 0], sung[:, 0]
    ratios = np.geomspace(tempo_range[0], tempo_range[1], n_tempi)
    for octave in (0, -1, 1, -2, 2):
        same = np.abs(sung[None, :, 2] - (score[:, None, 2] + 12 * octave)) <= 0.5  # [n, m]
        i, j = np.nonzero(same)
        if len(i) == 0:
            continue
        for ratio in ratios:
            starts = t_on[j] - ratio * s_on[i]
            for shift in (0.0, 0.5):  # two bin grids, so a cluster on a bin edge is not split
                bins = np.floor(starts / window_s + shift)
                values, counts = np.unique(bins, return_counts=True)
                k = counts.argmax()
                votes = counts[k] - 0.1 * abs(np.log(ratio)) - 0.2 * abs(octave)  # ties: ratio 1, no shift
                if votes > best_votes:
                    start = float(np.median(starts[bins == values[k]]))
                    best, best_votes = (start, float(ratio), octave), votes
    return best


def fit_line(score_onsets: np.ndarray, sung_onsets: np.ndarray, pairs, fallback: tuple[float, float]):
    """Least-squares line ``take = start + ratio * score`` through the matched pairs' onsets;
    ``fallback`` when they span less than two distinct score times or give a ratio outside 0.25-4."""
    if len(pairs) < 2:
        return fallback
    pi, pj = np.array(pairs).T
    x, y = score_onsets[pi], sung_onsets[pj]
    if np.ptp(x) <= 0:
        return fallback
    ratio, start = np.polyfit(x, y, 1)
    return (float(start), float(ratio)) if 0.25 <= ratio <= 4 else fallback


def best_octave(score: np.ndarray, sung: np.ndarray, start_s: float, ratio: float,
                window_s: float = 0.3) -> int:
    """Octave shift (-2..2, ties to 0) that puts the most score notes on a sung note of their pitch
    class within ``window_s`` of where the line ``start_s + ratio * score`` expects them."""
    near = np.abs(sung[None, :, 0] - (start_s + ratio * score[:, 0, None])) <= window_s  # [n, m]
    votes = {k: int((near & (np.abs(sung[None, :, 2] - score[:, 2, None] - 12 * k) <= 0.5)).any(1).sum())
             for k in (0, -1, 1, -2, 2)}
    return max(votes, key=lambda k: (votes[k], -abs(k)))


def align(expected: np.ndarray, written: np.ndarray, sung: np.ndarray, tau: np.ndarray | float,
          tolerance_cents: float) -> list[tuple[int, int]]:
    """Monotonic alignment of score notes to sung notes (dynamic programming).

    ``expected [n]``: take-time onset of each score note under the current time map;
    ``written [n]``: its pitch (MIDI, octave shift applied); ``sung [m, 3]``;
    ``tau``: onset error scale, s (scalar or ``[n]``).
    Returns the matched pairs ``(score index, sung index)`` in order.
    """
    n, m = len(expected), len(sung)
    dt = (sung[None, :, 0] - expected[:, None]) / np.broadcast_to(tau, (n,))[:, None]
    match = np.minimum(dt ** 2, MAX_TIME_COST) + pitch_cost(written[:, None], sung[None, :, 2], tolerance_cents)
    cost = np.zeros((n + 1, m + 1))
    cost[:, 0] = MISS_COST * np.arange(n + 1)
    cost[0, :] = MISS_COST * np.arange(m + 1)
    step = np.zeros((n + 1, m + 1), np.int8)  # 0 match, 1 score note missed, 2 sung note extra
    step[1:, 0], step[0, 1:] = 1, 2
    ramp = MISS_COST * np.arange(m + 1)
    for i in range(1, n + 1):  # a row at a time: match or miss from the row above, then extras along it
        prev = cost[i - 1]
        diag, up = prev[:-1] + match[i - 1], prev[1:] + MISS_COST
        best = np.concatenate([[cost[i, 0]], np.minimum(diag, up)])
        scan = ramp + np.minimum.accumulate(best - ramp)  # cheapest arrival after extras from the left
        extra = scan < best - 1e-9  # ties (and rounding) go to a match or a miss, as the order above
        cost[i] = np.where(extra, scan, best)
        step[i, 1:] = np.where(extra[1:], 2, np.where(diag <= up, 0, 1))
    pairs, i, j = [], n, m
    while i > 0 or j > 0:
        k = step[i, j]
        if k == 0:
            pairs.append((i - 1, j - 1))
        i, j = (i - 1, j - 1) if k == 0 else (i - 1, j) if k == 1 else (i, j - 1)
    return pairs[::-1]


def local_map(score_onsets: np.ndarray, pairs: list[tuple[int, int]], sung_onsets: np.ndarray,
              start_s: float, ratio: float, width_notes: float = 4.0,
              leave_out: bool = False) -> np.ndarray:
    """Take-time onset expected for every score note ``[n]`` from the matched pairs nearby.

    Each note gets a weighted line through the pairs (Gaussian weights in score time, width
    ``width_notes`` median score inter-onset intervals), pulled towards the global line
    ``start_s + ratio * score`` where matches are few. ``leave_out``: a note's own pair is not
    used for it (to measure its onset error).
    """
    line = start_s + ratio * score_onsets
    if not pairs:
        return line
    ioi = np.diff(score_onsets)
    width = width_notes * max(float(np.median(ioi[ioi > 0])) if (ioi > 0).any() else 0.5, 0.05)
    pi, pj = np.array(pairs).T
    x = score_onsets[pi][None, :] - score_onsets[:, None]  # [n, k] score time from each note
    y = sung_onsets[pj][None, :]
    w = np.exp(-0.5 * (x / width) ** 2)
    if leave_out:
        w = np.where(pi[None, :] == np.arange(len(score_onsets))[:, None], 0.0, w)
    prior, ridge = 0.05, 0.1 * width ** 2  # weight of the global line's point; slope pull to its ratio
    sw, sx = w.sum(1) + prior, (w * x).sum(1)
    sxx = (w * x * x).sum(1) + ridge
    sy = (w * y).sum(1) + prior * line
    sxy = (w * x * y).sum(1) + ridge * ratio
    det = sw * sxx - sx * sx
    return (sy * sxx - sx * sxy) / det


def _right(pairs, written: np.ndarray, sung: np.ndarray, tolerance_cents: float) -> list[tuple[int, int]]:
    """The pairs whose pitch is right: only they place the time map (a wrong note may be a misalignment)."""
    return [(i, j) for i, j in pairs if abs(sung[j, 2] - written[i]) * 100 <= tolerance_cents]


def _tau(sung: np.ndarray, ratio: float, score_onsets: np.ndarray) -> float:
    """Onset error scale: 40 % of the median interval between notes (sung, or written at the
    sung tempo when fewer than two were sung), kept within 80-350 ms."""
    ioi = np.diff(sung[:, 0]) if len(sung) > 1 else ratio * np.diff(score_onsets)
    ioi = ioi[ioi > 0]
    return float(np.clip(0.4 * np.median(ioi), 0.08, 0.35)) if len(ioi) else 0.2


def estimate_tuning(written: np.ndarray, sung: np.ndarray, pairs, limit_cents: float = 50.0) -> float:
    """The singer's tuning, cents: the median of sung minus written pitch over the matched pairs
    less than a semitone apart (wrong notes do not pull it), within +-``limit_cents``; 0 without pairs."""
    dev = np.array([100.0 * (sung[j, 2] - written[i]) for i, j in pairs])
    dev = dev[np.abs(dev) < 100.0]
    return float(np.clip(np.median(dev), -limit_cents, limit_cents)) if len(dev) else 0.0


def check(score, sung, tolerance_cents: float = 50.0, time_map: tuple[float, float] | None = None,
          tuning_cents: float | None = 0.0, tempo_range=TEMPO_RANGE,
          borderline_cents: float = BORDERLINE_CENTS) -> CheckResult:
    """Judge every note of ``score`` against the ``sung`` notes.

    Parameters
    ----------
    score : array [n, 3]
        ``(onset_s, offset_s, midi)`` in score time (see the module conventions).
    sung : array [m, 3]
        The transcribed take, take time.
    tolerance_cents : float
        Largest pitch error of a right note.
    time_map : (start_s, tempo_ratio), optional
        Known start and tempo ratio (live mode after a count-in) instead of the vote.
    tuning_cents : float or None
        The tuning sung pitches are judged against, cents from A4 = 440 Hz (default 0);
        ``None``: the singer's own, estimated from the take (:func:`estimate_tuning`).
    tempo_range : (low, high)
        Tempo ratios the vote considers.
    borderline_cents : float
        A pitch error within this of the tolerance's edge is ``borderline`` (at most a quarter of
        the tolerance is used; 0: no note is borderline).

    Returns
    -------
    CheckResult
    """
    score, sung = _as_notes(score, "score"), _as_notes(sung, "sung notes")
    if not len(score):
        raise NoteError("score: no notes")
    if len(score) * len(sung) > MAX_PAIRS:
        raise NoteError(f"{len(sung)} sung notes against {len(score)} written: more than the check compares "
                        f"({MAX_PAIRS:.0e} pairs); check a shorter take or exercise")
    if not (0 < tolerance_cents < np.inf):
        raise ValueError(f"tolerance_cents must be positive, got {tolerance_cents}")
    if not (0 <= borderline_cents < np.inf):
        raise ValueError(f"borderline_cents must be 0 or more, got {borderline_cents}")
    border = min(borderline_cents, tolerance_cents / 4)
    if time_map is not None:
        start, ratio = time_map
        octave = best_octave(score, sung, start, ratio) if len(sung) else 0
    elif len(sung):
        start, ratio, octave = initial_map(score, sung, tempo_range)
    else:
        start, ratio, octave = 0.0, 1.0, 0
    written = score[:, 2] + 12 * octave
    s_on = score[:, 0]
    expected = start + ratio * s_on
    pairs, tuning = [], 0.0 if tuning_cents is None else float(tuning_cents)
    if len(sung):
        tau = _tau(sung, ratio, s_on)
        pairs = align(expected, written + tuning / 100, sung, 1.5 * tau, tolerance_cents)
        if tuning_cents is None:
            tuning = estimate_tuning(written, sung, pairs)
        for _ in range(MAX_ROUNDS):  # each round follows the drift a little further from where it matched
            expected = local_map(s_on, _right(pairs, written + tuning / 100, sung, tolerance_cents), sung[:, 0],
                                 start, ratio)
            pairs, before = align(expected, written + tuning / 100, sung, tau, tolerance_cents), pairs
            if pairs == before:
                break
    start, ratio = fit_line(s_on, sung[:, 0] if len(sung) else np.zeros(0), pairs, (start, ratio))
    timing = local_map(s_on, pairs, sung[:, 0] if len(sung) else np.zeros(0), start, ratio, leave_out=True)
    expected = local_map(s_on, pairs, sung[:, 0] if len(sung) else np.zeros(0), start, ratio)
    matched = dict(pairs)
    verdicts = []
    for i, (on, off, p) in enumerate(score):
        j = matched.get(i)
        if j is None:
            verdicts.append(_unmatched(i, score, sung, matched, verdicts, expected, written))
            continue
        cents = 100.0 * (sung[j, 2] - written[i]) - tuning
        verdicts.append(NoteCheck(i, on, off, p, pitch_verdict(cents, tolerance_cents, border), float(expected[i]),
                                  int(j), float(cents), 1000.0 * (sung[j, 0] - timing[i])))
    unmatched = sorted(set(range(len(sung))) - set(matched.values()))
    glides = [j for j in unmatched if is_glide(sung, j, set(matched.values()))]
    extra = [j for j in unmatched if j not in glides]
    return CheckResult(verdicts, sung, extra, glides, float(start), float(ratio), int(octave), float(tuning),
                       float(tolerance_cents))


def pitch_verdict(cents: float, tolerance_cents: float, borderline_cents: float = 0.0) -> str:
    """``right`` within the tolerance, ``octave`` within it of a whole number of octaves away (one
    note dropped an octave for the voice's range, or the transcription's octave error), else ``wrong``;
    ``borderline`` within ``borderline_cents`` of the tolerance's edge (either side), where a few
    cents of measurement decide.

    >>> [pitch_verdict(c, 50, 5) for c in (20, 47, -53, 80, 1190)]
    ['right', 'borderline', 'borderline', 'wrong', 'octave']
    """
    off = abs(cents - 1200.0 * round(cents / 1200.0)) if abs(cents) > tolerance_cents + borderline_cents else abs(cents)
    if abs(off - tolerance_cents) <= borderline_cents:
        return "borderline"
    if off > tolerance_cents:
        return "wrong"
    return "right" if abs(cents) <= tolerance_cents else "octave"


def is_glide(sung: np.ndarray, j: int, matched: set[int]) -> bool:
    """Whether sung note ``j`` is a glide: shorter than ``GLIDE_S`` and touching (within
    ``GLIDE_GAP_S``) the sung note before or after it that is matched to a score note. A singer's
    scoop into a note, which the transcription may cut off as a note of its own, is not an extra note;
    nor is the rest of a matched note held on (touching it, less than a semitone away), however long."""
    on, off, p = sung[j]
    if j - 1 in matched and on - sung[j - 1, 1] <= GLIDE_GAP_S and abs(p - sung[j - 1, 2]) < 1.0:
        return True
    if off - on >= GLIDE_S:
        return False
    before = j - 1 in matched and on - sung[j - 1, 1] <= GLIDE_GAP_S
    after = j + 1 in matched and sung[j + 1, 0] - off <= GLIDE_GAP_S
    return before or after


def _unmatched(i, score, sung, matched, verdicts, expected, written) -> NoteCheck:
    """A score note no sung note was matched to: ``held`` when it repeats the pitch of the note
    before and the sung note matched to that one lasts past its expected onset, else ``missed``."""
    on, off, p = score[i]
    if i > 0 and verdicts[-1].status in (*SUNG_RIGHT, "borderline") and score[i - 1, 2] == p:
        j = verdicts[-1].sung
        if sung[j, 0] < expected[i] < sung[j, 1]:
            return NoteCheck(i, on, off, p, "held", float(expected[i]), j, verdicts[-1].pitch_error_cents, None)
    return NoteCheck(i, on, off, p, "missed", float(expected[i]))


def mark(c: NoteCheck) -> str:
    """One printable line for a verdict, e.g. ``  3  E4   wrong  +112 cents   -40 ms``."""
    sign = {"right": "ok", "held": "ok", "octave": "ok", "borderline": "~", "wrong": "WRONG",
            "missed": "MISSED"}[c.status]
    line = f"{c.index + 1:4d}  {note_name(c.pitch):>4}  {sign:<6} {c.status:<10}"
    if c.pitch_error_cents is not None:
        line += f"  {c.pitch_error_cents:+5.0f} cents"
        if c.status in ("wrong", "borderline"):
            line += f" (sung {note_name(c.pitch + c.pitch_error_cents / 100.0)})"
    if c.onset_error_ms is not None:
        line += f"  {c.onset_error_ms:+5.0f} ms"
    return line.rstrip()


def format_result(r: CheckResult) -> str:
    """The printed report: one line per score note, the borderline and extra sung notes, the summary."""
    lines = ["   #  note  verdict            pitch       onset"] + [mark(c) for c in r.notes]
    lines += [f"borderline {c.index + 1} {note_name(c.pitch)} {c.pitch_error_cents:+.0f} cents"
              for c in r.notes if c.status == "borderline"]
    lines += [f"extra {note_name(r.sung[j, 2]):>4} at {r.sung[j, 0]:.2f} s" for j in r.extra]
    lines.append(summary_line(r))
    return "\n".join(lines)


def summary_line(r: CheckResult) -> str:
    """The summary in one line: notes sung right, borderline, mistakes, the mean pitch error and
    onset spread (``no notes sung`` when there are none), the time map."""
    s = r.summary()
    if s["mean_abs_cents"] is None:
        sung = "no notes sung" if not len(r.sung) else "no note of the exercise sung"
    else:
        sung = f"mean |pitch error| {s['mean_abs_cents']} cents" + (
            f", onset spread {s['onset_spread_ms']} ms" if s["onset_spread_ms"] is not None else "")
    return (f"{sum(s[k] for k in SUNG_RIGHT)}/{s['score_notes']} notes within {r.tolerance_cents:g} cents "
            f"({100 * s['within_tolerance']:.0f} %), {s['borderline']} borderline, {s['wrong']} wrong, "
            f"{s['missed']} missed, {s['extra']} extra; {sung}; start {s['start_s']:.2f} s, "
            f"tempo x{s['tempo_ratio']:.2f}" + (f", {s['octave_shift']:+d} octave(s)" if s["octave_shift"] else ""))
