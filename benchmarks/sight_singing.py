"""Does the sight-singing check find exactly the mistakes a singer made? SSVD dev, planted mistakes.

Each recording's score is made from its reference notes with the pitch re-measured from the sung
fundamental (SSVD's annotated pitches sit sharp of the sung f0, the more the lower the voice:
:func:`svt_train.f0.f0_pitched`, the named set ``ssvd_dev_f0``), rounded to the nearest semitone,
times kept but starting at 0 (so the singer "starts late" by the first note's onset). The checker
(:func:`svt_live.sight.check.check`) compares that score with the take as ``svt-live --score`` reads it
(the engine's notes, each measured from the sung fundamental as it ends), never with the references.

- **unmodified** scores at tempo 1, 0.8x and 1.25x (score times stretched by 1.25 and 0.8):
  every verdict that is a mistake (wrong, missed, extra) is a false alarm, per score note;
  ``borderline`` notes (within 5 cents of the tolerance's edge) are counted apart.
- **planted** copies (``--copies`` per recording, tempo drawn from 0.8x-1.25x): 10 % of the
  notes moved by +-1 or +-2 semitones (the singer sang them wrong: expect ``wrong``), 5 %
  deleted (the singer sang a note the score lacks: expect an ``extra`` sung note where the
  deleted note was sung), 5 % inserted, in a rest long enough or else in the second half of
  the note before (the singer skipped it: expect ``missed``).
- **live**: each take marked as a microphone take is (:class:`svt_live.sight.take.LiveMarker`, given
  the audio up to ``LIVE_LAG_S`` past each note's end), against the check of the finished take.

A flag counts as found when it is of the planted kind at the planted note; every other flag is
a false alarm. A score note judged ``borderline`` is left out of both precision and recall.
Precision and recall per kind and over all kinds; the last line is
``wrong-note detection: precision P recall R``. Targets: P >= 0.95, R >= 0.95, false alarms
<= 0.02 per note on unmodified scores, borderline notes <= 8 %, live verdict = file verdict for
>= 98 % of the notes.

``--data DIR`` runs on any folder in SSVD's layout (``<id>.flac`` + ``<id>.txt``). The engine's
notes are cached per model file under ``$TMPDIR/svt-sight-singing/`` (``--cache``).

    python -m benchmarks.sight_singing [--model NAME_OR_CHECKPOINT] [--copies 4] [--data DIR]
"""
from __future__ import annotations

import argparse
import hashlib
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from svt_live.sight.check import check
from svt_live.sight.take import SungTake

ROOT = Path(__file__).resolve().parents[1]

KINDS = ("wrong", "missed", "extra")
TEMPI = (1.0, 0.8, 1.25)  # tempo of the singer against the score: score times are divided by it
LIVE_LAG_S = 0.06  # a live take's note ends reach the marks this long after the note (a few frames)


def transcriptions(songs, model: str | None, cache_root: Path) -> dict[str, np.ndarray]:
    """The notes ``[m, 3]`` of each song as svt-live's engine closes them (the network's pitch, before
    :class:`svt_live.sight.take.SungTake` measures it), cached as ``<cache>/<model>-<sha1>-engine/<song>.npy``."""
    import torch

    from svt_live.engine.checkpoint import load_model, resolve
    from svt_live.engine.offline import transcribe_path

    path = Path(resolve(model))
    cache = cache_root / f"{path.stem}-{hashlib.sha1(path.read_bytes()).hexdigest()[:12]}-engine"
    cache.mkdir(parents=True, exist_ok=True)
    out, lm = {}, None
    for s in songs:
        f = cache / f"{s.id}.npy"
        if not f.exists():
            if lm is None:
                torch.set_num_threads(2)
                lm = load_model(path)
            np.save(f, transcribe_path(s.audio, lm).notes)
        out[s.id] = np.load(f)
    return out


def as_checked(engine_notes: np.ndarray, audio: np.ndarray, cfg, lag_s: float | None = None):
    """The take as ``svt-live --score`` checks it: each note, in the order the engine closes them, measured
    by a :class:`~svt_live.sight.take.SungTake` that has heard the audio up to the note's end plus ``lag_s``
    (``None``: the whole take first). Returns ``(notes [m, 3], engine events in order)``."""
    from svt_live.events import NoteOff

    take = SungTake(cfg)
    events = [NoteOff(off, int(round(p)), on, p, off) for on, off, p in engine_notes[np.argsort(engine_notes[:, 1],
                                                                                               kind="stable")]]
    heard = 0
    for ev in events:
        upto = len(audio) if lag_s is None else min(len(audio), int((ev.time + lag_s) * cfg.sample_rate))
        if upto > heard:
            take.on_audio(audio[heard:upto])
            heard = upto
        take.add(ev)
    return take.notes, events


