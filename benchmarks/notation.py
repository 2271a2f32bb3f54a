"""Can a musician read the lead sheet? Folk melodies performed with human timing, written, read back.

Melodies come from music21's bundled corpus (``essenFolksong`` and ``ryansMammoth``, offline):
tunes in 2/4, 3/4, 4/4 or 6/8 with one meter and one key throughout, cut to whole bars of at
most ``MAX_NOTES`` notes. Each is "performed" (seeded RNG): a beat tempo of 60-160 BPM (the
meter's beat: a quarter, or a dotted quarter in 6/8) drifting by up to +-5 %, onsets jittered
by a normal error of 20-30 ms (drawn per melody), notes held 75-95 % of their value, a start
0.2-3 s into the take, pitches off by up to +-30 cents. The notes are written as MusicXML,
read back with music21 and compared with the original score:

- **tempo**: the written quarter-note tempo within 4 % of the performed mean (half or double
  time is wrong), share of melodies;
- **bar**: the written bar lasts as long in seconds as the original bar (within 4 %);
- **key sig.**: the key signature is the original's;
- **values**: the inter-onset interval of consecutive notes, in quarter notes, is the
  original's (share of the original's intervals; a note lost or added fails its intervals);
- **in bar**: a note's position in its bar (quarter notes from the barline, pickup counted)
  is the original's;
- **spelling**: step and alteration are the original's;
- **dbl acc.**: double sharps or flats written where the original has none (count).

Notes are matched by their pitch sequence (difflib), so a lost note costs only its own
shares. Melodies are split by a seeded shuffle into a development half (what the writer was
tuned on) and a held-out half (the figures to report); both are printed.

Rows: ``fixed grid`` is the score writer on a fixed 120 BPM 4/4 grid from second 0 with the
key from the notes (the grid of svt-live before the tempo was inferred); ``inferred`` is
``svt_live.write(notes, path)`` with nothing given.

``--ssvd`` adds an end-to-end check on SSVD dev: the notes come from the audio (the model's
transcription, cached like ``benchmarks.sight_singing``'s), and with no written score to
compare, what is measured is whether the key and tempo written from the transcription agree
with those written from the reference notes of the same recording.

``--errors`` adds, under each row, where its figures are lost: tempo errors by class (half
or double time, 6/8 read as 2/4), meters confused, downbeats shifted, key signatures missed.

    python -m benchmarks.notation [--limit 400] [--seed 0] [--half dev] [--errors] [--ssvd]
"""
from __future__ import annotations

import argparse
import difflib
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

METERS = ("2/4", "3/4", "4/4", "6/8")
MAX_NOTES = 64
TEMPO_TOLERANCE = 0.04


@dataclass
class Melody:
    """One corpus melody: notes in quarter notes from the first barline of a full bar."""

    name: str
    meter: str
    bar_q: float
    beat_q: float
    sharps: int
    onset_q: np.ndarray  # [n] offsets in quarter notes from the start of the first (possibly pickup) bar
    dur_q: np.ndarray
    midi: np.ndarray
    in_bar_q: np.ndarray  # position in its bar
    spelling: list = field(default_factory=list)  # (step, alter)


def _tunes(collections=("essenFolksong", "ryansMammoth")) -> list[tuple[str, str]]:
    """Every tune's abc text in the collections, as ``(name, text)``."""
    from music21 import corpus

    out = []
    for p in sorted(str(p) for p in corpus.getPaths() if any(c in str(p) for c in collections)):
        text = Path(p).read_text(encoding="latin-1")
        for i, tune in enumerate(re.split(r"(?m)^(?=X:)", text)[1:]):
            meters = re.findall(r"(?m)^M:\s*(\S+)|\[M:\s*([^\]]+)\]", tune)
            meters = {(a or b).strip().replace("C|", "2/2").replace("C", "4/4") for a, b in meters}
            if len(meters) == 1 and meters <= set(METERS) and "[K:" not in tune:
                out.append((f"{Path(p).stem}#{i + 1}", tune))
    return out


