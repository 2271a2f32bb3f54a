"""Live mode end to end, as a player hears it: ``python -m benchmarks.latency --jack``.

Starts its own JACK server (``jackd -d dummy``, 48 kHz, 256-frame periods, asynchronous as a
user's server runs, so a late client is an xrun) and, for each recording of the set, a real
``svt-live --input mic --midi-out`` whose PortAudio input is the JACK server. A JACK client of
this benchmark plays the recording into svt-live's input port and records svt-live's MIDI port,
stamping both in audio frames of the server's clock: the frame the recording's first sample
entered the graph and the frame each MIDI byte arrived at. After the recording (and a second of
silence) svt-live gets Ctrl-C and saves its take (the accurate network's notes and the audio it
heard; the audio places the notes on the recording's clock by cross-correlation).

Printed, over the set:

- **note latency (matched)**: for each NoteOn that matches a reference note (onset within
  :data:`LATENCY_WINDOW`, pitch within 50 cents), its arrival at the MIDI client less the
  reference onset: the whole chain (JACK period, PortAudio's buffer, svt-live's queue, the
  networks, rtmidi), in audio frames. Also its median over the first and the last third of
  each take (flat when the live path keeps up with the audio).
- **live stream COnP F1**: the notes the MIDI client recorded (pitch: the note number plus
  the median pitch bend while it sounded), each onset moved earlier by the median latency
  as a DAW's latency compensation would, against the references (mir_eval, onset 50 ms,
  pitch 50 cents, mean per song); beside the take's saved notes (the files); the difference.
- **NoteOn pitch = saved pitch**: of the NoteOns within 50 ms of a saved note's onset
  (compensated), the share sent with that note's number.
- **false NoteOns per minute**: recorded notes that match no reference note.
- **xruns** (the server's, while a recording plays) and **input overflows**
  (what svt-live reports at the end of each take).

Needs ``jackd`` (``scripts/setup-system.sh``) and the ``jack`` module (JACK-Client, a dev
dependency). The recordings play in real time: SSVD dev takes about 18 minutes (``--limit N``
for the first N). Nothing else should run: the figures are the machine's.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from svt_live.events import NoteOff, NoteOn, PitchBend
from svt_live.io.annotations import load_notes
from svt_live.io.audio import load_audio
from svt_live.io.bends import BEND_RANGE_SEMITONES

ROOT = Path(__file__).resolve().parents[1]
RATE, PERIOD = 48000, 256  # the server's sample rate and period (frames)
LATENCY_WINDOW = 0.25  # s: a NoteOn this far from a reference onset (same pitch) still counts for latency
SETTLE_SECONDS = 1.0  # silence played before each recording (svt-live's first model calls)
TAIL_SECONDS = 1.0  # silence after it, before Ctrl-C
BASELINE_SECONDS = 30.0  # silence played with no svt-live running: the machine's own xruns
MIDI_PORT = "svt-live"  # svt-live's virtual port when --midi-out names none


def jackd_command(server: str, realtime: bool = True) -> list[str]:
    """A JACK server as a user runs one: dummy driver, 48 kHz, 256-frame periods, asynchronous,
    realtime scheduling (its clients' process threads too) unless ``realtime`` is false."""
    return ["jackd", *([] if realtime else ["--no-realtime"]), "-n", server, "-d", "dummy", "-r", str(RATE),
            "-p", str(PERIOD)]


class Bench:
    """This benchmark's JACK client: plays a recording into an input and stamps the MIDI it receives.

    Both in frames of the server's clock: ``start_frame`` is the frame of the recording's first
    sample, ``events`` ``[(frame, bytes)]`` the MIDI messages received, ``xruns`` the server's xruns.
    """

    def __init__(self, server: str):
        import jack

        self.client = jack.Client("svt-bench-player", servername=server, no_start_server=True)
        self.out = self.client.outports.register("out")
        self.midi = self.client.midi_inports.register("midi_in")
        self._audio: np.ndarray | None = None
        self._pos = 0
        self.start_frame: int | None = None
        self.events: list[tuple[int, bytes]] = []
        self.xruns = 0
        self.client.set_process_callback(self._process)
        self.client.set_xrun_callback(self._xrun)
        self.client.activate()

    def _process(self, frames: int) -> None:
        buf = self.out.get_array()
        audio, pos = self._audio, self._pos
        if audio is not None and pos < len(audio):
            if self.start_frame is None:
                self.start_frame = self.client.last_frame_time
            n = min(frames, len(audio) - pos)
            buf[:n] = audio[pos:pos + n]
            buf[n:] = 0.0
            self._pos = pos + n
        else:
            buf.fill(0.0)
        base = self.client.last_frame_time
        for offset, data in self.midi.incoming_midi_events():
            self.events.append((base + offset, bytes(data)))

    def _xrun(self, _delay_usecs: float) -> None:
        if self.playing:  # svt-live's start (loading, connecting) is not part of the take
            self.xruns += 1

    def play(self, audio: np.ndarray) -> None:
        """Start playing ``audio`` (float32 at :data:`RATE`) at the next period; resets the stamps and
        the xrun count."""
        self.events, self.start_frame, self._pos, self.xruns = [], None, 0, 0
        self._audio = np.ascontiguousarray(audio, np.float32)

    @property
    def playing(self) -> bool:
        return self._audio is not None and self._pos < len(self._audio)

    def play_through(self, audio: np.ndarray) -> None:
        """:meth:`play` ``audio`` and wait until its last period has gone out."""
        self.play(audio)
        while self.playing:
            time.sleep(0.05)

    def connect_to(self, midi_port: str, timeout_s: float = 30.0) -> None:
        """Wire this client to svt-live: the player into its PortAudio input (instead of the dummy
        driver's silent capture), its MIDI port named ``midi_port`` into the recorder."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            inputs = [p for p in self.client.get_ports(is_audio=True, is_input=True) if p.name.startswith("PortAudio")]
            midi = [p for p in self.client.get_ports(is_midi=True, is_output=True) if p.name.endswith(":" + midi_port)]
            if inputs and midi:
                break
            time.sleep(0.05)
        else:
            ports = ", ".join(p.name for p in self.client.get_ports())
            raise RuntimeError(f"svt-live's audio input or MIDI port did not appear in the JACK graph ({ports})")
        for port in inputs:
            for source in self.client.get_all_connections(port):
                self.client.disconnect(source, port)
            self.client.connect(self.out, port)
        self.client.connect(midi[0], self.midi)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


def midi_events(stamped: list[tuple[int, bytes]], start_frame: int) -> list:
    """svt-live's MIDI messages as note events on the recording's clock (s), ``emitted_at`` = arrival."""
    events = []
    for frame, data in stamped:
        t = (frame - start_frame) / RATE
        status = data[0] & 0xF0
        if status == 0x90 and data[2] > 0:
            events.append(NoteOn(t, data[1], data[2], emitted_at=t))
        elif status in (0x80, 0x90):
            events.append(NoteOff(t, data[1], onset=t, midi=float(data[1]), emitted_at=t))
        elif status == 0xE0:
            events.append(PitchBend(t, ((data[2] << 7 | data[1]) - 8192) / 8192 * BEND_RANGE_SEMITONES,
                                    emitted_at=t))
    return events


def lag_of(recorded: np.ndarray, clip: np.ndarray) -> int:
    """Samples by which ``clip`` starts later in ``recorded`` (may be negative; cross-correlation)."""
    n = 1 << int(np.ceil(np.log2(len(recorded) + len(clip))))
    xc = np.fft.irfft(np.fft.rfft(recorded, n) * np.conj(np.fft.rfft(clip, n)), n)
    lag = int(np.argmax(xc))
    return lag if lag < n // 2 else lag - n


@dataclass
class Take:
    """One recording through a real svt-live: the note events the MIDI client got, the notes svt-live
    saved (both on the recording's clock), the recording's length, and what went wrong on the way
    (``overflows``: -1 when svt-live did not say)."""

    events: list
    saved: np.ndarray
    seconds: float
    xruns: int
    overflows: int


def run_take(bench: Bench, server: str, audio48: np.ndarray, workdir: Path, svt_args: list[str]) -> Take:
    """Play ``audio48`` through a fresh ``svt-live --input mic`` (see the module docstring)."""
    env = dict(os.environ, JACK_DEFAULT_SERVER=server, SVT_MIDI_API="jack")
    take_json, take_wav = workdir / "take.json", workdir / "take.wav"
    for p in (take_json, take_wav):
        p.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "svt_live", "--input", "mic", "--input-device", "system", "--midi-out",
           "--json", str(take_json), "--save-audio", str(take_wav), "-q", *svt_args]
    from tests.servers import die_with_parent  # SIGTERM when this benchmark dies: no svt-live left running

    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True,
                            preexec_fn=die_with_parent)
    lines: list[str] = []
    listening = threading.Event()

    def pump() -> None:
        for line in proc.stderr:
            lines.append(line)
            if "listening to" in line:
                listening.set()
        listening.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        if not listening.wait(120) or proc.poll() is not None:
            raise RuntimeError("svt-live did not start listening: " + "".join(lines)[-400:])
        bench.connect_to(MIDI_PORT)
        silence = np.zeros(int(SETTLE_SECONDS * RATE), np.float32)
        bench.play_through(np.concatenate([silence, audio48]))
        time.sleep(TAIL_SECONDS)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(5)
    err = "".join(lines)
    if proc.returncode != 0:
        raise RuntimeError(f"svt-live exited {proc.returncode}: {err[-400:]}")
    found = re.findall(r"(\d+) input overflows", err)
    start = bench.start_frame + len(silence)  # the recording's first sample
    lag = lag_of(load_audio(take_wav, RATE), audio48[:30 * RATE])
    saved = load_notes(take_json)
    saved = saved - np.array([lag / RATE, lag / RATE, 0.0]) if len(saved) else saved.reshape(0, 3)
    return Take(midi_events(bench.events, start), saved, len(audio48) / RATE, bench.xruns,
                int(found[-1]) if found else -1)


def measure(args, songs) -> None:
    """Print the end-to-end lines for ``songs`` (see the module docstring)."""
    from tests import servers  # the test suite's server starter: own process group, dies with this process

    svt_args = [] if args.no_bends else ["--pitch-bends"]
    svt_args += ["--model", args.model] if args.model else []
    svt_args += ["--live-model", args.live_model] if args.live_model else []
    server = f"svt-bench-{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="svt-jack-bench-"))
    with open(workdir / "jackd.log", "w") as log:
        jackd = servers.start(jackd_command(server, args.jack_realtime), stdout=log, stderr=subprocess.STDOUT)
    bench = None
    takes = []
    try:
        if subprocess.run(["jack_wait", "-s", server, "-w", "-t", "10"], capture_output=True).returncode:
            raise RuntimeError("jackd did not start: " + (workdir / "jackd.log").read_text()[-300:])
        bench = Bench(server)
        bench.play_through(np.zeros(int(BASELINE_SECONDS * RATE), np.float32))
        baseline = bench.xruns
        print(f"the server and this benchmark's client alone, {BASELINE_SECONDS:.0f} s: {baseline} xruns",
              file=sys.stderr, flush=True)
        for k, song in enumerate(songs, 1):
            take = run_take(bench, server, load_audio(song.audio, RATE), workdir, svt_args)
            takes.append(take)
            print(f"{k}/{len(songs)} {song.id}: {take.xruns} xruns, {take.overflows} input overflows",
                  file=sys.stderr, flush=True)
    finally:
        if bench is not None:
            bench.close()
        servers.stop(jackd)
        realtime = "starting in realtime mode" in (workdir / "jackd.log").read_text()
        shutil.rmtree(workdir, ignore_errors=True)
    summarise(args, songs, takes, realtime, baseline)


def summarise(args, songs, takes: list[Take], realtime: bool, baseline: int) -> None:
    """The printed lines, from each song's take."""
    from svt_live.evaluate import evaluate_songs

    from .latency import TARGETS, matched, number_agreement, sent_notes, stats_row

    latency, early, late, sent = [], [], [], []
    for song, take in zip(songs, takes):
        arrived, _, numbers = sent_notes(take.events)
        sent.append((arrived, numbers))
        for i, j in latency_pairs(song.notes, arrived):
            d = arrived[j, 0] - song.notes[i, 0]
            latency.append(d)
            if song.notes[i, 0] < take.seconds / 3:
                early.append(d)
            elif song.notes[i, 0] >= 2 * take.seconds / 3:
                late.append(d)
    shift = float(np.median(latency)) if latency else 0.0  # a DAW's latency compensation
    pairs_sent, pairs_saved = {}, {}
    false_ons = note_ons = agreeing = agreement_matched = 0
    for song, take, (arrived, numbers) in zip(songs, takes, sent):
        heard = arrived - np.array([shift, shift, 0.0])
        pairs_sent[song.id], pairs_saved[song.id] = (song.notes, heard), (song.notes, take.saved)
        note_ons += len(heard)
        false_ons += len(heard) - len(matched(song.notes, heard))
        a, m = number_agreement(take.saved, heard, numbers)
        agreeing, agreement_matched = agreeing + a, agreement_matched + m
    minutes = sum(t.seconds for t in takes) / 60.0
    f_live = evaluate_songs(pairs_sent)["mean"]["COnP"][2]
    f_files = evaluate_songs(pairs_saved)["mean"]["COnP"][2]
    print(f"end to end at a JACK MIDI client: jackd dummy {RATE} Hz, {PERIOD}-frame periods "
          f"({1000 * PERIOD / RATE:.1f} ms), {'realtime' if realtime else 'not realtime'}, set {args.set}: "
          f"{len(songs)} songs, {minutes:.1f} min, pitch bends {'off' if args.no_bends else 'on'}")
    print(f"{'':<28}{'count':>7}{'median ms':>10}{'p95 ms':>10}")
    print(stats_row("note latency (matched)", latency, TARGETS["note latency"]))
    print(stats_row("  first third of each take", early, None))
    print(stats_row("  last third of each take", late, None))
    print(f"live stream COnP F1 {100 * f_live:.2f} % (mean/song; arrival less the median latency), "
          f"accurate path (files) {100 * f_files:.2f} %, difference {100 * (f_files - f_live):.2f} points")
    print(f"NoteOn pitch = saved pitch {100 * agreeing / max(1, agreement_matched):.1f} % "
          f"({agreeing} of {agreement_matched})")
    print(f"false NoteOns per minute {false_ons / max(minutes, 1e-9):.1f} ({false_ons} of {note_ons})")
    print(f"xruns {sum(t.xruns for t in takes)}, input overflows {sum(max(0, t.overflows) for t in takes)}; "
          f"the machine alone (jackd and this client, {BASELINE_SECONDS:.0f} s of silence, no svt-live): "
          f"{baseline} xruns")


def latency_pairs(ref: np.ndarray, arrived: np.ndarray) -> list[tuple[int, int]]:
    """``(ref index, sent index)``: mir_eval's one-to-one matching with onset tolerance
    :data:`LATENCY_WINDOW` and pitch 50 cents, of the notes as they arrived."""
    from mir_eval import transcription

    from svt_live.theory.tuning import midi_to_hz

    if not len(ref) or not len(arrived):
        return []
    return transcription.match_notes(ref[:, :2], midi_to_hz(ref[:, 2]), arrived[:, :2], midi_to_hz(arrived[:, 2]),
                                     onset_tolerance=LATENCY_WINDOW, pitch_tolerance=50.0, offset_ratio=None)
