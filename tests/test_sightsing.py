"""Sight-singing check: alignment verdicts, scores from MIDI and MusicXML, the --score command."""
from __future__ import annotations

import io
import json
import os
import re

import mido
import numpy as np
import pytest
import synth

from svt_live.commands.cli import main
from svt_live.events import NoteOff
from svt_live.notes import NoteError
from svt_live.sight.check import check, format_result
from svt_live.sight.metronome import click_times, click_track
from svt_live.sight.score import Score, ScoreError, read_score
from svt_live.sight.take import LiveMarker

SCORE = np.array([[0.0, 0.5, 60], [0.5, 1.0, 62], [1.0, 1.5, 64], [1.5, 2.0, 65],
                  [2.0, 2.5, 67], [2.5, 3.0, 65], [3.0, 3.5, 64], [3.5, 4.5, 62]], float)


def perform(score, start=1.0, ratio=1.1, wrong=None, skip=(), extra=(), warp=None):
    """Sung notes for ``score``: ``start`` s late, ``ratio`` times slower (or ``warp(score_s) -> take_s``),
    ``wrong`` {index: sung midi}, ``skip`` indices not sung, ``extra`` rows added (take time)."""
    warp = warp or (lambda s: start + ratio * s)
    rows = [[warp(a) + 0.02, warp(b) - 0.1, (wrong or {}).get(i, p + 0.1)]
            for i, (a, b, p) in enumerate(score) if i not in skip]
    return np.array(sorted(rows + [list(e) for e in extra]))


def statuses(result):
    return [n.status for n in result.notes]


def test_wrong_missed_and_extra_notes_despite_a_late_start_and_a_slower_tempo():
    sung = perform(SCORE, wrong={2: 66.2}, skip={4}, extra=[(6.25, 6.6, 70.0)])
    r = check(SCORE, sung)
    assert statuses(r) == ["right", "right", "wrong", "right", "missed", "right", "right", "right"]
    assert [sung[j, 2] for j in r.extra] == [70.0]
    assert r.notes[2].pitch_error_cents == pytest.approx(210, abs=15)  # 66.2 against 64, singer 10 c sharp
    assert r.tempo_ratio == pytest.approx(1.1, abs=0.01) and r.start_s == pytest.approx(1.02, abs=0.02)
    assert all(abs(n.onset_error_ms) < 5 for n in r.notes if n.onset_error_ms is not None)
    s = r.summary()
    assert (s["right"], s["wrong"], s["missed"], s["extra"], s["within_tolerance"]) == (6, 1, 1, 1, 0.75)
    report = r.to_dict()
    assert report["notes"][2]["sung"]["name"] == "F#4" and report["extra"][0]["name"] == "A#4"


def test_tempo_drift_is_followed_not_flagged():
    score = np.array([[0.5 * i, 0.5 * i + 0.4, 60 + (i * 5) % 12] for i in range(24)], float)
    warp = lambda s: 2.0 + s + 0.03 * s ** 2  # noqa: E731  slows down to 1.7x by the end
    r = check(score, perform(score, warp=warp, wrong={20: 70.0 + 0.7}))
    assert statuses(r).count("right") == 23 and r.notes[20].status == "wrong"


def test_octave_lower_singing_is_not_wrong_and_a_repeated_note_may_be_held():
    score = np.array([[0, 0.5, 72], [0.5, 1.0, 74], [1.0, 1.5, 74], [1.5, 2.0, 76]], float)
    sung = np.array([[0.3, 0.75, 60.0], [0.8, 1.75, 62.1], [1.8, 2.2, 64.0]])  # 74 held over two beats
    r = check(score, sung)
    assert r.octave_shift == -1 and statuses(r) == ["right", "right", "held", "right"]


def test_an_empty_take_misses_every_note_and_bad_input_is_refused():
    assert statuses(check(SCORE, np.zeros((0, 3)))) == ["missed"] * len(SCORE)
    with pytest.raises(NoteError, match="no notes"):
        check(np.zeros((0, 3)), SCORE)
    with pytest.raises(NoteError, match="finite"):
        check(SCORE, [[0, np.nan, 60]])