def _melody(name: str, score) -> Melody | None:
    """The first part of a parsed tune as a :class:`Melody`, or ``None`` when unusable."""
    from music21 import chord

    part = score.parts[0] if score.parts else score
    sigs = part.recurse().getElementsByClass("TimeSignature")
    keys = {k.sharps for k in part.recurse().getElementsByClass("KeySignature")}
    if not sigs or len({s.ratioString for s in sigs}) != 1 or len(keys) != 1:
        return None
    ts = sigs[0]
    bar_q = float(ts.barDuration.quarterLength)
    rows, spell = [], []
    for mi, m in enumerate(part.getElementsByClass("Measure")):
        pad = float(m.paddingLeft)
        if mi == 0 and not pad and m.highestTime < bar_q:
            pad = bar_q - float(m.highestTime)
        for n in m.flatten().notes:
            if n.duration.isGrace:
                continue
            p = max(n.pitches) if isinstance(n, chord.Chord) else n.pitch
            on = float(m.offset + n.offset)
            if n.tie is not None and n.tie.type in ("continue", "stop") and rows and rows[-1][2] == p.midi:
                rows[-1][1] = on + float(n.quarterLength) - rows[-1][0]
                continue
            rows.append([on, float(n.quarterLength), p.midi, (float(n.offset) + pad) % bar_q])
            spell.append((p.step, float(p.accidental.alter) if p.accidental else 0.0))
        if len(rows) >= MAX_NOTES:
            break
    if len(rows) < 12 or min(r[1] for r in rows) <= 0:
        return None
    arr = np.array(rows)
    return Melody(name, ts.ratioString, bar_q, float(ts.beatDuration.quarterLength), keys.pop(),
                  arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], spell)


def load_melodies(limit: int, seed: int) -> list[Melody]:
    """``limit`` usable melodies drawn at random (``seed``) from the two collections."""
    from music21 import converter

    tunes = _tunes()
    rng = np.random.default_rng(seed)
    out = []
    for i in rng.permutation(len(tunes)):
        name, text = tunes[i]
        try:
            mel = _melody(name, converter.parseData(text, format="abc"))
        except Exception:  # noqa: BLE001 - a corpus tune music21 cannot parse is left out
            mel = None
        if mel is not None:
            out.append(mel)
        if len(out) == limit:
            break
    return out


