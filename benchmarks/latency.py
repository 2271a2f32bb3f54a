"""Live latency, live-stream accuracy and per-hop compute of live mode, on SSVD dev.

Every song is streamed through live mode's
:class:`svt_live.engine.lowlatency.LowLatencyEngine` as a microphone would deliver
it: 16 kHz, 10 ms blocks, the live hop (20 ms), one torch thread. The live
network's early events are what the MIDI port sends; the accurate
network's notes are what the take's files hold. Printed:

- **note latency (matched)**: for every note sent to the port that matches
  a reference note (mir_eval, onset 50 ms, pitch 50 cents),
  ``emitted_at - reference onset``: how long after the singer started the
  note its NoteOn went out (audio time; add the audio device's buffer for
  wall-clock latency). Also the engine's own delay ``emitted_at - note
  time`` over all NoteOns, which does not depend on the model's accuracy.
- **live stream COnP F1**: the notes a client recording the port captures
  (every NoteOn / NoteOff as sent, corrections included, each stamped with
  its note time), scored against the references, beside the accurate path's
  (the files), mean F1 per song; the difference in points. The port runs
  with ``--pitch-bends`` (``--no-bends`` to turn them off): a sent note's
  pitch is what sounds, its number plus the median bend while it sounds;
  the line "as note numbers" scores the NoteOns' numbers alone (what a
  recorder that drops pitch bends keeps). Also false NoteOns
  per minute (sent notes matching no reference note) and the share of
  NoteOns whose pitch a retrigger corrected.
- **NoteOn number = saved note's number**: of the NoteOns within 50 ms of
  the onset of a note the take's files hold, the share sent with that
  note's number (its pitch rounded), bends or not.
- **compute per hop**: wall time of each push that ran the models (both
  networks, mel frames, decoders): what must fit in the 20 ms hop; and the
  CPU time of the pushing thread in those pushes (torch runs on it with one
  thread), which other jobs on a shared machine inflate less.
- **files = file mode**: whether the accurate path's notes equal offline
  transcription of the same audio (they must: the files of a take).

``--jack`` measures the same lines end to end instead, at a real JACK MIDI client
(:mod:`benchmarks.jack_latency`).

``--compare`` prints the design table of ``docs/low-latency.md`` instead:
each row one choice of network and decoder (an accurate decoder's notes
are heard with their fractional pitch, as its files hold them). To fit the time, each song's
posteriors are computed once per network and the decoder gets frame ``t``
at the stream time the engine commits it with 10 ms blocks and the 20 ms
hop (the frame's right edge, ``t`` + ``lookahead`` frames plus half a
window, rounded up to the hop): the events and their ``emitted_at`` are
those of streaming, without the per-hop timing.

    python -m benchmarks.latency [--model NAME|PATH] [--live-model NAME|PATH] [--set ssvd_dev]
                                 [--limit N] [--compare | --jack]
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from mir_eval import transcription

ROOT = Path(__file__).resolve().parents[1]

from svt_live.engine.checkpoint import load_model
from svt_live.engine.decode import NoteDecoder
from svt_live.engine.early import CONFIRM_FRAMES, CORRECT_FRAMES, SURE_ONSET, EarlyNoteDecoder
from svt_live.engine.features import log_mel
from svt_live.engine.inference import frame_posteriors
from svt_live.engine.lowlatency import ACCURATE_HOPS, REFINE, LowLatencyEngine, load_live_model
from svt_live.engine.offline import transcribe_audio
from svt_live.engine.streaming import LIVE_HOP
from svt_live.evaluate import evaluate_songs
from svt_live.events import NoteOn, PitchBend
from svt_live.io.audio import load_audio
from svt_live.io.bends import BEND_RANGE_SEMITONES
from svt_live.theory.tuning import midi_to_hz
from svt_train.datasets import named_set

BLOCK_SECONDS = 0.01
# (median, p95) seconds; the pushing thread's CPU time is what other jobs on the machine inflate least
TARGETS = {"note latency": (0.050, 0.090), "compute per hop": (None, 0.005), "CPU per hop": (None, 0.003)}
MAX_DIFFERENCE = 3.0  # points of COnP F1 the live stream may lose against the accurate path


def stream(engine, audio: np.ndarray, sr: int) -> tuple[list, list[float], list[float]]:
    """Push ``audio [N]`` in 10 ms blocks; returns every event, and the wall seconds and this thread's
    CPU seconds of each model-running push."""
    block = int(BLOCK_SECONDS * sr)
    events, compute, cpu = [], [], []
    for i in range(0, len(audio), block):
        consumed = engine.stream_time
        t0, c0 = time.perf_counter(), time.thread_time()
        out = engine.push(audio[i:i + block])
        dt, dc = time.perf_counter() - t0, time.thread_time() - c0
        if engine.stream_time != consumed:  # this push ran the models
            compute.append(dt)
            cpu.append(dc)
        events += out
    return events + engine.finish(), compute, cpu


def matched(ref: np.ndarray, notes: np.ndarray) -> list[tuple[int, int]]:
    """mir_eval's COnP matching (onset 50 ms, pitch 50 cents): ``(ref index, note index)`` pairs."""
    if not len(ref) or not len(notes):
        return []
    return transcription.match_notes(ref[:, :2], midi_to_hz(ref[:, 2]), notes[:, :2], midi_to_hz(notes[:, 2]),
                                     onset_tolerance=0.05, pitch_tolerance=50.0, offset_ratio=None)