def musicxml(path, parts):
    """A MusicXML file written by music21: ``parts`` is a list of [(midi or chord tuple, quarters)]."""
    from music21 import chord, meter, note, stream, tempo
    s = stream.Score()
    for k, notes in enumerate(parts):
        p = stream.Part()
        p.partName = f"Voice {k + 1}"
        p.append(tempo.MetronomeMark(number=90))
        p.append(meter.TimeSignature("3/4"))
        for pitch, ql in notes:
            p.append(chord.Chord(list(pitch), quarterLength=ql) if isinstance(pitch, tuple)
                     else note.Note(pitch, quarterLength=ql) if pitch else note.Rest(quarterLength=ql))
        s.insert(0, p)
    s.write("musicxml", fp=str(path))
    return path


def test_scores_from_midi_and_musicxml(tmp_path):
    mid = read_score(synth.write_midi(tmp_path / "ex.mid", SCORE.tolist()))
    np.testing.assert_allclose(mid.notes, SCORE, atol=2e-3)
    assert (mid.bpm, mid.beats_per_bar) == (120.0, 4)
    xml = read_score(musicxml(tmp_path / "ex.musicxml", [[(60, 1), (62, 0.5), (None, 0.5), (64, 2)]]))
    beat = 60 / 90
    np.testing.assert_allclose(xml.notes, [[0, beat, 60], [beat, 1.5 * beat, 62], [2 * beat, 4 * beat, 64]],
                               atol=1e-6)
    assert (xml.bpm, xml.beats_per_bar, xml.voice) == (90.0, 3, "part 1 'Voice 1'")


def test_polyphonic_scores_say_which_voice_is_the_exercise(tmp_path):
    with pytest.warns(UserWarning, match=r"2 parts with notes; the exercise is the first, part 1 'Voice 1'"):
        s = read_score(musicxml(tmp_path / "two.musicxml", [[(60, 1), (64, 1)], [(48, 2)]]))
    assert s.notes[:, 2].tolist() == [60, 64]
    with pytest.warns(UserWarning, match="has chords; the top note of each"):
        s = read_score(musicxml(tmp_path / "chords.musicxml", [[((60, 64, 67), 1), (62, 1)]]))
    assert s.notes[:, 2].tolist() == [67, 62]
    mid = mido.MidiFile()
    for ch, pitch in ((0, 60), (1, 48)):
        t = mido.MidiTrack([mido.Message("note_on", channel=ch, note=pitch, velocity=80, time=0),
                            mido.Message("note_off", channel=ch, note=pitch, time=480)])
        mid.tracks.append(t)
    mid.save(tmp_path / "two.mid")
    with pytest.warns(UserWarning, match="2 voices with notes; the exercise is the first, track 1 channel 1"):
        assert read_score(tmp_path / "two.mid").notes[:, 2].tolist() == [60]


def bad_scores(tmp_path):
    empty = mido.MidiFile()
    empty.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)]))
    empty.save(tmp_path / "empty.mid")
    (tmp_path / "text.mid").write_text("not midi at all\n")
    (tmp_path / "broken.musicxml").write_text("<score-partwise><part id='P1'><measure>")
    return {"empty": (tmp_path / "empty.mid", "no notes"), "unreadable MIDI": (tmp_path / "text.mid", "not a readable"),
            "unreadable MusicXML": (tmp_path / "broken.musicxml", "not a readable MusicXML"),
            "missing": (tmp_path / "none.mid", "no such score")}


@pytest.mark.parametrize("case", ["empty", "unreadable MIDI", "unreadable MusicXML", "missing"])
def test_bad_scores_are_one_line_errors(tmp_path, case, capsys):
    path, why = bad_scores(tmp_path)[case]
    with pytest.raises(ScoreError, match=why):
        read_score(path)
    take = synth.write_wav(tmp_path / "take.wav", synth.sung_tones([[0.2, 0.6, 60]], 1.0))
    rc = main([str(take), "--score", str(path)])
    err = capsys.readouterr().err
    assert rc == 1 and why in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if "error" in line]) == 1


