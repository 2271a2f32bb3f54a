"""Beats, tempo, meter and downbeat from sung notes, and the notes' places on that beat grid.

Conventions: notes are ``(onset_s, offset_s, midi)`` rows sorted by onset; a
*beat* is the meter's beat (a quarter note in 2/4, 3/4, 4/4; a dotted quarter
in 6/8), ``beat_q`` its length in quarter notes; positions are in beats from
beat 0 of the tracked beat times, and in quarter notes once placed in a score.

How (every step a small function below):

1. An onset envelope (impulses at the note onsets, longer notes weigh more,
   smoothed) gives candidate beat periods by autocorrelation.
2. For each candidate period and beat division (2: simple meters, 3:
   compound) a dynamic-programming beat tracker in the style of Ellis (2007)
   places beats on the onsets while letting the tempo drift; each onset is
   snapped to a beat subdivision by a second dynamic program that prefers the
   beat, then half beats, then quarter beats and common note values ("simple
   values first"); the beat times are then refitted to the snapped onsets by
   smoothed least squares (the grid follows the singer), and the notes snapped
   again. The hypothesis with the best fit, value and tempo priors wins.
3. The meter (2/4, 3/4, 4/4 or 6/8, whatever division won) and the downbeat
   come from the snapped notes in quarter notes: long notes and onsets fall on
   downbeats, notes held across a barline or over a beat from off it are rare,
   a bar holds a handful of notes, a pickup is a beat or less and shorter than
   half the bar (a longer one is heard as the bar's strong half), bars repeat
   (:func:`meter_and_downbeat`). A first bar shorter than the meter is a pickup.

With ``bpm`` given the beat period is held; with ``meter`` given only that
meter is tried. The constants below were tuned on the development half of
``python -m benchmarks.notation``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FPS = 50  # envelope frames per second
TIMING_SD_S = 0.035  # expected onset error against the beat grid (singer's jitter plus the grid's)
TEMPO_CENTER_BPM = 100.0  # beats per minute that the tempo prior prefers
TEMPO_SD_OCTAVES = 0.5
PERIOD_RANGE_S = (0.3, 1.25)  # beat periods considered (200 to 48 beats per minute)
# Cost (nats) of an onset at each place in a beat, by division: on the beat, then coarser places first.
PLACE_COSTS = {2: {0.0: 0.0, 0.5: 0.5, 0.25: 1.25, 0.75: 1.25},
               3: {0.0: 0.0, 1 / 3: 0.5, 2 / 3: 0.5, 1 / 6: 1.5, 0.5: 1.5, 5 / 6: 1.5}}
# How often a melody's notes last each value (quarter notes) between onsets (measured on the development
# half of benchmarks.notation's folk melodies, rounded); any other value has OTHER_VALUE.
VALUE_SHARES = {0.25: 0.18, 0.5: 0.49, 0.75: 0.03, 1.0: 0.22, 1.5: 0.04, 2.0: 0.03, 3.0: 0.01, 4.0: 0.005}
OTHER_VALUE = 0.003
DIVISION_COSTS = {2: 0.0, 3: 0.5}  # nats per note against compound meters: evenly spaced notes group by 2
SYNCOPATION_COST = 1.5  # nats for a note that starts off the beat and is held over the next beat
VALUE_WEIGHT = 1.0  # the note-value prior's weight against the timing fit
TEMPO_WEIGHT = 1.0  # the tempo prior's weight (per take) against the mean cost per note
MIN_ONSETS = 4  # distinct onsets needed to look for a beat
# The meter: choices and the weights of its evidence (meter_and_downbeat).
METER_CHOICES = ((2, 4), (3, 4), (4, 4), (6, 8))
ONSET_BONUS = 1.0  # a downbeat with an onset, on top of the note's accent
MISSING_DOWNBEAT_COST = 3.0  # a downbeat without an onset (a note held over the barline, or a rest)
BAR_NOTES = 3.5  # notes a bar holds, about: bars of melodies hold a handful of notes
BAR_NOTES_WEIGHT = 1.0
DIVISION_MISMATCH_COST = 0.25  # a meter whose beat divides otherwise than the tracked beat (6/8 over a beat in halves)
PICKUP_COST = 0.1  # any pickup: a tune starts on the downbeat unless its accents say otherwise
LONG_PICKUP_COST = 0.5  # per beat of a pickup longer than one beat (pickups are a beat or less, mostly)
HALF_BAR_PICKUP_COST = 0.5  # a pickup of half the bar or more: it would be heard as the bar's strong half
METER_SYNC_WEIGHT = 4.0  # per share of notes held over the meter's next beat from off the beat
REPEAT_WEIGHT = 1.0  # per share of notes that recur a bar later


@dataclass(frozen=True)
class Rhythm:
    """Where the notes sit in a score.

    Attributes
    ----------
    beats_s : numpy.ndarray
        Times of the tracked beats (s), from the first bar's start to past the last note.
    beats_q : numpy.ndarray
        Where each tracked beat falls, in quarter notes from the first bar's downbeat
        (the tempo map: seconds <-> quarter notes).
    meter : (int, int)
        Time signature.
    qpm : float
        Mean tempo, quarter notes per minute.
    onset_q, offset_q : numpy.ndarray
        Each note's start and end in quarter notes from the first bar's downbeat
        (the first bar may be a pickup: its notes start after 0).
    pickup_q : float
        Quarter notes missing from the first bar (0 without a pickup).
    """

    beats_s: np.ndarray
    beats_q: np.ndarray
    meter: tuple[int, int]
    qpm: float
    onset_q: np.ndarray
    offset_q: np.ndarray
    pickup_q: float


def onset_envelope(onsets_s: np.ndarray, weights: np.ndarray, fps: int = FPS,
                   smooth_s: float = 0.03) -> tuple[np.ndarray, float]:
    """Weighted impulses at the onsets smoothed by a Gaussian: ``(envelope [frames], time of frame 0 s)``."""
    t0 = float(onsets_s[0]) - 1.0
    n = int((float(onsets_s[-1]) - t0 + 1.0) * fps) + 1
    env = np.zeros(n)
    np.add.at(env, np.round((onsets_s - t0) * fps).astype(int), weights)
    half = int(4 * smooth_s * fps)
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / (smooth_s * fps)) ** 2)
    return np.convolve(env, kernel, mode="same"), t0


def period_candidates(env: np.ndarray, fps: int = FPS, top: int = 3) -> list[float]:
    """Beat periods (s) worth trying: the strongest autocorrelation peaks and their 2x, 3x, /2, /3 relatives."""
    lo, hi = int(0.1 * fps), int(2.6 * fps)
    spectrum = np.fft.rfft(env, 2 * len(env))
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[: hi + 1]
    peaks = [k for k in range(lo, min(hi, len(ac) - 1)) if ac[k] >= ac[k - 1] and ac[k] > ac[k + 1]]
    peaks = sorted(peaks, key=lambda k: -ac[k])[:top]
    out: list[float] = []
    for k in peaks:
        for f in (1, 2, 3, 4, 6, 1 / 2, 1 / 3, 1 / 4):
            p = k * f / fps
            if PERIOD_RANGE_S[0] <= p <= PERIOD_RANGE_S[1] and all(abs(p / q - 1) > 0.04 for q in out):
                out.append(p)
    return out or [0.5]


def track_beats(env: np.ndarray, period_frames: float, tightness: float = 100.0) -> np.ndarray:
    """Beat frames by dynamic programming (Ellis 2007): onsets on beats, intervals near the period.

    Parameters
    ----------
    env : numpy.ndarray
        Onset envelope.
    period_frames : float
        Expected beat period in frames.
    tightness : float
        Weight of the squared log-ratio of each beat interval to the period.

    Returns
    -------
    numpy.ndarray of int
        Beat frames, increasing.
    """
    n = len(env)
    score = env.astype(np.float64).copy()
    back = np.full(n, -1)
    lo_off, hi_off = int(round(2 * period_frames)), max(1, int(round(period_frames / 2)))
    for t in range(hi_off, n):
        prev = np.arange(max(0, t - lo_off), t - hi_off + 1)
        if not len(prev):
            continue
        cand = score[prev] - tightness * np.log((t - prev) / period_frames) ** 2
        j = int(np.argmax(cand))
        if cand[j] > 0:
            score[t] += cand[j]
            back[t] = prev[j]
    tail = np.arange(max(0, n - int(round(period_frames))), n)
    t = int(tail[np.argmax(score[tail])])
    beats = [t]
    while back[t] >= 0:
        t = int(back[t])
        beats.append(t)
    return np.array(beats[::-1])


def beat_position(times_s: np.ndarray, beats_s: np.ndarray) -> np.ndarray:
    """Fractional beat index of each time (beat k at ``beats_s[k]``), extrapolated at the ends."""
    k = np.arange(len(beats_s), dtype=np.float64)
    if len(beats_s) < 2:
        return np.asarray(times_s, dtype=np.float64) - beats_s[0]
    x = np.interp(times_s, beats_s, k)
    first, last = beats_s[1] - beats_s[0], beats_s[-1] - beats_s[-2]
    x = np.where(times_s < beats_s[0], (times_s - beats_s[0]) / first, x)
    return np.where(times_s > beats_s[-1], k[-1] + (times_s - beats_s[-1]) / last, x)


_VALUE_TABLE = np.full(12 * 8 + 1, -np.log(OTHER_VALUE))  # by twelfths of a quarter note, up to 8 quarters
for _value, _share in VALUE_SHARES.items():
    _VALUE_TABLE[int(round(_value * 12))] = -np.log(_share)


def value_cost(values_q: np.ndarray) -> np.ndarray:
    """Negative log share of each note value (quarter notes), :data:`VALUE_SHARES`.

    >>> value_cost(np.array([0.5, 1 / 3])).round(2).tolist()
    [0.71, 5.81]
    """
    v = np.asarray(values_q, dtype=np.float64)
    twelfths = np.round(v * 12)
    exact = np.abs(v * 12 - twelfths) < 1e-6
    idx = np.clip(twelfths, 0, len(_VALUE_TABLE) - 1).astype(int)
    return np.where(exact & (twelfths < len(_VALUE_TABLE)), _VALUE_TABLE[idx], -np.log(OTHER_VALUE))


def snap_onsets(x: np.ndarray, period_s: np.ndarray, division: int, beat_q: float) -> tuple[np.ndarray, float]:
    """Onsets (fractional beats) -> places on the beat subdivisions, by dynamic programming.

    Each onset may go to a place within half a beat; its cost is the squared
    timing error (``period_s`` is the local beat period, s) over
    :data:`TIMING_SD_S`, plus the place's cost (:data:`PLACE_COSTS`), plus the
    note value it makes with the onset before (:func:`value_cost`). Places
    strictly increase.

    Returns
    -------
    numpy.ndarray
        Snapped positions (beats).
    float
        Total cost (nats).
    """
    places = PLACE_COSTS[division]
    cands, costs = [], []
    for xi, pi in zip(x, period_s):
        base = np.floor(xi)
        c = [(base + d + f, cost) for d in (-1, 0, 1) for f, cost in places.items() if abs(base + d + f - xi) <= 0.55]
        cands.append(np.array([ci for ci, _ in c]))
        costs.append(np.array([((ci - xi) * pi / TIMING_SD_S) ** 2 / 2 + cost for ci, cost in c]))
    total = costs[0].copy()
    backs = []
    for i in range(1, len(x)):
        step = (cands[i][None, :] - cands[i - 1][:, None]) * beat_q
        trans = np.where(step > 1e-6, VALUE_WEIGHT * value_cost(np.round(step, 6)), np.inf)
        prev = cands[i - 1][:, None]
        off_beat = np.abs(prev - np.round(prev)) > 1e-6
        trans = trans + SYNCOPATION_COST * (off_beat & (cands[i][None, :] > np.floor(prev) + 1 + 1e-6))
        tot = total[:, None] + trans
        j = np.argmin(tot, axis=0)
        backs.append(j)
        total = tot[j, np.arange(len(j))] + costs[i]
        if not np.isfinite(total).any():  # crowded onsets: let the later one move past the earlier
            total = costs[i] + np.min(tot)
    best = int(np.argmin(total))
    out = [cands[-1][best]]
    for i in range(len(x) - 1, 0, -1):
        best = int(backs[i - 1][best])
        out.append(cands[i - 1][best])
    pos = np.array(out[::-1])
    for i in range(1, len(pos)):  # the fallback above may leave ties: nudge forward by a finest step
        if pos[i] <= pos[i - 1]:
            pos[i] = pos[i - 1] + 1 / (2 * division)
    return pos, float(np.min(total))


def refit_beats(onsets_s: np.ndarray, pos: np.ndarray, n_beats: int, smooth: float = 4.0) -> np.ndarray:
    """Beat times (s) ``[n_beats]`` that best explain onsets at known beat positions, tempo smoothed.

    Least squares on the onsets' times interpolated between their two beats,
    plus ``smooth`` times the squared second difference of the beat times.
    """
    k = np.clip(np.floor(pos).astype(int), 0, n_beats - 2)
    f = pos - k
    normal = np.zeros((n_beats, n_beats))  # the normal equations of the least squares, built directly
    rhs = np.zeros(n_beats)
    for idx, w in ((k, 1 - f), (k + 1, f)):
        np.add.at(rhs, idx, w * onsets_s)
        for idx2, w2 in ((k, 1 - f), (k + 1, f)):
            np.add.at(normal, (idx, idx2), w * w2)
    second = np.zeros((max(n_beats - 2, 0), n_beats))
    rows = np.arange(len(second))
    second[rows, rows], second[rows, rows + 1], second[rows, rows + 2] = 1.0, -2.0, 1.0
    normal += smooth ** 2 * second.T @ second + 1e-9 * np.eye(n_beats)
    return solve_banded_spd(normal, rhs, 2)


def solve_banded_spd(a: np.ndarray, b: np.ndarray, bandwidth: int) -> np.ndarray:
    """Solve ``a x = b`` for a symmetric positive definite ``a`` that is zero beyond ``bandwidth``
    off the diagonal (banded Cholesky: time linear in the size).

    >>> a = np.array([[4.0, 1, 0], [1, 4, 1], [0, 1, 4]])
    >>> np.allclose(solve_banded_spd(a, np.array([1.0, 2, 3]), 1), np.linalg.solve(a, [1.0, 2, 3]))
    True
    """
    n = len(b)
    if n <= 64:  # small: the dense solve is as quick
        return np.linalg.solve(a, b)
    chol = np.zeros((n, bandwidth + 1))  # chol[i, d] = L[i, i - d]
    for i in range(n):
        lo = max(0, i - bandwidth)
        for j in range(lo, i + 1):
            acc = a[i, j] - sum(chol[i, i - k] * chol[j, j - k] for k in range(max(lo, j - bandwidth), j))
            chol[i, i - j] = np.sqrt(acc) if i == j else acc / chol[j, 0]
    y = np.zeros(n)
    for i in range(n):
        y[i] = (b[i] - sum(chol[i, i - k] * y[k] for k in range(max(0, i - bandwidth), i))) / chol[i, 0]
    x = np.zeros(n)
    for i in range(n - 1, -1, -1):
        x[i] = (y[i] - sum(chol[k, k - i] * x[k] for k in range(i + 1, min(n, i + bandwidth + 1)))) / chol[i, 0]
    return x


def _fit(onsets_s, env, t0, period_s, division, beat_q, fixed_period: bool):
    """One hypothesis: beats tracked, onsets snapped, beats refitted twice. -> (beats_s, pos, cost)."""
    frames = track_beats(env, period_s * FPS, tightness=1e4 if fixed_period else 100.0)
    beats = t0 + frames / FPS
    if len(beats) < 2:
        beats = np.array([onsets_s[0], onsets_s[0] + period_s])
    for _ in range(2):
        x = beat_position(onsets_s, beats)
        local = np.interp(x, np.arange(len(beats) - 1) + 0.5, np.diff(beats)) if len(beats) > 2 else \
            np.full(len(x), period_s)
        pos, cost = snap_onsets(x, local, division, beat_q)
        lo = int(np.floor(pos[0]))
        shifted = pos - lo
        n_beats = int(np.ceil(shifted[-1])) + 2
        beats = refit_beats(onsets_s, shifted, n_beats)
        if fixed_period:
            k = np.arange(n_beats)
            beats = np.mean(beats - k * period_s) + k * period_s
    x = beat_position(onsets_s, beats)
    local = np.interp(x, np.arange(len(beats) - 1) + 0.5, np.diff(beats))
    pos, cost = snap_onsets(x, local, division, beat_q)
    return beats, pos, cost


def tempo_cost(beat_period_s: float) -> float:
    """Negative log prior of a beat period: log-normal around :data:`TEMPO_CENTER_BPM`."""
    return 0.5 * (np.log2(60.0 / beat_period_s / TEMPO_CENTER_BPM) / TEMPO_SD_OCTAVES) ** 2


def accents(pos: np.ndarray, offsets_pos: np.ndarray) -> np.ndarray:
    """A note's accent: log2 of its span to the next onset (its own length for the last), in the positions' unit."""
    span = np.append(np.diff(pos), max(offsets_pos[-1] - pos[-1], 0.25))
    return np.log2(np.clip(span, 0.125, 8.0))


def _on_grid(x, step: float) -> np.ndarray:
    return np.abs(x / step - np.round(x / step)) < 1e-6


def repetition(pos_q: np.ndarray, midi: np.ndarray, lag_q: float) -> float:
    """Share of notes whose pitch and span to the next onset recur exactly ``lag_q`` quarter notes later."""
    span = np.append(np.diff(pos_q), 0.0)
    at = {int(round(p * 12)): (int(m), int(round(s * 12))) for p, m, s in zip(pos_q, midi, span)}
    hits = [at.get(int(round((p + lag_q) * 12))) == at[int(round(p * 12))] for p in pos_q if p + lag_q <= pos_q[-1]]
    return float(np.mean(hits)) if hits else 0.0


def meter_and_downbeat(pos_q: np.ndarray, offsets_q: np.ndarray, beat_q: float, meters=None,
                       midi: np.ndarray | None = None) -> tuple[tuple[int, int], float]:
    """The meter and the first bar's downbeat (quarter notes, at or before the first onset), from accents.

    A bar hypothesis (meter, and where its downbeats fall: on the tracked beats
    ``beat_q`` apart, or on any eighth when the meter's beat isn't a multiple of
    them) scores the mean over its downbeats of the accent of the note starting
    there plus :data:`ONSET_BONUS`, or minus :data:`MISSING_DOWNBEAT_COST` when
    none does (a note held across the barline, or a rest on it); minus a cost
    for bars holding many more or fewer than :data:`BAR_NOTES` notes, for a
    pickup (:data:`PICKUP_COST`, and more per beat past the first, and
    :data:`HALF_BAR_PICKUP_COST` for one of half the bar or more: that one
    places the barline within a meter but does not weigh against the meter), and for
    notes that start off the meter's beat and are held over the next one
    (syncopation), and :data:`DIVISION_MISMATCH_COST` for a meter whose beat
    divides otherwise than the tracked one (``beat_q`` 1.5: in three); plus,
    with ``midi``, the share of notes that recur a bar later
    (:func:`repetition`).
    """
    acc = accents(pos_q, offsets_q)
    on = {int(round(p * 12)): a for p, a in zip(pos_q, acc)}  # twelfths of a quarter: exact keys
    spans_to = np.append(pos_q[1:], offsets_q[-1])
    phases = {}  # meter -> (score with the barline's own costs, score, origin) of its best barline
    for meter in meters or METER_CHOICES:
        _, b, per_bar = meter_beat(meter)
        bar = b * per_bar
        repeats = REPEAT_WEIGHT * repetition(pos_q, midi, bar) if midi is not None else 0.0
        mismatch = DIVISION_MISMATCH_COST * (meter_beat(meter)[0] != (3 if abs(beat_q - 1.5) < 1e-9 else 2))
        step = beat_q if _on_grid(np.array([b]), beat_q)[0] else 0.5
        for phase in np.arange(0, bar - 1e-9, step):
            first = pos_q[0] + (phase - pos_q[0]) % bar  # first downbeat at or after the first onset
            downs = np.arange(first, pos_q[-1] + 1e-9, bar)
            if not len(downs):
                continue
            vals = [on[k] + ONSET_BONUS if (k := int(round(d * 12))) in on else -MISSING_DOWNBEAT_COST
                    for d in downs]
            rel = pos_q - first
            off_beat = ~_on_grid(rel, b)
            next_beat = first + (np.floor(rel / b) + 1) * b
            sync = np.mean(off_beat & (spans_to > next_beat + 1e-6))
            pickup = ((first - pos_q[0]) % bar) / b
            notes_per_bar = len(pos_q) * bar / (pos_q[-1] - pos_q[0] + np.mean(np.diff(pos_q)))
            score = (float(np.mean(vals)) - LONG_PICKUP_COST * max(0.0, pickup - 1) - mismatch
                     - PICKUP_COST * (pickup > 1e-6)
                     - BAR_NOTES_WEIGHT * np.log2(notes_per_bar / BAR_NOTES) ** 2 - METER_SYNC_WEIGHT * sync
                     + repeats)
            # A half-bar pickup moves the barline within the meter; it does not count against the meter.
            placed = score - HALF_BAR_PICKUP_COST * (pickup >= per_bar / 2 - 1e-6)
            if meter not in phases or placed > phases[meter][0]:
                origin = first - bar if first > pos_q[0] + 1e-6 else first
                phases[meter] = (placed, score, float(origin))
    if not phases:
        return (4, 4), float(pos_q[0])
    meter = max(phases, key=lambda m: phases[m][1])
    return meter, phases[meter][2]


def meter_beat(meter: tuple[int, int]) -> tuple[int, float, int]:
    """``(division, beat_q, beats per bar)`` of a meter: 6/8, 9/8, 12/8 are compound (a dotted-quarter beat).

    >>> meter_beat((6, 8)), meter_beat((3, 4))
    ((3, 1.5, 2), (2, 1.0, 3))
    """
    num, den = meter
    if den == 8 and num % 3 == 0 and num > 3:
        return 3, 1.5 * 8 / den, num // 3
    return 2, 4.0 / den, num


def infer_rhythm(notes, *, bpm: float | None = None, meter: tuple[int, int] | None = None) -> Rhythm:
    """Beats, tempo, meter, downbeat and the notes' score positions from a performance.

    Parameters
    ----------
    notes : array_like, shape (n, 3)
        ``(onset_s, offset_s, midi)`` rows sorted by onset.
    bpm : float, optional
        Tempo in quarter notes per minute, held constant (inferred, drifting, when ``None``).
    meter : (int, int), optional
        Time signature (inferred when ``None``).

    Returns
    -------
    Rhythm

    Examples
    --------
    >>> beat = 60 / 90  # a waltz at 90 BPM, starting 0.4 s in
    >>> rows = [[0.4 + b * beat, 0.4 + (b + d) * beat - 0.05, 60]
    ...         for b, d in [(0, 2), (2, 1), (3, 1), (4, 1), (5, 1), (6, 2), (8, 1), (9, 3)]]
    >>> r = infer_rhythm(rows)
    >>> r.meter, round(r.qpm), r.onset_q.tolist()
    ((3, 4), 90, [0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 9.0])
    """
    arr = np.asarray(notes, dtype=np.float64).reshape(-1, 3)
    if len(np.unique(np.round(arr[:, 0], 2))) < MIN_ONSETS or np.ptp(arr[:, 0]) < 1.0:
        return _trivial(arr, bpm, meter)
    onsets = arr[:, 0]
    weights = 1.0 + np.clip(np.append(np.diff(onsets), arr[-1, 1] - arr[-1, 0]), 0, 2.0)
    env, t0 = onset_envelope(onsets, weights)
    divisions = [meter_beat(meter)[0]] if meter else [2, 3]
    best = None
    for division in divisions:
        beat_q = 1.0 if division == 2 else 1.5
        if meter:
            beat_q = meter_beat(meter)[1]
        periods = [60.0 / bpm * beat_q] if bpm else period_candidates(env)
        for period in periods:
            beats, pos, cost = _fit(onsets, env, t0, period, division, beat_q, fixed_period=bool(bpm))
            mean_period = (beats[-1] - beats[0]) / max(len(beats) - 1, 1)
            tempo_term = 0.0 if bpm else TEMPO_WEIGHT * tempo_cost(mean_period)
            total = cost / len(onsets) + DIVISION_COSTS[division] + tempo_term
            if best is None or total < best[0]:
                best = (total, division, beat_q, beats, pos)
    _, division, beat_q, beats, pos = best
    if not np.all(np.diff(beats) > 0):  # a degenerate take (onsets crowded together): no beat to follow
        return _trivial(arr, bpm, meter)
    off_pos = beat_position(arr[:, 1], beats)
    ends = snap_offsets(pos, off_pos, division)
    m, origin_q = meter_and_downbeat(pos * beat_q, ends * beat_q, beat_q, [meter] if meter else METER_CHOICES,
                                     midi=np.round(arr[:, 2]))
    k = np.arange(int(np.floor(origin_q / beat_q)), int(np.ceil(max(ends[-1], pos[-1]))) + 2)
    beat_times = _extend(beats, k)
    qpm = float(bpm) if bpm else 60.0 * beat_q * (len(k) - 1) / (beat_times[-1] - beat_times[0])
    return Rhythm(beat_times, k * beat_q - origin_q, m, qpm, pos * beat_q - origin_q, ends * beat_q - origin_q,
                  float(pos[0] * beat_q - origin_q))


def snap_offsets(pos: np.ndarray, off_pos: np.ndarray, division: int) -> np.ndarray:
    """Note ends (beats): the next onset unless the gap is a real rest (at least a beat, or half a beat
    and half the note's span), else the nearest subdivision after the onset."""
    step = 1.0 / (2 * division) if division == 3 else 0.25
    ends = np.empty(len(pos))
    for i, (p, o) in enumerate(zip(pos, off_pos)):
        nxt = pos[i + 1] if i + 1 < len(pos) else None
        snapped = max(p + step, np.round(o / step) * step)
        if nxt is not None:
            gap = nxt - o
            if gap < 1.0 and not (gap >= 0.5 and gap >= 0.5 * (nxt - p)):
                snapped = nxt
            snapped = min(snapped, nxt)
        elif o - p < 1.0:  # the last note: hold it to the beat subdivision it reaches
            snapped = max(p + step, np.round(o / step) * step)
        ends[i] = snapped
    return ends


def _extend(beats: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Beat times at indexes ``k`` (may run past the tracked beats: extended at the end periods)."""
    n = len(beats)
    first, last = beats[1] - beats[0], beats[-1] - beats[-2]
    return np.where(k < 0, beats[0] + k * first,
                    np.where(k >= n, beats[-1] + (k - n + 1) * last, beats[np.clip(k, 0, n - 1)]))


def _trivial(arr: np.ndarray, bpm, meter) -> Rhythm:
    """Too few distinct onsets to find a beat: the given or default tempo and meter from the first onset,
    notes on the nearest eighth (each after the one before)."""
    m = meter or (4, 4)
    qpm = float(bpm or 120.0)
    _, beat_q, per_bar = meter_beat(m)
    start = float(arr[0, 0]) if len(arr) else 0.0
    spq = 60.0 / qpm
    on = np.round((arr[:, 0] - start) / spq * 2) / 2
    for i in range(1, len(on)):
        on[i] = max(on[i], on[i - 1] + 0.5)
    off = np.maximum(np.round((arr[:, 1] - start) / spq * 2) / 2, on + 0.5)
    off[:-1] = np.minimum(off[:-1], on[1:])
    end = float(off.max()) if len(off) else 0.0
    k = np.arange(int(np.ceil(end / beat_q)) + per_bar + 1)
    return Rhythm(start + k * beat_q * spq, k * beat_q, m, qpm, on, off, 0.0)