def sent_notes(events: list, bend_range: float = BEND_RANGE_SEMITONES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Notes a client recording the port captures, ``[n, 3]`` (NoteOn s, NoteOff s, MIDI: the number
    plus the median pitch bend while it sounds), each one's ``emitted_at`` ``[n]`` and its NoteOn's
    number ``[n]`` (what a recorder that drops pitch bends keeps)."""
    rows, emitted, numbers, sounding, wheel = [], [], [], {}, 0.0
    for ev in events:
        if isinstance(ev, PitchBend):
            wheel = float(np.clip(ev.semitones, -bend_range, bend_range))
            for bends in sounding.values():
                bends[1].append(wheel)
        elif isinstance(ev, NoteOn):
            sounding[ev.pitch] = (ev, [wheel])
        elif ev.pitch in sounding:
            on, bends = sounding.pop(ev.pitch)
            rows.append((on.time, max(ev.time, on.time + 1e-3), on.pitch + float(np.median(bends))))
            emitted.append(on.emitted_at)
            numbers.append(on.pitch)
    order = np.argsort([r[0] for r in rows], kind="stable")
    return (np.asarray(rows, np.float64).reshape(-1, 3)[order], np.asarray(emitted, np.float64)[order],
            np.asarray(numbers, np.float64)[order])


def number_agreement(saved: np.ndarray, sent: np.ndarray, numbers: np.ndarray) -> tuple[int, int]:
    """``(agreeing, matched)``: of the sent notes whose NoteOn falls within 50 ms of a saved note's
    onset (mir_eval's one-to-one onset matching), how many carry that saved note's number (its
    pitch rounded), whatever the pitch bends."""
    if not len(saved) or not len(sent):
        return 0, 0
    pairs = transcription.match_note_onsets(saved[:, :2], sent[:, :2], onset_tolerance=0.05)
    return sum(int(numbers[j]) == int(np.round(saved[i, 2])) for i, j in pairs), len(pairs)


class Tally:
    """What one way of sending notes did over a set of songs."""

    def __init__(self):
        self.latency, self.delay, self.compute, self.pairs, self.numbers = [], [], [], {}, {}
        self.false_ons = self.note_ons = self.corrections = self.agreeing = self.agreement_matched = 0

    def add(self, song, events: list, compute: list[float], corrections: int = 0, pitches=None) -> None:
        """One song's events; ``pitches`` ``[n]``: the sent notes' pitches as heard, when they are not
        in the events (an accurate decoder's fractional pitches, which its files hold)."""
        notes, emitted, numbers = sent_notes(events)
        if pitches is not None:
            notes[:, 2] = pitches
            numbers = np.round(pitches)
        self.numbers[song.id] = (song.notes, np.c_[notes[:, :2], numbers])
        self.sent = (notes, numbers)
        hits = matched(song.notes, notes)
        self.latency += [emitted[j] - song.notes[i, 0] for i, j in hits]
        self.delay += [e.emitted_at - e.time for e in events if isinstance(e, NoteOn)]
        self.compute += compute
        self.pairs[song.id] = (song.notes, notes)
        self.note_ons += len(notes)
        self.false_ons += len(notes) - len(hits)
        self.corrections += corrections

    @property
    def f1(self) -> float:
        return evaluate_songs(self.pairs)["mean"]["COnP"][2]

    @property
    def f1_numbers(self) -> float:
        """COnP F1 of the note numbers alone (a recorder that drops pitch bends)."""
        return evaluate_songs(self.numbers)["mean"]["COnP"][2]

    def agree_with(self, saved: np.ndarray) -> None:
        """Count how many of the last song's NoteOns carry the number of the saved note they start."""
        agreeing, matched_ = number_agreement(saved, *self.sent)
        self.agreeing += agreeing
        self.agreement_matched += matched_


def stats_row(name: str, values: list[float], target: tuple | None) -> str:
    if not values:
        return f"{name:<28}{'no values':>10}"
    med, p95 = np.median(values) * 1000, np.percentile(values, 95) * 1000
    goal = ""
    if target:
        goal = "  target " + " / ".join(f"{lbl} <= {t * 1000:.0f} ms" for lbl, t in zip(("median", "p95"), target)
                                        if t is not None)
    return f"{name:<28}{len(values):>7}{med:>10.1f}{p95:>10.1f}{goal}"


def load_songs(args, sr: int) -> tuple[list, list[np.ndarray], float]:
    songs = named_set(args.set, args.data_root)[:args.limit]
    audios = [load_audio(s.audio, sr) for s in songs]
    return songs, audios, sum(len(a) for a in audios) / sr / 60.0


def report(args, lm, live_lm) -> None:
    """The issue's lines for live mode's default settings."""
    sr = lm.features.sample_rate
    songs, audios, minutes = load_songs(args, sr)
    live, files = Tally(), Tally()
    same, cpu = 0, []
    for k, (song, audio) in enumerate(zip(songs, audios), 1):
        eng = LowLatencyEngine(lm, live_lm, sr, args.hop, not args.no_bends, confirm_frames=args.confirm_frames,
                               correct_frames=args.correct_frames, accurate_hops=args.accurate_hops,
                               refine=args.refine, sure_onset=args.sure_onset)
        events, compute, song_cpu = stream(eng, audio, sr)
        cpu += song_cpu
        live.add(song, events, compute, eng.live.decoder.n_corrections)
        files.add(song, eng.take_accurate_events(), [], pitches=eng.notes[:, 2])
        live.agree_with(eng.notes)
        offline = transcribe_audio(audio, lm)[0]
        same += eng.notes.shape == offline.shape and np.allclose(eng.notes, offline)
        print(f"\r{k}/{len(songs)} songs", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    f_live, f_acc = live.f1, files.f1
    print(f"live model {live_lm.label}, accurate model {lm.label}, set {args.set}: {len(songs)} songs, "
          f"{minutes:.1f} min of audio; hop {args.hop * 1000:.0f} ms, {BLOCK_SECONDS * 1000:.0f} ms blocks, "
          f"1 torch thread; confirm {args.confirm_frames} frame(s) unless onset >= {args.sure_onset:g}, "
          f"correct after {args.correct_frames}, "
          f"pitch bends {'off' if args.no_bends else 'on'}; accurate network every {args.accurate_hops} hop(s), "
          f"refinement {'on' if args.refine else 'off'}")
    print(f"{'':<28}{'count':>7}{'median ms':>10}{'p95 ms':>10}")
    print(stats_row("note latency (matched)", live.latency, TARGETS["note latency"]))
    print(stats_row("engine delay (all NoteOns)", live.delay, None))
    print(stats_row("accurate path (matched)", files.latency, None))
    print(stats_row("compute per hop", live.compute, TARGETS["compute per hop"]))
    print(stats_row("  its CPU time (thread)", cpu, TARGETS["CPU per hop"]))
    print(f"live stream COnP F1 {100 * f_live:.2f} % (mean/song), accurate path (files) {100 * f_acc:.2f} %, "
          f"difference {100 * (f_acc - f_live):.2f} points (target <= {MAX_DIFFERENCE:g}); as note numbers "
          f"{100 * live.f1_numbers:.2f} %, the accurate path's rounded {100 * files.f1_numbers:.2f} %")
    print(f"false NoteOns {live.false_ons / minutes:.1f} per minute ({live.false_ons} of {live.note_ons}); "
          f"NoteOns corrected later {100 * live.corrections / max(1, live.note_ons - live.corrections):.1f} %")
    print(f"NoteOn number = saved note's number {100 * live.agreeing / max(1, live.agreement_matched):.1f} % "
          f"({live.agreeing} of the {live.agreement_matched} NoteOns within 50 ms of a saved note's onset)")
    print(f"files = file mode: {same} of {len(songs)} songs give the offline notes exactly")


def commit_times(lm, n_frames: int, hop: float) -> np.ndarray:
    """Stream time (s) at which the engine commits each of ``n_frames`` frames with 10 ms blocks:
    the frame ``lookahead`` frames later must be complete (its window's right edge), at the next hop."""
    f = lm.features
    edge = (np.arange(n_frames) + lm.lookahead) * f.hop + f.win // 2  # last sample needed
    hop_samples = int(round(hop * f.sample_rate))
    return np.ceil(edge / hop_samples) * hop_samples / f.sample_rate


def engine_frames(lm, audio: np.ndarray, sr: int, hop: float) -> tuple[dict, np.ndarray]:
    """``(posteriors, commit times)`` of ``lm`` over ``audio`` from one run of the engine in 10 ms blocks:
    each frame with the stream time (s) the engine committed it at. What a non-causal network needs
    (its frames are decided once their window's right context has arrived, seconds later), where
    :func:`commit_times` assumes a causal one."""
    from svt_live.engine.lowlatency import NONCAUSAL_ACCURATE_HOPS
    from svt_live.engine.streaming import Engine

    chunks: list[dict] = []
    times: list[float] = []

    def committed(first: int, post: dict) -> None:
        chunks.append(post)
        times.extend([eng.stream_time] * len(post["onset"]))

    eng = Engine(lm, sr, hop * NONCAUSAL_ACCURATE_HOPS, on_frames=committed)
    block = int(BLOCK_SECONDS * sr)
    for i in range(0, len(audio), block):
        eng.push(audio[i:i + block])
    eng.finish()
    post = {k: np.concatenate([np.asarray(c[k]) for c in chunks]) for k in chunks[0]} if chunks else {}
    return post, np.asarray(times, np.float64)


def simulate(decoder, post: dict, times: np.ndarray) -> list:
    """Hand ``decoder`` each frame at its commit time; returns its events."""
    events = []
    for t, now in enumerate(times):
        events += decoder.push({k: v[t:t + 1] for k, v in post.items()}, now=float(now))
    return events + decoder.flush(now=float(times[-1]) if len(times) else 0.0)


def simulate_refined(decoder, post: dict, times: np.ndarray, refined: dict, refined_times: np.ndarray,
                     voiced_threshold: float) -> list:
    """:func:`simulate` with the accurate network's frames ``refined`` handed to
    :meth:`~svt_live.engine.early.EarlyNoteDecoder.refine` at their commit times ``refined_times``
    (after the live frames of the same time, as :class:`~svt_live.engine.lowlatency.LowLatencyEngine` does)."""
    events, r = [], 0
    for t, now in enumerate(times):
        events += decoder.push({k: v[t:t + 1] for k, v in post.items()}, now=float(now))
        if t + 1 < len(times) and times[t + 1] == now:
            continue  # the engine hands over all live frames of a push first
        end = int(np.searchsorted(refined_times, now, side="right"))
        if end > r:
            events += decoder.refine(r, {k: v[r:end] for k, v in refined.items()}, float(now), voiced_threshold)
            r = end
    return events + decoder.flush(now=float(times[-1]) if len(times) else 0.0)


class AfterOnsetPitch(EarlyNoteDecoder):
    """A development variant of the early decoder (not in the engine): a note's first NoteOn takes the
    median pitch of its voiced frames after the onset frame (a scooped onset's first frame sits below
    the note), as the accurate decoder's pitch does; one frame alone when that is all there is."""

    def _note_on(self, note, stamp, midi, now, events):
        if note.midi is None and len(note.pitches) > 1:
            midi = statistics.median(note.pitches[1:])
        super()._note_on(note, stamp, midi, now, events)


def compare(args, lm, live_lm) -> None:
    """One row per design choice: network x decoder (see the module docstring)."""
    sr = lm.features.sample_rate
    songs, audios, minutes = load_songs(args, sr)
    causal = getattr(lm.model, "causal", True)
    # a causal network's posteriors offline, timed by commit_times; a non-causal one's from one engine run
    posts, timing = {}, {}
    for m in (lm, live_lm):
        if getattr(m.model, "causal", True):
            posts[m.label] = [frame_posteriors(m, log_mel(a, m.features)) for a in audios]
            timing[m.label] = [commit_times(m, len(p["onset"]), args.hop) for p in posts[m.label]]
        else:
            posts[m.label], timing[m.label] = map(list, zip(*(engine_frames(m, a, sr, args.hop) for a in audios)))

    def early(model, confirm, bends=True, accurate_hops=None, sure=math.inf, kind=EarlyNoteDecoder):
        """``accurate_hops``: refined by ``lm``'s frames, committed every that many hops (None: not refined);
        ``sure``: onset posterior whose NoteOn needs one voiced frame."""
        return model, lambda: kind(model.decoding, model.features.frame_seconds, confirm,
                                   CORRECT_FRAMES, bends, sure_onset=sure), accurate_hops

    rows = [(f"{lm.label}: peak + min_note_frames (files)", (lm, lambda: NoteDecoder(lm.decoding), None))]
    rows += [(f"{lm.label}: early, confirm 1", early(lm, 1))] if causal else []
    rows += [(f"{live_lm.label}: peak + min_note_frames", (live_lm, lambda: NoteDecoder(live_lm.decoding), None))]
    rows += [(f"{live_lm.label}: early, confirm {c}" + ("" if b else ", no bends, retrigger after 2"),
              early(live_lm, c, b)) for c, b in ((1, True), (2, True), (3, True), (1, False))]
    rows += [(f"{live_lm.label}: early, confirm {c}" + (f" unless onset >= {s:g}" if s <= 1 else "")
              + ("" if h is None else ", refined") + (f" every {h} hops" if h and h > 1 else "")
              + ("" if b else ", no bends"), early(live_lm, c, b, h, s))
             for c, s, h, b in ((2, 0.7, None, True), (2, 0.8, None, True), (2, 0.9, None, True),
                                (2, 0.8, None, False), (1, math.inf, 1, True), (1, math.inf, 2, True),
                                (2, math.inf, 1, True), (2, 0.8, 1, True), (2, 0.8, 2, True))
             if h is None or causal]  # refinement needs a causal accurate network (the engine refuses it)
    rows += [(f"{live_lm.label}: early, confirm {c}" + (f" unless onset >= {s:g}" if s <= 1 else "")
              + ", NoteOn pitch after the onset frame", early(live_lm, c, True, None, s, AfterOnsetPitch))
             for c, s in ((2, 0.8), (3, 0.8), (3, math.inf))]
    if not causal:
        print(f"{lm.label} is not causal: its frames and their timing come from running the engine (decided "
              f"seconds late), and the rows that run it early or refine with it are left out", file=sys.stderr)
    print(f"set {args.set}: {len(songs)} songs, {minutes:.1f} min; {BLOCK_SECONDS * 1000:.0f} ms blocks, "
          f"hop {args.hop * 1000:.0f} ms; latency of matched NoteOns (ms), live stream COnP F1 mean/song (%) "
          f"as heard (number + bend) and as note numbers, NoteOns with the saved note's number (%), false NoteOns per "
          f"minute, NoteOns corrected (%)")
    print(f"| {'network: decoder':<44} | median | p95 | COnP F1 | numbers | = saved | false/min | corrected |")
    print(f"|{'-' * 46}|-------:|----:|--------:|--------:|--------:|----------:|----------:|")
    saved: dict[str, np.ndarray] = {}  # the files' notes of each song (the first row's)
    for name, (model, make, accurate_hops) in rows:
        tally = Tally()
        for k, (song, post, accurate) in enumerate(zip(songs, posts[model.label], posts[lm.label])):
            dec, times = make(), timing[model.label][k]
            if accurate_hops is None:
                events = simulate(dec, post, times)
            else:
                events = simulate_refined(dec, post, times, accurate,
                                          commit_times(lm, len(accurate["onset"]), args.hop * accurate_hops),
                                          lm.decoding.voiced_threshold)
            exact = dec.notes[:, 2] if isinstance(dec, NoteDecoder) else None
            tally.add(song, events, [], getattr(dec, "n_corrections", 0), exact)
            saved.setdefault(song.id, dec.notes)
            tally.agree_with(saved[song.id])
        lat = np.asarray(tally.latency) * 1000
        print(f"| {name:<44} | {np.median(lat):6.0f} | {np.percentile(lat, 95):3.0f} | {100 * tally.f1:7.2f} "
              f"| {100 * tally.f1_numbers:7.2f} | {100 * tally.agreeing / max(1, tally.agreement_matched):7.1f} "
              f"| {tally.false_ons / minutes:9.1f} | "
              f"{100 * tally.corrections / max(1, tally.note_ons - tally.corrections):9.1f} |", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="accurate model (default: the shipped default)")
    ap.add_argument("--live-model", help="live network (default: the bundled live network)")
    ap.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--set", default="ssvd_dev", help="named evaluation set (default ssvd_dev)")
    ap.add_argument("--hop", type=float, default=LIVE_HOP, help="seconds per model call (default: the live hop)")
    ap.add_argument("--confirm-frames", type=int, default=CONFIRM_FRAMES)
    ap.add_argument("--correct-frames", type=int, default=CORRECT_FRAMES)
    ap.add_argument("--sure-onset", type=float, default=SURE_ONSET,
                    help="onset posterior whose NoteOn needs one voiced frame (above 1: never)")
    ap.add_argument("--no-bends", action="store_true", help="the port without --pitch-bends")
    ap.add_argument("--accurate-hops", type=int, default=ACCURATE_HOPS, help="live hops per accurate-network call")
    ap.add_argument("--refine", action=argparse.BooleanOptionalAction, default=REFINE,
                    help="the accurate network corrects the port's pitch")
    ap.add_argument("--limit", type=int, help="only the first N songs")
    ap.add_argument("--compare", action="store_true", help="the design table instead (docs/low-latency.md)")
    ap.add_argument("--jack", action="store_true",
                    help="end to end instead: a real svt-live on its own jackd, recorded at a JACK MIDI client "
                         "(benchmarks.jack_latency; plays the recordings in real time)")
    ap.add_argument("--jack-realtime", action=argparse.BooleanOptionalAction, default=True,
                    help="--jack: run jackd with realtime scheduling, as JACK runs by default")
    args = ap.parse_args(argv)
    if args.jack:
        from .jack_latency import measure

        measure(args, named_set(args.set, args.data_root)[:args.limit])
        return 0
    torch.set_num_threads(1)
    lm, live_lm = load_model(args.model), load_live_model(args.live_model)
    (compare if args.compare else report)(args, lm, live_lm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