def live_agreement(score: np.ndarray, engine_notes: np.ndarray, audio: np.ndarray, cfg,
                   tolerance_cents: float = 50.0) -> tuple[int, int, int]:
    """``(notes marked live with the file's verdict, notes marked live, score notes)`` for one take: a
    :class:`~svt_live.sight.take.LiveMarker` given the audio and the engine's note ends as a microphone take
    gives them (each end ``LIVE_LAG_S`` after the note), against :func:`check` of the finished take."""
    import io

    from svt_live.sight.score import Score
    from svt_live.sight.take import LiveMarker

    file_notes, events = as_checked(engine_notes, audio, cfg)
    final = check(score, file_notes, tolerance_cents)
    marker = LiveMarker(Score(score), tolerance_cents, 0.0, out=io.StringIO(), cfg=cfg)
    heard = 0
    for ev in events:
        upto = min(len(audio), int((ev.time + LIVE_LAG_S) * cfg.sample_rate))
        if upto > heard:
            marker.on_audio(audio[heard:upto])
            heard = upto
        marker.on_event(ev)
    same = sum(m == c.status for m, c in zip(marker.marks, final.notes))
    return same, len(marker.marks), len(final.notes)


def make_score(ref: np.ndarray, tempo: float = 1.0) -> np.ndarray:
    """Reference notes -> score: pitch rounded, times from the first onset, divided by ``tempo``."""
    score = ref.copy()
    score[:, 2] = np.round(score[:, 2])
    score[:, :2] = (score[:, :2] - ref[0, 0]) / tempo
    return score


def plant(ref: np.ndarray, rng: np.random.Generator):
    """Mistakes in a copy of ``ref`` (take time, rounded pitches).

    Returns ``(notes [k, 3], kind per note: '' | 'wrong' | 'missed', deleted reference notes [d, 3])``.
    """
    n = len(ref)
    n_moved, n_del, n_ins = max(1, round(0.10 * n)), max(1, round(0.05 * n)), max(1, round(0.05 * n))
    pick = rng.permutation(n)
    moved, deleted = set(pick[:n_moved]), set(pick[n_moved:n_moved + n_del])
    rows, kinds = [], []
    for i in range(n):
        if i in deleted:
            continue
        row = ref[i].copy()
        if i in moved:
            row[2] += rng.choice([-2, -1, 1, 2])
        rows.append(row)
        kinds.append("wrong" if i in moved else "")
    for k in sorted(rng.choice(len(rows), n_ins, replace=False), reverse=True):  # insert after rows[k]
        on, off, p = rows[k]
        nxt = rows[k + 1] if k + 1 < len(rows) else None
        gap_end = nxt[0] if nxt is not None else off + 1.0
        if gap_end - off >= 0.3:
            new = [off + 0.05, min(gap_end - 0.05, off + 0.05 + (off - on)), 0.0]
        else:  # the singer held the note before instead
            mid = (on + off) / 2
            rows[k] = np.array([on, mid, p])
            new = [mid, off, 0.0]
        avoid = {p} | ({nxt[2]} if nxt is not None else set())
        new[2] = p + rng.choice([s for s in (-4, -3, -2, -1, 1, 2, 3, 4) if p + s not in avoid])
        rows.insert(k + 1, np.array(new))
        kinds.insert(k + 1, "missed")
    return np.array(rows), kinds, ref[sorted(deleted)]


def flags(score: np.ndarray, sung: np.ndarray, tolerance_cents: float = 50.0) -> tuple[list, list]:
    """The checker's verdicts: ``(kind, 'borderline' or '' per score note, indices of extra sung notes)``."""
    r = check(score, sung, tolerance_cents)
    return [c.status if c.status in (*KINDS, "borderline") else "" for c in r.notes], r.extra


