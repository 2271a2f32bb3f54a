"""Faults while running: the input falls behind, the MIDI port's server stops mid-take, Ctrl-C at a
random moment of a batch, and a write that fails half-way. Real servers and processes, no mocks."""
import errno
import json
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import synth
from compare import JSON_TOL, assert_same_notes
from conftest import CLIP
from processes import start
from test_live import clip16, file_mode_notes, listening, live, play  # noqa: F401  (clip16 and live are fixtures)

from svt_live.io.annotations import load_midi_notes, load_notes, write_json
from svt_live.io.outputs import atomic_write

from .helpers import case

BACKLOG_READER = textwrap.dedent("""
    import subprocess, sys, time
    from svt_live.io import mic
    mic.MAX_BACKLOG_SECONDS = 0.2  # a small queue, so that a slow reader overflows it soon
    source = mic.MicSource("pulse").start()
    player = subprocess.Popen(["paplay", "-d", "vsink", sys.argv[1]])
    while source.read(10) is None:
        pass
    time.sleep(1.5)  # the consumer falls behind: a model call that takes far too long
    dropped = source.overflows
    end, after = time.monotonic() + 1.0, 0
    while time.monotonic() < end:
        after += source.read(0.5) is not None
    source.stop()
    player.kill()
    print(dropped, source.overflows, after, source.blocksize)
""")


@pytest.mark.robustness("faults", "overflows counted (reported in the take's summary line); the stream goes on",
                        case="consumer falls behind the input stream (PulseAudio, 0.2 s backlog, reader "
                             "stalls 1.5 s)")
def test_input_overflow_is_counted_and_the_stream_goes_on(pulse_server, tmp_path, robust):
    tone = synth.write_wav(tmp_path / "tone.wav", synth.harmonic_tones([[0, 8, 60]], 8))
    p = subprocess.run([sys.executable, "-c", BACKLOG_READER, str(tone)], env=pulse_server, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    dropped, total, after, blocksize = map(int, p.stdout.split())
    robust(f"at least 50 blocks of {blocksize / 16000 * 1000:.0f} ms dropped while stalled, all counted; "
           f"then at least 50 blocks read in the next second")
    assert dropped >= 50 and total >= dropped  # 1.5 s of 10 ms blocks, 20 of them queued
    assert after >= 50


@pytest.mark.robustness("faults", "reported in one line; transcription and the JSON output go on; exit 0",
                        case="MIDI port vanishes mid-take (its JACK server stops) during "
                             "--input mic --midi-out through PulseAudio")
def test_midi_port_vanishes_mid_take(live, pulse_server, private_jack, note_model, clip16, tmp_path, robust):
    jackd, jack_env = private_jack
    env = dict(pulse_server, JACK_DEFAULT_SERVER=jack_env["JACK_DEFAULT_SERVER"], SVT_MIDI_API="jack")
    run = live(["--input-device", "pulse", "--model", note_model, "--live-model", note_model, "--midi-out",
                "vanishing", "--json", tmp_path / "take.json", "--save-audio", tmp_path / "rec.wav"], env)
    run.wait_for(listening)
    assert any("MIDI out: 'vanishing' (jack)" in line for line in run.err), run.err
    player = play(pulse_server, clip16[0])
    run.wait_for(lambda r: len(r.out) >= 2)
    jackd.terminate()
    jackd.wait(10)
    run.wait_for(lambda r: any("went away" in line for line in r.err), timeout=30)
    notes_then = len(run.out)
    run.wait_for(lambda r: len(r.out) > notes_then, timeout=30)  # transcription goes on
    run.proc.send_signal(signal.SIGINT)
    rc = run.finish()
    player.wait(10)
    report = [line for line in run.err if "went away" in line]
    robust(f"exit {rc}; `{report[0]}`; more notes after it; JSON holds the take's notes (file mode's on it)")
    assert rc == 0, run.err  # not an abort from PortAudio's JACK host API at exit
    assert report == ["svt-live: MIDI port 'vanishing' went away (jack); transcription goes on without MIDI"]
    assert run.err[-1].startswith("svt-live: stopped (Ctrl-C):")
    assert_same_notes(load_notes(tmp_path / "take.json", song_id="live"),
                      file_mode_notes(tmp_path / "rec.wav", note_model), **JSON_TOL)


@pytest.mark.robustness("faults", "exit 130 with one line; outputs already written are complete; the old "
                                  "JSON and CSV table are untouched; no temporary files",
                        case="Ctrl-C at a random moment of a 6-file batch (file mode)")
def test_ctrl_c_at_a_random_moment_of_a_batch(tmp_path, robust):
    # 60 s files through the default model: file mode is fast (about 100x real time), so short files, or the
    # tests' tiny model (over 1000x), could finish the whole batch before the Ctrl-C lands
    files = [synth.write_song(tmp_path / "in", f"s{i}", [[0.2 + j, 0.8 + j, 60.0 + i] for j in range(8)], 60.0)
             for i in range(6)]
    old = {"before": [[0.1, 0.2, 60.0]]}
    (tmp_path / "out").mkdir()
    write_json(tmp_path / "out" / "all.json", {k: np.array(v) for k, v in old.items()})
    (tmp_path / "out" / "all.csv").write_text("old table\n")
    cmd = [sys.executable, "-m", "svt_live", *map(str, files), "-q",
           "--json", str(tmp_path / "out" / "all.json"), "--csv", str(tmp_path / "out" / "all.csv"),
           "--midi-file", str(tmp_path / "out" / "mid")]
    proc = start(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 60
    while not (tmp_path / "out" / "mid" / "s0.mid").exists() and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.02)  # the first file is done
    time.sleep(random.Random(7).uniform(0.0, 0.3))
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=60)[1]
    written = sorted(p.name for p in (tmp_path / "out" / "mid").iterdir())
    robust(f"exit {proc.returncode}; last stderr line `{err.replace(chr(13), chr(10)).splitlines()[-1]}`; "
           f"all.json and all.csv unchanged; each MIDI file written is complete")
    assert "Traceback" not in err
    assert proc.returncode == 130 and err.replace("\r", "\n").rstrip().splitlines()[-1] == "svt-live: interrupted", err
    assert json.loads((tmp_path / "out" / "all.json").read_text()) == old
    assert (tmp_path / "out" / "all.csv").read_text() == "old table\n"
    assert 1 <= len(written) < 6
    for name in written:  # complete: a file cut short fails to parse
        load_midi_notes(tmp_path / "out" / "mid" / name)
    assert not [p for p in (tmp_path / "out").rglob("*") if p.name.startswith(".")], "temporary files left"


