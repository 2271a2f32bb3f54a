"""Crafted exercise files and option combinations for ``svt-live --score``: what a score asks for costs at
most a bounded multiple of its size (or is refused in one line naming it), and no option is silently ignored."""
from __future__ import annotations

import time
import zipfile

import numpy as np
import pytest
import synth

from svt_live.commands.cli import main
from svt_live.engine.f0 import NotePitcher, note_pitches
from svt_live.engine.features import FeatureConfig
from svt_live.sight.score import MAX_SCORE_NOTES, read_score

from .helpers import case, seen, svt
from .helpers import midi_file as make_midi_file

NOTES = [[0.0, 0.5, 60], [0.5, 1.0, 62], [1.0, 1.5, 64], [1.5, 2.0, 65]]


def midi_file(path, notes=NOTES, tempi=(), division=480, tempo=500000):
    """:func:`helpers.midi_file` with this file's notes by default."""
    return make_midi_file(path, notes, tempi=tempi, division=division, tempo=tempo)


def zero_tempo(path):
    midi_file(path)
    data = path.read_bytes()
    at = data.index(b"\xff\x51\x03") + 3
    path.write_bytes(data[:at] + b"\0\0\0" + data[at + 3:])
    return path


def mxl_bomb(path, inflated_bytes=40_000_000):
    """A ``.mxl`` of a few tens of KB that inflates to ``inflated_bytes`` of MusicXML."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/container.xml", '<container><rootfiles><rootfile full-path="s.musicxml"/>'
                   "</rootfiles></container>")
        z.writestr("s.musicxml", "<score-partwise>" + " " * inflated_bytes + "</score-partwise>")
    return path


def long_exercise(path, n=MAX_SCORE_NOTES + 1):
    path.write_text("".join(f"{0.5 * k:.1f}\t{0.5 * k + 0.4:.1f}\t{60 + k % 12}\n" for k in range(n)))
    return path


@pytest.mark.parametrize("name, write, says", [
    case("MIDI exercise with tempo 0", "ex.mid", zero_tempo, "tempo 0", category="annotations",
         expected="exit 1, one line naming the file (was: a ZeroDivisionError traceback)"),
    case("MIDI exercise with 0 ticks per beat", "ex.mid", lambda p: midi_file(p, division=0), "0 ticks per beat",
         category="annotations", expected="exit 1, one line naming the file (was: a ZeroDivisionError traceback)"),
    case(".mxl exercise inflating 40 KB to 40 MB", "ex.mxl", mxl_bomb, "MB of MusicXML", category="load",
         expected="exit 1, one line naming the file, before inflating (was: inflated whole, 510 KB -> 3.9 GB)"),
    case(f"exercise of {MAX_SCORE_NOTES + 1} notes", "ex.txt", long_exercise, "at most", category="load",
         expected="exit 1, one line naming the file (was: score x sung notes of memory, 8.8 GB for 100k notes)"),
])
def test_crafted_exercises_are_one_line(name, write, says, tmp_path, capsys, robust):
    take = synth.write_wav(tmp_path / "take.wav", synth.sung_tones([[0.2, 0.6, 60]], 1.0))
    score = write(tmp_path / name)
    t = time.perf_counter()
    rc, _, lines = svt([take, "--score", score], capsys)
    robust(seen(rc, lines))
    assert rc == 1 and len(lines) == 1 and str(score) in lines[0] and says in lines[0]
    assert time.perf_counter() - t < 30


@pytest.mark.robustness("load", "read in linear time: under 5 s (was: quadratic, 141 s)",
                        case="MIDI exercise with 50000 tempo changes")
def test_a_long_tempo_map_is_read_in_linear_time(tmp_path, robust):
    path = midi_file(tmp_path / "ex.mid", tempi=[400000 + k % 7 for k in range(50000)])
    t = time.perf_counter()
    score = read_score(path)
    took = time.perf_counter() - t
    robust(f"{took:.1f} s")
    assert took < 5 and len(score.notes) == len(NOTES)
    assert score.notes[0, 0] == pytest.approx(50000 * 400003e-6 / 480, rel=1e-4)  # after the map's 50000 ticks


@pytest.mark.robustness("annotations", "the same notes as with ticks per beat (was: 'no notes')",
                        case="SMPTE-timed MIDI exercise (25 fps x 40 ticks)")
def test_an_smpte_midi_exercise_is_read(tmp_path, robust):
    # 1000 ticks per second: the file's ticks (written at 960 per second) are read 1000 per second
    score = read_score(midi_file(tmp_path / "ex.mid", division=(256 - 25) << 8 | 40))
    robust(f"{len(score.notes)} notes")
    np.testing.assert_allclose(score.notes, np.array(NOTES) * [0.96, 0.96, 1], atol=1e-3)


@pytest.mark.robustness("load", "only the last 30 s of audio kept; pitches as measured on the whole take",
                        case="--score on a long take (was: the whole take and its spectrum, 8.4 GB for 60 minutes)")
def test_the_take_s_pitches_are_measured_in_bounded_memory(robust):
    cfg = FeatureConfig()
    notes = np.array([[t, t + 0.4, 60 + (t * 2) % 12] for t in np.arange(1.0, 590.0, 5.0)])
    audio = synth.sung_tones(notes, 600.0).astype(np.float32)
    pitcher = NotePitcher(cfg)
    got, kept = [], 0
    for k in range(0, len(audio), 5 * cfg.sample_rate):
        pitcher.push(audio[k:k + 5 * cfg.sample_rate])
        kept = max(kept, sum(len(b) for b in pitcher._blocks))
        got += [pitcher.measure(*n) for n in notes if k / cfg.sample_rate <= n[1] + 0.2 < k / cfg.sample_rate + 5]
    robust(f"at most {kept / cfg.sample_rate:.0f} s of 600 s kept")
    assert kept <= 35 * cfg.sample_rate
    np.testing.assert_allclose(got, note_pitches(notes, audio, cfg), atol=1e-4)


@pytest.mark.parametrize("option", [
    case(f"--score with {' '.join(o)}", o, category="command line",
         expected="exit 2, one line (was: silently ignored)")
    for o in (["--musicxml", "x.musicxml"], ["--output-dir", "out"], ["--jobs", "2"], ["--skip-existing"],
              ["--realtime"])])
def test_score_options_it_cannot_honour_are_refused(option, tmp_path, capsys, robust):
    rc, _, lines = svt(["take.wav", "--score", "ex.mid", *option], capsys)
    robust(seen(rc, lines))
    assert rc == 2 and len(lines) == 1 and option[0] in lines[0]


@pytest.mark.robustness("command line", "shown escaped, never sent to the terminal",
                        case="--score: a take and an exercise named with terminal escapes")
def test_score_messages_escape_terminal_codes(tmp_path, capsys, robust):
    score = synth.write_midi(tmp_path / "ex\x1b[2J.mid", NOTES)
    take = synth.write_wav(tmp_path / "take\x1b]0;x\x07.wav", synth.sung_tones([[0.2, 0.6, 60]], 1.0))
    rc = main([str(take), "--score", str(score)])
    out, err = capsys.readouterr()
    robust(f"exit {rc}; " + next(line for line in err.splitlines() if line.startswith("exercise")))
    assert rc == 0 and "\x1b" not in out + err and "\x07" not in out + err and "\\x1b[2J" in err