@pytest.mark.parametrize("argv, why", [(["--report", "r.json"], "need --score"),
                                       (["--score", "s.mid", "--count-in", "2"], "needs --input mic"),
                                       (["--score", "s.mid", "--json", "x.json"], "writes --report"),
                                       (["--score", "s.mid", "--tolerance-cents", "0"], "more than 0")])
def test_sight_singing_usage_errors(argv, why, capsys):
    assert main(["take.wav", *argv]) == 2
    assert why in capsys.readouterr().err


def test_the_command_checks_a_sung_take_and_writes_the_report(tmp_path, capsys):
    exercise = synth.write_midi(tmp_path / "ex.mid", SCORE.tolist())
    sung = perform(SCORE, wrong={2: 66.0}, skip={4}, extra=[(6.25, 6.65, 70.0)])
    sung[:, 1] -= 0.05  # room between notes, so each is heard as a new one
    take = synth.write_wav(tmp_path / "take.wav", synth.sung_tones(sung, 7.5))
    rc = main([str(take), "--score", str(exercise), "--report", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert rc == 0 and "WRONG" in out and "MISSED" in out and "extra  A#4" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert [n["status"] for n in report["notes"]] == ["right", "right", "wrong", "right", "missed",
                                                      "right", "right", "right"]
    assert report["notes"][2]["sung"]["name"] == "F#4" and [e["name"] for e in report["extra"]] == ["A#4"]
    assert report["summary"]["tempo_ratio"] == pytest.approx(1.1, abs=0.03)
    assert main([str(take), "--score", str(exercise), "--report", str(exercise)]) == 2  # never over an input
    assert mido.MidiFile(exercise).tracks


def test_live_marks_each_note_once_as_it_is_sung():
    """Marks start once four notes are sung (the start and tempo are voted for as in a file), and a sung
    note is marked when the next one ends (that one may still move it); the take's end checks the rest."""
    score = Score(SCORE)
    out = io.StringIO()
    marker = LiveMarker(score, 50.0, start_s=2.0, out=out)
    noise = [(0.5, 0.7, 71.0)]  # a sound before the singer starts does not shift the exercise
    for on, off, p in [*noise, *perform(SCORE, start=2.0, ratio=1.0, wrong={2: 66.0}, skip={4})]:
        marker.on_event(NoteOff(off, int(round(p)), on, p, off))
    lines = out.getvalue().splitlines()
    assert [line.split()[3] for line in lines] == ["right", "right", "wrong", "right", "missed", "right", "right"]
    assert marker.marks == [line.split()[3] for line in lines]


def test_live_marks_and_the_file_check_measure_the_same_pitches(tmp_path):
    """A take streamed as a microphone take gives it (its audio, then each note's end) is marked live with
    the verdicts the file check gives the same recording, pitches measured from the sung fundamental."""
    from svt_live.engine.checkpoint import load_model
    from svt_live.engine.streaming import Engine
    from svt_live.io.audio import load_audio
    from svt_live.sight.take import sung_notes

    sung = perform(SCORE, start=0.6, ratio=1.0, wrong={2: 66.0, 6: 64.7}, skip={4})
    sung[:, 1] -= 0.05
    take = synth.write_wav(tmp_path / "take.wav", synth.sung_tones(sung, 6.0))
    lm = load_model(None)
    marker = LiveMarker(Score(SCORE), 50.0, start_s=0.0, out=io.StringIO(), cfg=lm.features)
    engine = Engine(lm, synth.SR, 0.02, on_event=marker.on_event, on_audio=marker.on_audio)
    audio = load_audio(take, synth.SR)
    for k in range(0, len(audio), 320):
        engine.push(audio[k:k + 320])
    engine.finish()
    file_notes = sung_notes(take, lm)
    np.testing.assert_allclose(marker.take.notes, file_notes, atol=1e-4)
    assert np.abs(file_notes[:, 2] - sung[:, 2]).max() < 0.2  # the sung f0
    final = check(SCORE, file_notes)
    assert marker.marks == [c.status for c in final.notes][:len(marker.marks)] and len(marker.marks) >= 6
    assert marker.marks[2] == "wrong" and marker.marks[4] == "missed" and marker.marks[6] == "wrong"


def test_count_in_clicks_on_every_beat():
    assert click_times(90, 3, 2).tolist() == pytest.approx([0, 2 / 3, 4 / 3, 2, 8 / 3, 10 / 3])
    audio = click_track(120, 4, 1, sample_rate=8000)
    assert len(audio) == 2 * 8000 + 1
    loud = np.flatnonzero(np.abs(audio) > 0.05)
    starts = loud[np.r_[True, np.diff(loud) > 100]] / 8000
    assert starts.tolist() == pytest.approx([0, 0.5, 1.0, 1.5], abs=1e-3)


def test_live_take_against_a_score_with_a_count_in(pulse_server, tmp_path):
    """``--input mic --score --count-in``: the clicks play on the audio output, the sung notes are marked
    as they come, and the report holds the verdicts of the whole take."""
    from test_live import LiveRun, listening, play

    exercise = synth.write_midi(tmp_path / "ex.mid", SCORE.tolist())
    sung = perform(SCORE, start=1.0, ratio=1.0, wrong={2: 66.0}, skip={4})
    sung[:, 1] -= 0.05
    take = synth.write_wav(tmp_path / "take.wav", synth.sung_tones(sung, 6.5))
    from svt_live.commands.cli import build_parser
    model = ["--live-model", "singing_crnn"] if "--live-model" in build_parser().format_help() else []
    run = LiveRun(["--input-device", "pulse", *model, "--score", exercise, "--count-in", 1, "--seconds", 8.0,
                   "--report", tmp_path / "r.json"], pulse_server)
    try:
        run.wait_for(listening)
        player = play(pulse_server, take)
        assert run.finish() == 0, run.err
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    assert player.wait(10) == 0
    assert [line for line in run.err if line.startswith("count-in")] == ["count-in 1.1", "count-in 1.2",
                                                                         "count-in 1.3", "count-in 1.4"]
    marks = [line.split()[3] for line in run.out if re.match(r"\s+\d+\s+\S+\s+(ok|WRONG|MISSED)", line)]
    assert "wrong" in marks and "missed" in marks
    statuses = [n["status"] for n in json.loads((tmp_path / "r.json").read_text())["notes"]]
    assert statuses[2] == "wrong" and statuses[4] == "missed" and statuses.count("right") >= 5, statuses


def test_count_in_clicks_as_midi_on_a_synth_port(jack_server, monkeypatch, capsys):
    """``--count-in`` with ``--midi-out PORT``: General MIDI woodblocks on channel 10, on the beat."""
    import time

    import rtmidi

    from svt_live.sight.metronome import CountIn

    monkeypatch.setenv("SVT_MIDI_API", "jack")
    synth_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"click-synth-{os.getpid()}")
    synth_in.open_virtual_port("Clicks In")
    try:
        count = CountIn(240.0, 3, 1, midi_port="clicks in")  # 3 beats, 0.25 s apart
        count.start()
        count.join()
        time.sleep(0.2)
        got = []
        while (msg := synth_in.get_message()) is not None:
            got.append(msg)
    finally:
        synth_in.close_port()
        synth_in.delete()
    notes = [(m, dt) for m, dt in got if m[0] == 0x99]
    assert [m for m, _ in notes] == [[0x99, 76, 100], [0x99, 76, 0], [0x99, 77, 100], [0x99, 77, 0],
                                     [0x99, 77, 100], [0x99, 77, 0]]
    beats = np.cumsum([dt for _, dt in got])[[i for i, (m, _) in enumerate(got) if m[0] == 0x99 and m[2]]]
    assert np.diff(beats) == pytest.approx([0.25, 0.25], abs=0.03)
    assert capsys.readouterr().err.split() == ["count-in", "1.1", "count-in", "1.2", "count-in", "1.3"]


def test_a_note_at_the_tolerance_edge_is_borderline_neither_right_nor_wrong():
    sung = perform(SCORE, ratio=1.0, wrong={1: 62.52, 3: 65.46, 5: 65.58})  # +52, +46, +58 cents
    r = check(SCORE, sung)
    assert statuses(r)[1] == "borderline" and statuses(r)[3] == "borderline" and statuses(r)[5] == "wrong"
    s = r.summary()
    assert (s["borderline"], s["wrong"], s["right"]) == (2, 1, 5)
    assert [(b["index"], b["pitch_error_cents"]) for b in r.to_dict()["borderline"]] == [(1, 52.0), (3, 46.0)]
    text = format_result(r)
    assert "borderline 2 D4 +52 cents" in text and "2 borderline, 1 wrong" in text
    assert statuses(check(SCORE, sung, borderline_cents=0))[1:4:2] == ["wrong", "right"]


def test_nothing_sung_says_so_instead_of_none():
    text = format_result(check(SCORE, np.zeros((0, 3))))
    assert "None" not in text and "no notes sung" in text


def class_of_takes(tmp_path):
    """An exercise and a class folder: one take with a wrong, a missed and an extra note, one sung right
    (its file name starts with '=', a spreadsheet formula), one silent."""
    exercise = synth.write_midi(tmp_path / "ex.mid", SCORE.tolist())
    d = tmp_path / "class"
    d.mkdir()
    sung = perform(SCORE, wrong={2: 66.0}, skip={4}, extra=[(6.25, 6.65, 70.0)])
    sung[:, 1] -= 0.05
    synth.write_wav(d / "anna.wav", synth.sung_tones(sung, 7.5))
    good = perform(SCORE, start=0.5, ratio=1.0)
    good[:, 1] -= 0.05
    synth.write_wav(d / "=bob.wav", synth.sung_tones(good, 6.0))
    synth.write_wav(d / "silent.wav", np.zeros(3 * synth.SR, np.float32))
    return exercise, sorted(d.glob("*.wav"))


def test_a_class_at_once_writes_a_report_per_take_and_a_table(tmp_path, capsys):
    import csv

    exercise, takes = class_of_takes(tmp_path)
    reports = tmp_path / "reports"
    assert main([*map(str, takes), "--score", str(exercise), "--report", f"{reports}/"]) == 0
    captured = capsys.readouterr()
    assert "None" not in captured.out and "no notes sung" in captured.out and "Traceback" not in captured.err
    names = ["=bob.json", "=bob.html", "anna.json", "anna.html", "silent.json", "silent.html", "class.csv"]
    assert [line for line in captured.err.splitlines() if line.startswith("wrote")] == \
        [f"wrote {reports / n}" for n in names]
    anna = json.loads((reports / "anna.json").read_text())
    assert [n["status"] for n in anna["notes"]][2:5] == ["wrong", "right", "missed"]
    rows = list(csv.reader((reports / "class.csv").open()))
    assert rows[0] == ["take", "score_notes", "right", "borderline", "wrong", "missed", "extra",
                       "mean_cents_off", "onset_spread_ms"]
    assert rows[1][:7] == ["'=bob", "8", "8", "0", "0", "0", "0"]  # never read as a formula
    assert rows[2][:7] == ["anna", "8", "6", "0", "1", "1", "1"] and float(rows[2][7]) > 0
    assert rows[3] == ["silent", "8", "0", "0", "0", "8", "0", "", ""]


@pytest.mark.parametrize("how", ["ends with /", "exists"])
def test_one_take_with_a_report_folder_writes_into_it(tmp_path, how, capsys):
    exercise, takes = class_of_takes(tmp_path)
    reports = tmp_path / "reports"
    if how == "exists":
        reports.mkdir()
    arg = f"{reports}/" if how == "ends with /" else str(reports)
    assert main([str(takes[1]), "--score", str(exercise), "--report", arg]) == 0
    assert sorted(p.name for p in reports.iterdir()) == ["anna.html", "anna.json", "class.csv"]
    assert f"wrote {reports / 'anna.json'}" in capsys.readouterr().err


def test_an_unreadable_take_is_one_line_and_the_class_goes_on(tmp_path, capsys):
    exercise, takes = class_of_takes(tmp_path)
    bad = tmp_path / "class" / "broken.wav"
    bad.write_bytes(b"RIFF\0\0\0\0WAVEjunk")
    rc = main([str(bad), str(takes[1]), "--score", str(exercise), "--report", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err and "broken.wav" in err
    assert (tmp_path / "r" / "anna.json").exists() and (tmp_path / "r" / "class.csv").exists()


def test_the_html_report_is_one_page_that_a_browser_shows(tmp_path, capsys):
    """``--report take.html``: one self-contained page (nothing fetched); headless Chromium renders the
    exercise's notes in their verdicts' colours (skipped where Chromium is not installed)."""
    import shutil
    import subprocess
    from html.parser import HTMLParser

    exercise, takes = class_of_takes(tmp_path)
    page = tmp_path / "anna.html"
    assert main([str(takes[1]), "--score", str(exercise), "--report", str(page)]) == 0
    assert f"wrote {page}" in capsys.readouterr().err
    text = page.read_text()
    refs = []

    class Refs(HTMLParser):
        def handle_starttag(self, tag, attrs):
            refs.extend(v for k, v in attrs if k in ("src", "href") and v)
    Refs().feed(text)
    assert refs == [] and "<link" not in text and "<script" not in text and "@import" not in text
    assert text.count("<ellipse") >= len(SCORE) and re.search(r">\+2\d\d</text>", text)  # the wrong note's cents
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("headless Chromium is not installed")
    shot = tmp_path / "shot.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1040,700", f"--screenshot={shot}",
                    page.as_uri()], check=True, capture_output=True, timeout=120)
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3).astype(int)

    def near(hex_colour):
        rgb = np.array([int(hex_colour[k:k + 2], 16) for k in (1, 3, 5)])
        return int((np.abs(pixels - rgb).sum(1) < 30).sum())
    from svt_live.sight.report import COLOURS
    assert near(COLOURS["right"]) > 200 and near(COLOURS["wrong"]) > 100 and near(COLOURS["extra"]) > 50