@pytest.mark.robustness("faults", "exit 130 with the one line `svt-live: interrupted`, no traceback",
                        case="Ctrl-C while the command starts up (importing numpy and torch)")
def test_ctrl_c_while_the_command_starts_up(robust):
    # -X importtime reports each finished import on stderr: the Ctrl-C lands right after numpy's first
    # submodule, with numpy's and torch's imports still ahead (about a second)
    with start([sys.executable, "-X", "importtime", "-m", "svt_live", str(CLIP), "-q"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as proc:
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if "numpy" in line:
                proc.send_signal(signal.SIGINT)
                break
        lines += proc.stderr.readlines()
        proc.wait(timeout=60)
    said = [line.rstrip() for line in lines if not line.startswith("import time:")]
    robust(f"exit {proc.returncode}; stderr `{' / '.join(said)}`")
    assert proc.returncode == 130 and said == ["svt-live: interrupted"], said


KEPT = "propagates; the old file is intact; no temporary file left"


@pytest.mark.parametrize("failure", [
    case("write fails half-way (disk full)", OSError(errno.ENOSPC, "No space left on device"), category="faults",
         expected=f"the error {KEPT}"),
    case("Ctrl-C while writing an output", KeyboardInterrupt(), category="faults", expected=f"the interrupt {KEPT}"),
])
def test_failing_write_keeps_the_old_file(failure, tmp_path, robust):
    path = tmp_path / "notes.json"
    write_json(path, {"good": np.array([[0.5, 1.0, 60.0]])})
    before = path.read_bytes()

    def half_then_fail(tmp):
        with open(tmp, "w") as f:
            f.write(before.decode()[:len(before) // 2])
        raise failure

    with pytest.raises(type(failure)):
        atomic_write(path, half_then_fail)
    robust(f"{type(failure).__name__} raised; old file byte-identical; folder holds only notes.json")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["notes.json"]
