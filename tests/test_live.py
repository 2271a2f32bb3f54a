"""Live mode for real: ``svt-live --input mic`` recording what ``paplay`` plays into a PulseAudio
null sink, MIDI out through a JACK server, stopped by Ctrl-C, SIGTERM, ``--seconds`` or a dying server."""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from compare import JSON_TOL, assert_same_notes
from processes import start

from benchmarks.jack_latency import lag_of as lag_samples
from svt_live.commands.cli import main
from svt_live.evaluate import evaluate_notes
from svt_live.io.annotations import load_midi_notes, load_notes
from svt_live.io.audio import load_audio
from svt_live.io.bends import bend_range_controls
from svt_live.io.mic import MicError, MicSource, list_devices, list_input_devices

CLIP = Path(__file__).resolve().parents[1] / "svt_live" / "data" / "vocadito_10.wav"


class LiveRun:
    """``svt-live --input mic ...`` in a subprocess; collects its stdout and stderr lines as they come."""

    def __init__(self, args, env):
        self.proc = start([sys.executable, "-m", "svt_live.commands.cli", "--input", "mic", *map(str, args)],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self._threads = [threading.Thread(target=self._pump, args=(s, d), daemon=True)
                         for s, d in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._threads:
            t.start()

    @staticmethod
    def _pump(stream, lines):
        for line in stream:
            lines.append(line.rstrip("\n"))

    def wait_for(self, test, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while not test(self) and time.monotonic() < end:
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        assert test(self), f"timed out; stderr: {self.err}"

    def finish(self, timeout: float = 60.0) -> int:
        rc = self.proc.wait(timeout)
        for t in self._threads:
            t.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()
        assert not any("Traceback" in line for line in self.err), "\n".join(self.err)
        return rc


@pytest.fixture
def live():
    """Starts :class:`LiveRun` processes; kills any still running when the test ends (by pid)."""
    runs = []

    def start(args, env) -> LiveRun:
        runs.append(LiveRun(args, env))
        return runs[-1]

    yield start
    for run in runs:
        if run.proc.poll() is None:
            run.proc.kill()
            run.finish()


def listening(run: LiveRun) -> bool:
    return any("listening to" in line for line in run.err)


def drain(listener) -> list:
    """The messages a JACK MIDI listener received (after a moment for the last cycle), then close it."""
    time.sleep(0.2)
    got = []
    while (msg := listener.get_message()) is not None:
        got.append(msg[0])
    listener.close_port()
    listener.delete()
    return got


def play(env, path) -> subprocess.Popen:
    return start(["paplay", "-d", "vsink", str(path)], env=env)


@pytest.fixture(scope="module")
def clip16(tmp_path_factory):
    """The first 6 s of the bundled clip plus 2.5 s of silence as a 16 kHz mono 16-bit WAV: a 16 kHz
    sink plays it as is, nothing resamples it. Returns the path and the samples."""
    audio = np.concatenate([load_audio(CLIP)[:6 * 16000], np.zeros(40000, np.float32)])
    path = write_pcm(tmp_path_factory.mktemp("clip") / "clip16.wav", audio)
    return path, load_audio(path)


def read_wav(path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768


def lag_of(recorded: np.ndarray, clip: np.ndarray) -> tuple[int, float]:
    """Samples by which ``clip`` starts later in ``recorded`` (may be negative), and their correlation."""
    lag = lag_samples(recorded, clip)
    a, b = (recorded[lag:], clip) if lag >= 0 else (recorded, clip[-lag:])
    m = min(len(a), len(b))
    return lag, float(np.corrcoef(a[:m], b[:m])[0, 1])


def write_pcm(path, audio: np.ndarray) -> Path:
    """16 kHz mono 16-bit WAV holding ``audio`` exactly when it came from 16-bit samples (x * 32768)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.clip(np.round(audio * 32768), -32768, 32767).astype("<i2").tobytes())
    return Path(path)


def file_mode_notes(wav: Path, model) -> np.ndarray:
    out = wav.with_suffix(".json")
    assert main([str(wav), "--model", str(model), "--json", str(out), "-q"]) == 0
    return load_notes(out, song_id=wav.stem)


def test_devices_and_bad_device():
    devices = list_input_devices()
    assert all(set(d) == {"index", "name", "hostapi", "channels", "default_samplerate", "default"} for d in devices)
    assert sum(d["default"] for d in devices) <= 1
    assert isinstance(list_devices(), str)
    with pytest.raises(MicError) as err:
        MicSource("no such microphone 1234")
    assert "\n" not in str(err.value) and ("no input device matching" in str(err.value)
                                           or "no audio input devices" in str(err.value))


def test_a_jack_server_without_realtime_scheduling_is_warned_about(jack_server, monkeypatch):
    """The test JACK server runs with --no-realtime, the setup where live audio comes late on a busy
    machine (benchmarks.latency --jack --no-jack-realtime): a JACK input says so in one line."""
    from svt_live.io.jack import server_realtime

    assert server_realtime() is False
    code = "import json; from svt_live.io.mic import MicSource; print(json.dumps(MicSource('system').warnings()))"
    for _ in range(3):  # PortAudio's JACK host may miss a loaded server at start (no 'system' device)
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=jack_server)
        if "no input device matching 'system'" not in p.stderr:
            break
    assert p.returncode == 0, p.stderr
    warnings = json.loads(p.stdout)
    assert len(warnings) == 1 and "without realtime scheduling" in warnings[0] and "\n" not in warnings[0]
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "svt-no-such-server")
    assert server_realtime() is None


def test_input_devices_seen_through_a_pulseaudio_server(pulse_server):
    """With a sound server there are devices to list (PortAudio reads them once per process, so a
    fresh interpreter lists them): each has the documented keys, at most one is the default, and the
    table svt-live --list-devices prints names them."""
    code = ("import json; from svt_live.io.mic import list_devices, list_input_devices; "
            "print(json.dumps(list_input_devices())); print(list_devices())")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=pulse_server)
    assert p.returncode == 0, p.stderr
    devices = json.loads(p.stdout.splitlines()[0])
    assert "pulse" in [d["name"] for d in devices], devices
    assert all(set(d) == {"index", "name", "hostapi", "channels", "default_samplerate", "default"} for d in devices)
    assert sum(d["default"] for d in devices) <= 1 and all(d["channels"] > 0 for d in devices)
    assert "pulse" in p.stdout.split("\n", 1)[1]


def test_mic_end_to_end_equals_file_mode(live, pulse_server, note_model, clip16, tmp_path):
    """What the microphone hears gives the notes file mode gives for the same clip."""
    clip_path, clip = clip16
    run = live(["--input-device", "pulse", "--model", note_model, "--live-model", note_model, "--seconds", 7.0,
                "--hop", 0.04, "--json", tmp_path / "mic.json", "--save-audio", tmp_path / "take.wav"], pulse_server)
    run.wait_for(listening)
    player = play(pulse_server, clip_path)
    assert run.finish() == 0, run.err
    assert player.wait(10) == 0
    summary = re.fullmatch(r"svt-live: done: (\d+) notes in 7\.0 s, (\d+) input overflows", run.err[-1])
    assert summary, run.err
    mic = load_notes(tmp_path / "mic.json", song_id="live")
    assert len(mic) >= 5 and len(run.out) >= 5  # printed: the live network's NoteOns
    assert all(re.search(r"vel +\d+  engine latency +\d+ ms$", line) for line in run.out), run.out[:3]

    recorded = read_wav(tmp_path / "take.wav")
    assert abs(len(recorded) - 7.0 * 16000) <= 1
    if int(summary.group(2)) == 0:  # (an overflow, rare, drops audio: the rest of the take shifts)
        lag, corr = lag_of(recorded, clip)
        assert corr > 0.99, "the audio server should deliver the clip unchanged"
        aligned = np.concatenate([np.zeros(max(lag, 0), np.float32), clip[max(-lag, 0):]])[:len(recorded)]
        expected = file_mode_notes(write_pcm(tmp_path / "aligned.wav", aligned), note_model)
        assert evaluate_notes(expected, mic)["COnP"][2] >= 0.9
    # and exactly the notes of file mode on the very samples recorded
    same = file_mode_notes(tmp_path / "take.wav", note_model)
    assert_same_notes(mic, same, **JSON_TOL)


def test_ctrl_c_closes_notes_midi_and_saves_everything(live, pulse_server, jack_server, note_model, clip16,
                                                       tmp_path):
    rtmidi = pytest.importorskip("rtmidi")
    env = dict(pulse_server, JACK_DEFAULT_SERVER=jack_server["JACK_DEFAULT_SERVER"], SVT_MIDI_API="jack")
    out = {k: tmp_path / f"a.{k}" for k in ("json", "csv", "mid")}
    run = live(["--input-device", "pulse", "--model", note_model, "--live-model", note_model,
                "--midi-out", "svt-live-ctrl-c", "--pitch-bends",
                "--json", out["json"], "--csv", out["csv"], "--midi-file", out["mid"]], env)
    run.wait_for(listening)
    assert any("MIDI out: 'svt-live-ctrl-c' (jack)" in line for line in run.err), run.err
    listener = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"listener-{os.getpid()}")
    listener.open_port(next(i for i, p in enumerate(listener.get_ports()) if "svt-live-ctrl-c" in p))
    player = play(pulse_server, clip16[0])
    run.wait_for(lambda r: len(r.out) >= 6)  # a few notes in, mid-song (live NoteOns come first)
    run.proc.send_signal(signal.SIGINT)
    assert run.finish() == 0, run.err
    player.terminate()
    player.wait()
    assert run.err[-1].startswith("svt-live: stopped (Ctrl-C):") and "input overflows" in run.err[-1]

    from_json = load_notes(out["json"], song_id="live")
    from_csv = load_notes(out["csv"])
    from_mid = load_midi_notes(out["mid"])
    assert len(from_json) >= 2
    np.testing.assert_array_equal(from_csv, from_json)
    np.testing.assert_allclose(from_mid[:, :2], from_json[:, :2], atol=1e-3)
    np.testing.assert_array_equal(from_mid[:, 2], np.round(from_json[:, 2]))
    assert out["csv"].read_text().startswith("onset,offset,midi\n")
    assert json.loads(out["json"].read_text()).keys() == {"live"}

    got = drain(listener)
    first_on = next(i for i, m in enumerate(got) if m[0] == 0x90)
    assert [m for m in got[:first_on] if m[0] == 0xB0] == [[0xB0, c, v] for c, v in bend_range_controls()], \
        "the bend range (RPN 0) before the first note"
    assert got[-2:] == [[0xB0, 123, 0], [0xE0, 0, 64]], "all notes off and the wheel centred on exit"
    sounding = set()
    for status, pitch, _ in got[:-2]:
        if status in (0x80, 0x90):
            (sounding.add if status == 0x90 else sounding.discard)(pitch)
    assert not sounding, "every note on has its note off"
    printed = [int(re.search(r"\(\s*(\d+)\)", line).group(1)) for line in run.out]
    received = [m[1] for m in got if m[0] == 0x90]  # (a NoteOn before the listener connected is not seen)
    assert len(received) >= 3 and received == printed[-len(received):], "one printed line per NoteOn sent"
    assert sum(m[0] == 0xE0 for m in got) > sum(m[0] == 0x90 for m in got), "the sung contour as pitch bends"


def test_scale_and_hold_reach_the_port_and_the_files_keep_what_was_sung(live, pulse_server, jack_server,
                                                                         note_model, clip16, tmp_path):
    """--scale D:minor --hold-ms 100: every NoteOn a JACK client receives is a note of D minor and is
    closed by its NoteOff; the saved files keep the sung numbers."""
    from svt_live.theory.scale import Scale

    rtmidi = pytest.importorskip("rtmidi")
    env = dict(pulse_server, JACK_DEFAULT_SERVER=jack_server["JACK_DEFAULT_SERVER"], SVT_MIDI_API="jack")
    run = live(["--input-device", "pulse", "--model", note_model, "--live-model", note_model, "--seconds", 8.0,
                "--midi-out", "svt-live-scale", "--scale", "D:minor", "--hold-ms", "100",
                "--json", tmp_path / "take.json"], env)
    run.wait_for(listening)
    assert any("MIDI out plays the notes of D minor, holding through gaps up to 100 ms" in line
               for line in run.err), run.err
    listener = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"listener-{os.getpid()}")
    listener.open_port(next(i for i, p in enumerate(listener.get_ports()) if "svt-live-scale" in p))
    player = play(pulse_server, clip16[0])
    assert run.finish() == 0, run.err
    player.wait(10)
    got = drain(listener)
    d_minor = Scale(2, "minor").pitch_classes
    received = [m[1] for m in got if m[0] == 0x90]
    assert len(received) >= 3 and all(p % 12 in d_minor for p in received), got
    sounding = set()
    for status, pitch, _ in got:
        if status in (0x80, 0x90):
            (sounding.add if status == 0x90 else sounding.discard)(pitch)
    assert not sounding and got[-1] == [0xB0, 123, 0]
    saved = np.round(load_notes(tmp_path / "take.json", song_id="live")[:, 2]) % 12
    assert any(p not in d_minor for p in saved), f"the files keep what was sung: {saved}"


def test_sigterm_and_unavailable_midi(live, pulse_server, note_model, tmp_path):
    """SIGTERM before any audio still writes (empty) outputs; a MIDI port that cannot open is reported."""
    env = dict(pulse_server, SVT_MIDI_API="jack", JACK_DEFAULT_SERVER="svt-no-such-server")
    run = live(["--input-device", "pulse", "--model", note_model, "--live-model", note_model, "--midi-out",
                   "--json", tmp_path / "t.json", "--csv", tmp_path / "t.csv", "--midi-file", tmp_path / "t.mid"],
                  env)
    run.wait_for(listening)
    assert any("MIDI out unavailable" in line and "JACK needs a running jackd" in line for line in run.err)
    run.proc.send_signal(signal.SIGTERM)
    assert run.finish() == 0, run.err
    assert run.err[-1].startswith("svt-live: stopped (SIGTERM):")
    assert json.loads((tmp_path / "t.json").read_text()) == {"live": []}
    assert (tmp_path / "t.csv").read_text() == "onset,offset,midi\n"
    assert len(load_midi_notes(tmp_path / "t.mid")) == 0


def test_dying_audio_server_saves_and_fails(live, private_pulse, note_model, clip16, tmp_path):
    proc, env = private_pulse
    run = live(["--input-device", "pulse", "--model", note_model, "--live-model", note_model,
                "--json", tmp_path / "d.json", "--save-audio", tmp_path / "rec.wav"], env)
    run.wait_for(listening)
    player = play(env, clip16[0])
    run.wait_for(lambda r: len(r.out) >= 2)
    proc.terminate()  # the audio server goes away mid-take
    assert run.finish() == 1
    player.wait(10)
    assert any(line.startswith("svt-live: error: audio input 'pulse' stopped") for line in run.err), run.err
    notes = load_notes(tmp_path / "d.json", song_id="live")  # the take up to the failure, as file mode hears it
    assert_same_notes(notes, file_mode_notes(tmp_path / "rec.wav", note_model), **JSON_TOL)