def perform(mel: Melody, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A human performance of the melody: ``(notes [n, 3] (onset_s, offset_s, midi), mean quarter BPM)``."""
    beat_bpm = rng.uniform(60, 160)
    qpm = beat_bpm * mel.beat_q
    end_q = float(mel.onset_q[-1] + mel.dur_q[-1]) + 1
    grid = np.linspace(0, end_q, int(end_q * 48) + 2)  # 1/48 quarter steps
    phase, periods = rng.uniform(0, 2 * np.pi, 2), rng.uniform(8, 32, 2) * mel.beat_q
    drift = np.sin(2 * np.pi * grid[:, None] / periods + phase).sum(1)
    drift = 1 + 0.05 * drift / max(np.abs(drift).max(), 1e-9) * rng.uniform(0.5, 1)
    seconds_per_q = 60.0 / (qpm * drift)
    clock = np.concatenate([[0], np.cumsum(seconds_per_q[:-1] * np.diff(grid))])
    at = lambda q: np.interp(q, grid, clock)  # noqa: E731
    start = rng.uniform(0.2, 3.0)
    jitter = rng.normal(0, rng.uniform(0.020, 0.030), len(mel.onset_q))
    on = at(mel.onset_q) + start + jitter
    held = (at(mel.onset_q + mel.dur_q) - at(mel.onset_q)) * rng.uniform(0.75, 0.95, len(on))
    off = on + np.maximum(held, 0.03)
    off[:-1] = np.minimum(off[:-1], on[1:] - 0.01)
    on = np.maximum.accumulate(on)
    pitch = mel.midi + rng.uniform(-0.3, 0.3, len(on))
    true_qpm = float(end_q / (clock[-1]) * 60)
    return np.column_stack([on, np.maximum(off, on + 0.02), pitch]), true_qpm


@dataclass
class Written:
    """A score read back: quarter BPM, bar length (quarters), key signature, notes."""

    qpm: float
    bar_q: float
    meter: str
    sharps: int
    onset_q: np.ndarray
    midi: np.ndarray
    in_bar_q: np.ndarray
    spelling: list


def read_back(path: Path) -> Written:
    """Read a written MusicXML file with music21, ties merged."""
    from music21 import converter

    part = converter.parse(str(path)).parts[0]
    marks = part.recurse().getElementsByClass("MetronomeMark")
    ts = part.recurse().getElementsByClass("TimeSignature")[0]
    ks = part.recurse().getElementsByClass("KeySignature")
    bar_q = float(ts.barDuration.quarterLength)
    on, midi, pos, spell = [], [], [], []
    for mi, m in enumerate(part.getElementsByClass("Measure")):
        pad = float(m.paddingLeft)
        if mi == 0 and not pad and m.highestTime < bar_q:
            pad = bar_q - float(m.highestTime)
        for n in m.flatten().notes:
            if n.tie is not None and n.tie.type in ("continue", "stop") and midi and midi[-1] == n.pitch.midi:
                continue
            on.append(float(m.offset + n.offset))
            midi.append(n.pitch.midi)
            pos.append((float(n.offset) + pad) % bar_q)
            spell.append((n.pitch.step, float(n.pitch.accidental.alter) if n.pitch.accidental else 0.0))
    return Written(float(marks[0].getQuarterBPM()) if marks else 120.0, bar_q, ts.ratioString,
                   ks[0].sharps if ks else 0, np.array(on), np.array(midi), np.array(pos), spell)


def compare(mel: Melody, qpm: float, w: Written) -> dict:
    """The per-melody figures (see the module docstring)."""
    sm = difflib.SequenceMatcher(None, [int(x) for x in mel.midi], [int(x) for x in w.midi], autojunk=False)
    match = {}
    for a, b, size in sm.get_matching_blocks():
        for k in range(size):
            match[a + k] = b + k
    n = len(mel.midi)
    ioi_ok = 0
    for i in range(n - 1):
        j, k = match.get(i), match.get(i + 1)
        if j is not None and k == j + 1:
            ioi_ok += abs((w.onset_q[k] - w.onset_q[j]) - (mel.onset_q[i + 1] - mel.onset_q[i])) < 1e-3
    pos_ok = sum(abs(w.in_bar_q[j] - mel.in_bar_q[i]) < 1e-3 for i, j in match.items())
    spell_ok = sum(w.spelling[j] == mel.spelling[i] for i, j in match.items())
    orig_bar_s = mel.bar_q * 60 / qpm
    out_bar_s = w.bar_q * 60 / w.qpm
    doubles = sum(abs(a) >= 2 for _, a in w.spelling) if not any(abs(a) >= 2 for _, a in mel.spelling) else 0
    shift = [(w.in_bar_q[j] - mel.in_bar_q[i]) % w.bar_q for i, j in match.items()]
    return {"tempo": abs(w.qpm / qpm - 1) < TEMPO_TOLERANCE, "bar": abs(out_bar_s / orig_bar_s - 1) < TEMPO_TOLERANCE,
            "key": w.sharps == mel.sharps, "ioi": (ioi_ok, n - 1), "pos": (pos_ok, n), "spell": (spell_ok, n),
            "doubles": doubles, "ratio": w.qpm / qpm, "meters": (mel.meter, w.meter),
            "shift_q": float(np.median(shift)) if shift else 0.0, "sharps": (mel.sharps, w.sharps)}


def tempo_error(ratio: float) -> str:
    """A written/performed tempo ratio as an error class: ``ok``, ``x2``, ``/2``, ``x1.5``, ``/1.5`` or ``other``."""
    for name, r in (("ok", 1.0), ("x2", 2.0), ("/2", 0.5), ("x1.5", 1.5), ("/1.5", 2 / 3)):
        if abs(ratio / r - 1) < TEMPO_TOLERANCE:
            return name
    return "other"


def error_lines(melodies: list[Melody], rows: list[dict]) -> list[str]:
    """Where the figures are lost: tempo errors by class, meters confused, downbeats shifted, key signatures."""
    from collections import Counter

    tempo = Counter(tempo_error(r["ratio"]) for r in rows)
    meters = Counter(f"{r['meters'][0]}->{r['meters'][1]} {tempo_error(r['ratio'])}" for r in rows
                     if r["meters"][0] != r["meters"][1])
    right = [r for r in rows if r["tempo"] and r["bar"]]
    shifts = Counter(round(r["shift_q"], 2) for r in right if r["pos"][0] < r["pos"][1] / 2)
    keys = Counter("{}->{}".format(*r["sharps"]) for r in rows if not r["key"])
    fmt = lambda c: ", ".join(f"{k} {v}" for k, v in c.most_common()) or "none"  # noqa: E731
    return ["  tempo (written / performed): " + fmt(tempo),
            "  meter confused (original -> written, tempo): " + fmt(meters),
            f"  downbeat: of {len(right)} melodies with tempo and bar right, {sum(shifts.values())} have most notes "
            "shifted in the bar by (quarter notes): " + fmt(shifts),
            "  key signature wrong (original sharps -> written): " + fmt(keys),
            "  failing tempo: " + ", ".join(f"{m.name} {tempo_error(r['ratio'])}" for m, r in zip(melodies, rows)
                                            if not r["tempo"])]


def write_fixed_grid(notes: np.ndarray, path: Path) -> None:
    """The baseline: the score writer on a fixed 120 BPM 4/4 sixteenth grid from second 0."""
    from svt_live.io.musicxml import write_musicxml
    from svt_live.theory.key import estimate_key

    write_musicxml(path, notes, bpm=120, meter=(4, 4), division=16, key=estimate_key(notes))


def write_inferred(notes: np.ndarray, path: Path) -> None:
    """``svt_live.write`` with nothing given: tempo, meter, key inferred."""
    import svt_live

    svt_live.write(notes, path)


WRITERS = {"fixed grid": write_fixed_grid, "inferred": write_inferred}


def summarize(rows: list[dict]) -> dict:
    """Shares over melodies (tempo, bar, key) and over notes (values, in bar, spelling); doubles summed."""
    out = {k: float(np.mean([r[k] for r in rows])) for k in ("tempo", "bar", "key")}
    for k in ("ioi", "pos", "spell"):
        out[k] = sum(r[k][0] for r in rows) / max(sum(r[k][1] for r in rows), 1)
    out["doubles"] = sum(r["doubles"] for r in rows)
    return out


HEADER = f"{'writer':<12}{'half':<10}{'songs':>6}{'tempo':>7}{'bar':>6}{'key sig.':>9}{'values':>8}{'in bar':>8}" \
         f"{'spelling':>10}{'dbl acc.':>9}"


def format_row(writer: str, half: str, n: int, s: dict) -> str:
    return (f"{writer:<12}{half:<10}{n:>6}{s['tempo']:>7.2f}{s['bar']:>6.2f}{s['key']:>9.2f}{s['ioi']:>8.2f}"
            f"{s['pos']:>8.2f}{s['spell']:>10.3f}{s['doubles']:>9d}")


def ssvd_rows(data_root: str, model: str | None, cache: Path) -> list[str]:
    """End to end on SSVD dev: key and tempo written from the transcription vs from the reference notes."""
    from benchmarks.sight_singing import transcriptions
    from svt_live.theory.leadsheet import infer_lead_sheet
    from svt_train.datasets import named_set

    songs = named_set("ssvd_dev", data_root)
    sung = transcriptions(songs, model, cache)
    same_key = same_tempo = plausible = 0
    for s in songs:
        ref, got = infer_lead_sheet(s.notes), infer_lead_sheet(sung[s.id])
        same_key += ref.key.sharps == got.key.sharps
        same_tempo += abs(got.qpm / ref.qpm - 1) < TEMPO_TOLERANCE
        plausible += 40 <= got.qpm <= 200
    n = len(songs)
    return [f"SSVD dev end to end ({n} recordings, notes from the audio): key signature as from the reference "
            f"notes {same_key / n:.2f}, tempo within 4 % of the reference notes' {same_tempo / n:.2f}, "
            f"tempo 40-200 BPM {plausible / n:.2f}"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=400, help="melodies (half development, half held out)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--writers", default=",".join(WRITERS), help=f"comma-separated: {', '.join(WRITERS)}")
    ap.add_argument("--half", choices=("both", "dev", "held-out"), default="both")
    ap.add_argument("--ssvd", action="store_true", help="also end to end on SSVD dev (transcribes once, cached)")
    ap.add_argument("--data-root", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    ap.add_argument("--model", help="--ssvd: bundled model name or checkpoint (default: the shipped default)")
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "svt-sight-singing"))
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per melody")
    ap.add_argument("--errors", action="store_true", help="after each row, where its figures are lost")
    args = ap.parse_args(argv)
    t0 = time.time()
    if args.limit <= 0:
        print("\n".join(ssvd_rows(args.data_root, args.model, Path(args.cache))) if args.ssvd else "no melodies")
        return 0
    melodies = load_melodies(args.limit, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    takes = [perform(m, rng) for m in melodies]
    order = np.random.default_rng(args.seed + 2).permutation(len(melodies))
    halves = {"dev": sorted(order[: len(order) // 2]), "held-out": sorted(order[len(order) // 2:])}
    wanted = ["dev", "held-out"] if args.half == "both" else [args.half]
    meters = {m: sum(x.meter == m for x in melodies) for m in METERS}
    print(f"{len(melodies)} melodies from music21's essenFolksong and ryansMammoth (seed {args.seed}; "
          + ", ".join(f"{v} in {k}" for k, v in meters.items()) + "), split into a development half "
          "(tuned on) and a held-out half (report this one)\n")
    print(HEADER)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.writers.split(","):
            write = WRITERS[name]
            for half in wanted:
                rows = []
                for i in halves[half]:
                    path = Path(tmp) / f"{i}.musicxml"
                    notes, qpm = takes[i]
                    write(notes, path)
                    rows.append(compare(melodies[i], qpm, read_back(path)))
                    if args.verbose:
                        r = rows[-1]
                        print(f"  {melodies[i].name:<28}{melodies[i].meter:>5} {qpm:6.1f} tempo {r['tempo']:d} "
                              f"bar {r['bar']:d} key {r['key']:d} ioi {r['ioi'][0]}/{r['ioi'][1]} "
                              f"pos {r['pos'][0]}/{r['pos'][1]} spell {r['spell'][0]}/{r['spell'][1]}")
                print(format_row(name, half, len(rows), summarize(rows)), flush=True)
                if args.errors:
                    print("\n".join(error_lines([melodies[i] for i in halves[half]], rows)), flush=True)
    if args.ssvd:
        print("\n" + "\n".join(ssvd_rows(args.data_root, args.model, Path(args.cache))))
    print(f"\ntargets (held-out): tempo >= 0.90, bar >= 0.85, key sig. >= 0.90, values >= 0.90, in bar >= 0.85, "
          f"spelling >= 0.99, no double accidental the original lacks ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