def sung_counterpart(deleted: np.ndarray, sung: np.ndarray) -> set[int]:
    """Indices of the sung notes that are the deleted reference notes (onset within 100 ms)."""
    found = set()
    for on, _, _ in deleted:
        if len(sung):
            j = int(np.abs(sung[:, 0] - on).argmin())
            if abs(sung[j, 0] - on) <= 0.1:
                found.add(j)
    return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="bundled model name or checkpoint (default: the shipped default)")
    ap.add_argument("--data", metavar="DIR", help="a folder in SSVD's layout, <id>.flac + <id>.txt "
                    "(default: SSVD dev under --data-root)")
    ap.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--copies", type=int, default=4, help="planted copies per recording")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "svt-sight-singing"))
    args = ap.parse_args(argv)

    from svt_live.engine.features import FeatureConfig
    from svt_live.io.audio import load_audio
    from svt_train.datasets import load_set, named_set

    if args.data:
        songs, name = load_set({"kind": "ssvd", "path": str(Path(args.data).resolve()), "pitch_from_f0": True}), \
            args.data
    else:
        songs, name = named_set("ssvd_dev_f0", args.data_root), "SSVD dev"
    engine = transcriptions(songs, args.model, Path(args.cache))
    cfg = FeatureConfig()
    audio = {s.id: load_audio(s.audio, cfg.sample_rate) for s in songs}
    sung = {s.id: as_checked(engine[s.id], audio[s.id], cfg)[0] for s in songs}
    rng = np.random.default_rng(args.seed)

    print(f"{name}: {len(songs)} recordings, {sum(len(s.notes) for s in songs)} notes; score pitches "
          "re-measured from the sung f0 (svt_train.f0.f0_pitched)\n")
    print(f"{'unmodified score':<18}{'notes':>7}{'wrong':>7}{'missed':>7}{'extra':>7}{'borderline':>11}"
          f"{'false alarms/note':>19}")
    for tempo in TEMPI:
        c = Counter()
        for s in songs:
            kinds, extra = flags(make_score(np.asarray(s.notes), tempo), sung[s.id])
            c.update(k for k in kinds if k)
            c["extra"] += len(extra)
            c["notes"] += len(kinds)
        fa = (c["wrong"] + c["missed"] + c["extra"]) / c["notes"]
        print(f"{f'tempo {tempo:g}x':<18}{c['notes']:>7}{c['wrong']:>7}{c['missed']:>7}{c['extra']:>7}"
              f"{c['borderline']:>11}{fa:>19.4f}")

    tp, planted, flagged, border, judged = Counter(), Counter(), Counter(), 0, 0
    for s in songs:
        ref = make_score(np.asarray(s.notes)) + np.array([s.notes[0][0], s.notes[0][0], 0.0])  # take time
        for _ in range(args.copies):
            notes, kinds, deleted = plant(ref, rng)
            tempo = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
            score = notes.copy()
            score[:, :2] = (score[:, :2] - notes[0, 0]) / tempo
            got, extra = flags(score, sung[s.id])
            want_extra = sung_counterpart(deleted, sung[s.id])
            for want, k in zip(kinds, got):
                judged += 1
                if k == "borderline":  # neither a flag nor a miss of one: left out of both
                    border += 1
                    continue
                planted[want] += bool(want)
                flagged[k] += bool(k)
                tp[k] += bool(k) and k == want
            planted["extra"] += len(deleted)
            flagged["extra"] += len(extra)
            tp["extra"] += len(want_extra & set(extra))

    print(f"\n{'planted mistakes':<18}{'planted':>8}{'flagged':>8}{'found':>7}{'precision':>10}{'recall':>8}")
    for k in KINDS:
        print(f"{k:<18}{planted[k]:>8}{flagged[k]:>8}{tp[k]:>7}{tp[k] / max(1, flagged[k]):>10.3f}"
              f"{tp[k] / max(1, planted[k]):>8.3f}")
    print(f"borderline notes (left out of both): {border} of {judged} ({100 * border / max(1, judged):.1f} %)")

    same = marked = total = 0
    for s in songs:
        a, b, c = live_agreement(make_score(np.asarray(s.notes)), engine[s.id], audio[s.id], cfg)
        same, marked, total = same + a, marked + b, total + c
    print(f"live verdict = file verdict {100 * same / max(1, marked):.1f} % of {marked} notes marked live "
          f"({total - marked} of {total} not marked before the take ended)")
    t, f, p = (sum(c[k] for k in KINDS) for c in (tp, flagged, planted))
    print(f"\n{args.copies} copies per recording, tempo 0.8x-1.25x")
    print(f"wrong-note detection: precision {t / max(1, f):.3f} recall {t / max(1, p):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