def test_a_legato_change_inside_one_transcribed_note_is_measured_as_two_notes():
    """A note whose sung fundamental steps to another pitch and stays (legato, no new attack) is two notes,
    each measured from its own part; a steady note with vibrato stays one."""
    from svt_live.engine.f0 import NotePitcher
    from svt_live.theory.tuning import midi_to_hz

    sr = synth.SR
    t = np.arange(int(1.2 * sr)) / sr
    midi = np.where(t < 0.6, 58.0, 60.0) + 0.3 * np.sin(2 * np.pi * 5.5 * t)  # two semitones up, +-30 cent vibrato
    phase = 2 * np.pi * np.cumsum(midi_to_hz(midi)) / sr
    audio = sum(0.3 / k * np.sin(k * phase) for k in range(1, 6)).astype(np.float32)
    pitcher = NotePitcher()
    pitcher.push(audio)
    parts = pitcher.measure_parts(0.1, 1.1, 58.9)  # as the network might read it: one note between the two
    assert len(parts) == 2 and parts[0][1] == pytest.approx(0.6, abs=0.06)
    assert [round(p) for _, _, p in parts] == [58, 60]
    steady = NotePitcher()
    steady.push(audio[:int(0.6 * sr)])
    assert len(steady.measure_parts(0.05, 0.55, 58.0)) == 1
