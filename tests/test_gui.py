"""The svt-gui window, offscreen (QT_QPA_PLATFORM=offscreen), driven with pytest-qt.

Checks that the window shows exactly the notes ``svt-live FILE`` gives, scores
them like :func:`svt_live.evaluate.evaluate_notes`, draws notes while a take runs,
saves takes that read back, remembers choices, and survives bad input.
"""
from __future__ import annotations

import json
import os
import time
import wave
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import servers  # noqa: E402
from compare import JSON_TOL, assert_same_notes  # noqa: E402
from processes import start, wait_until_idle  # noqa: E402
from PySide6.QtCore import QPoint, QSettings, Qt, QTimer  # noqa: E402

from gui.pianoroll import COLORS, KEY_WIDTH  # noqa: E402
from gui.take import Take  # noqa: E402
from gui.window import MainWindow  # noqa: E402
from gui.worker import ModelCache  # noqa: E402
from svt_live.commands import cli  # noqa: E402
from svt_live.evaluate import evaluate_notes  # noqa: E402
from svt_live.events import NoteOff, NoteOn  # noqa: E402
from svt_live.io.annotations import load_notes  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "svt_live" / "data"
CLIP = DATA / "vocadito_10.wav"
CLIP_REF = DATA / "vocadito_10_notesA1.csv"
TAKE_TIMEOUT_MS = 60_000


class FakeDialogs:
    """Answers the window's questions without modal dialogs; records what was asked."""

    def __init__(self, **answers):
        self.answers = {"keep_take": "discard", **answers}  # closing a window with an unsaved take
        self.asked: list[tuple] = []

    def __getattr__(self, name):
        def ask(*args):
            self.asked.append((name, *args))
            return self.answers.get(name)
        return ask


@pytest.fixture(scope="module")
def random_model(tmp_path_factory) -> str:
    """A randomly initialised singing_crnn with low thresholds: many notes on any audio."""
    import torch

    from svt_live.engine.checkpoint import save_checkpoint
    from svt_live.engine.decode import DecodeParams
    from svt_live.engine.features import FeatureConfig
    from svt_live.models import build_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "random.pt"
    save_checkpoint(path, build_model("singing_crnn"), {}, FeatureConfig(),
                    DecodeParams(onset_threshold=0.3, voiced_threshold=0.0))
    return str(path)


@pytest.fixture(scope="module")
def models() -> ModelCache:
    return ModelCache("cpu")


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    """The first 3 s of the bundled clip as a 16 kHz int16 WAV."""
    from svt_live.io.audio import load_audio

    x = load_audio(CLIP)[: 3 * 16000]
    path = tmp_path_factory.mktemp("audio") / "short.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.fixture
def settings_path(tmp_path) -> Path:
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    return tmp_path / "svt-gui.ini"


@pytest.fixture
def make_window(qtbot, settings_path, models):
    """``make_window(dialogs=None, **kw)`` -> a shown MainWindow on a temporary settings file."""
    made = []

    def make(dialogs=None, **kw):
        settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
        win = MainWindow(settings=settings, dialogs=dialogs or FakeDialogs(), models=models,
                         level_monitor=kw.pop("level_monitor", False), **kw)
        qtbot.addWidget(win)
        win.resize(1100, 650)
        with qtbot.waitActive(win):  # shortcuts (Space, Ctrl+S, +/-) need the active window
            win.show()
            win.activateWindow()
        win.midi_combo.setCurrentIndex(win.midi_combo.findData("none"))
        made.append(win)
        return win

    yield make
    for win in made:
        if win.recording:
            win.stop()
            win.wait_idle(5000)


def run_file(qtbot, win, path, model=None) -> None:
    """Open ``path`` in file mode and wait until the take is finished."""
    if model:
        win.set_model(model)
    with qtbot.waitSignal(win.takeFinished, timeout=TAKE_TIMEOUT_MS):
        assert win.open_audio_file(path), win.messages
    assert not win.recording


def cli_notes(tmp_path, audio, model) -> np.ndarray:
    out = tmp_path / "cli.json"
    args = [str(audio), "--json", str(out), "-q", "--device", "cpu"] + (["--model", model] if model else [])
    assert cli.main(args) == 0
    (notes,) = json.loads(out.read_text()).values()
    return np.asarray(notes, dtype=np.float64).reshape(-1, 3)


def rounded(notes: np.ndarray) -> np.ndarray:
    """As the JSON writer rounds: times to 0.1 ms, pitch to 0.01."""
    return np.column_stack([np.round(notes[:, :2], 4), np.round(notes[:, 2], 2)]).reshape(-1, 3)


# ---- the take model, without Qt ------------------------------------------------------------

def test_take_collects_events_and_contour():
    take = Take()
    take.apply(NoteOn(0.10, 60, 90, emitted_at=0.16))
    assert take.sounding is not None and take.sounding.pitch == 60
    assert take.notes_array().shape == (0, 3)
    take.apply(NoteOff(0.50, 60, 0.10, 60.2, emitted_at=0.56))
    take.apply(NoteOn(0.60, 62, 70, emitted_at=0.70))
    take.add_contour(0, np.array([60.1, np.nan, 60.0], np.float32))
    take.add_contour(1000, np.array([61.0], np.float32))  # grows
    take.advance(0.9)
    take.finish()
    assert np.allclose(take.notes_array(), [[0.10, 0.50, 60.2]])
    assert take.velocities == [90]
    assert np.allclose(take.latencies, [0.06, 0.10])
    assert take.n_frames == 1001 and np.isnan(take.contour[1]) and take.contour[1000] == 61.0
    assert take.sounding is None and take.notes[1].offset == pytest.approx(0.9)
    assert take.duration == pytest.approx(1001 * 0.02)
    assert take.evaluate() is None
    take.set_reference(np.array([[0.1, 0.5, 60.0]]), "ref")
    assert take.evaluate()["COnPOff"][2] == 1.0


def test_take_save_round_trip(tmp_path):
    take = Take(name="song")
    for on, off, m in [(0.1, 0.4, 60.3), (0.5, 0.9, 64.0)]:
        take.apply(NoteOn(on, round(m), 80, on + 0.05))
        take.apply(NoteOff(off, round(m), on, m, off + 0.05))
    for ext in (".mid", ".json", ".csv"):
        take.save(tmp_path / f"t{ext}")
        back = load_notes(tmp_path / f"t{ext}", song_id="song")
        want = take.notes_array()
        if ext == ".mid":
            want = np.column_stack([want[:, :2], np.round(want[:, 2])])
        assert np.allclose(back, want, atol=1e-3), ext
    with pytest.raises(ValueError):
        take.save(tmp_path / "t.xyz")


def test_take_knows_when_it_is_unsaved(tmp_path):
    take = Take(name="song")
    assert not take.unsaved
    take.apply(NoteOn(0.1, 60, 80, 0.15))
    take.apply(NoteOff(0.4, 60, 0.1, 60.2, 0.45))
    assert take.unsaved
    take.save(tmp_path / "t.csv")
    assert not take.unsaved
    take.apply(NoteOn(0.5, 62, 80, 0.55))
    assert not take.unsaved  # a sounding note is not a closed note yet
    take.apply(NoteOff(0.8, 62, 0.5, 62.0, 0.85))
    assert take.unsaved


@pytest.mark.parametrize("answer, saved_as, closes", [
    ("save", "take.csv", True), ("discard", None, True), (None, None, False), ("save", None, False)])
def test_closing_with_an_unsaved_take_asks_first(qtbot, make_window, random_model, short_clip, tmp_path,
                                                 answer, saved_as, closes):
    """Save: the notes are written, then it closes; discard: it closes; cancel, or cancelling the
    file dialog: the window stays open with its take."""
    dialogs = FakeDialogs(keep_take=answer, save_take=str(tmp_path / saved_as) if saved_as else None)
    win = make_window(dialogs=dialogs)
    run_file(qtbot, win, short_clip, random_model)
    n = len(win.take.notes_array())
    assert n and win.take.unsaved
    win.close()
    assert [a for a in dialogs.asked if a[0] == "keep_take"] == [("keep_take", n)]
    assert win.isVisible() != closes
    if saved_as:
        assert len(load_notes(tmp_path / saved_as)) == n
    win.dialogs = FakeDialogs()  # let the fixture close it


def test_a_saved_take_closes_without_asking(qtbot, make_window, random_model, short_clip, tmp_path):
    dialogs = FakeDialogs()
    win = make_window(dialogs=dialogs)
    run_file(qtbot, win, short_clip, random_model)
    assert win.save_take(tmp_path / "t.mid")
    win.close()
    assert not win.isVisible() and not [a for a in dialogs.asked if a[0] == "keep_take"]


def test_ctrl_c_in_the_terminal_keeps_the_take_and_quits(random_model, tmp_path):
    """svt-gui as a user starts it (a real process, a real SIGINT) during a real-time take of the clip."""
    import signal
    import subprocess
    import sys

    (tmp_path / "s.ini").write_text("[input]\nrealtime=true\n[midi]\nout=none\n")
    proc = start([sys.executable, "-m", "gui.app", str(CLIP), "--model", random_model,
                             "--settings", str(tmp_path / "s.ini")], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, QT_QPA_PLATFORM="offscreen",
                                                                        PYTHONPATH=str(DATA.parents[1])))
    wait_until_idle(proc, min_s=10)  # start-up (2 s idle, 15 s and more under load) and the 9 s real-time take
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=30)[1]
    assert "Traceback" not in err, err
    assert proc.returncode == 130, err
    saved = list(tmp_path.glob("vocadito_10-*.mid"))
    last = err.rstrip().splitlines()[-1]
    assert len(saved) == 1 and last.startswith("svt-gui: interrupted; take saved to ") and last.endswith(
        str(saved[0].resolve())), err
    notes = load_notes(saved[0])
    assert len(notes) >= 3 and np.all(notes[:, 1] > notes[:, 0])


def test_thousands_of_slot_calls_do_not_crash(qtbot):
    """PySide6 6.12.0 on CPython 3.11 drops a reference to None/True per slot call or emit and
    aborts the interpreter after a few thousand (pyproject.toml excludes that release)."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Pinger(QObject):
        ping = Signal(object)

    calls = []
    p = Pinger()
    p.ping.connect(lambda x: calls.append(x))
    before = sys.getrefcount(None), sys.getrefcount(True)
    for i in range(20_000):
        p.ping.emit(i)
    assert len(calls) == 20_000
    assert (sys.getrefcount(None), sys.getrefcount(True)) >= (before[0] - 100, before[1] - 100)


# ---- file mode ---------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["bundled", "random"])
def test_file_mode_notes_equal_cli_and_score(qtbot, make_window, tmp_path, random_model, which):
    model = random_model if which == "random" else None
    win = make_window()
    ticks: list[float] = []
    timer = QTimer(interval=20, timeout=lambda: ticks.append(time.monotonic()))
    timer.start()
    run_file(qtbot, win, CLIP, model)
    timer.stop()
    notes = win.take.notes_array()
    expected = cli_notes(tmp_path, CLIP, model)
    assert_same_notes(rounded(notes), expected, **JSON_TOL)
    if which == "random":
        assert len(notes) > 20  # the comparison means something
        assert len(win.roll.take.notes) == len(notes)  # the roll draws this take
    drawn = sorted((n.onset, n.shown_pitch) for n in win.roll.take.notes)
    assert np.allclose([p for _, p in drawn], expected[:, 2], atol=0.01)  # drawn at the notes' final pitch
    assert win.take.n_frames == pytest.approx(9.1 / 0.02, abs=3)  # contour for every frame
    assert win.progress.value() == 1000
    # the GUI thread kept ticking while the engine ran
    assert len(ticks) > 3 and max(np.diff(ticks)) < 1.5

    assert win.load_reference(CLIP_REF)
    ref = load_notes(CLIP_REF)
    assert np.allclose(win.take.reference, ref)
    want = evaluate_notes(ref, notes)
    assert win.last_evaluation == want
    for m, (_, _, f1) in want.items():
        assert f"{m} F1 {100 * f1:.1f} %" in win.score_label.text()


def test_the_take_controller_runs_a_take_without_a_window(qtbot, models, tmp_path):
    """The controller alone, on the real event loop: a file take with the bundled model gives
    ``svt-live FILE``'s notes, scores against a reference and saves, and no widget is made."""
    from PySide6.QtWidgets import QApplication
    from shiboken6 import getCppPointer

    from gui.controller import TakeController
    from gui.worker import SourceSpec
    from svt_live.engine.checkpoint import DEFAULT_MODEL

    def widgets() -> set:  # earlier tests' windows may go while this one runs
        return {getCppPointer(w)[0] for w in QApplication.allWidgets()}

    before = widgets()
    c = TakeController(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), models, level_monitor=False)
    signals = []
    for name in ("busy", "takeStarted", "sourceOpened", "ended", "scored", "takeFinished"):
        getattr(c, name).connect(lambda *_, name=name: signals.append(name))
    assert not c.start(SourceSpec("file", path=str(tmp_path / "missing.wav")), DEFAULT_MODEL)
    assert c.messages[-1][0] == "error" and "no such file" in c.messages[-1][1] and not c.recording
    with qtbot.waitSignal(c.takeFinished, timeout=TAKE_TIMEOUT_MS):
        assert c.start(SourceSpec("file", path=str(CLIP)), DEFAULT_MODEL), c.messages
        assert c.recording and not c.start(SourceSpec("file", path=str(CLIP)))  # one take at a time
    assert not c.recording and c.take.finished and c.take.name == CLIP.stem
    assert signals == ["busy", "takeStarted", "sourceOpened", "busy", "ended", "scored", "takeFinished"]
    notes = c.take.notes_array()
    assert len(notes) > 5
    assert_same_notes(rounded(notes), cli_notes(tmp_path, CLIP, None), **JSON_TOL)
    assert c.load_reference(CLIP_REF, audio_path=str(CLIP))
    assert c.last_evaluation == evaluate_notes(load_notes(CLIP_REF), notes)
    assert c.save_take(tmp_path / "take.csv") and not c.take.unsaved
    assert np.allclose(load_notes(tmp_path / "take.csv"), rounded(notes), atol=1e-6)
    assert not widgets() - before


def test_the_main_window_is_a_small_composition():
    """MainWindow lays out panels and wires them to the take controller: its class stays under 300 lines."""
    import ast

    import gui.window

    source = Path(gui.window.__file__).read_text()
    (cls,) = [n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == "MainWindow"]
    assert cls.end_lineno - cls.lineno + 1 < 300


def test_roll_draws_notes_keyboard_and_reference(qtbot, make_window, random_model):
    win = make_window()
    run_file(qtbot, win, CLIP, random_model)
    win.load_reference(CLIP_REF)
    roll = win.roll
    img = roll.grab().toImage()
    note = max(win.take.notes, key=lambda n: n.offset - n.onset)
    roll.fit()
    img = roll.grab().toImage()
    x = int(roll.x_of((note.onset + note.offset) / 2))
    y = int(roll.y_of(note.pitch))
    assert KEY_WIDTH < x < roll.width()
    c = img.pixelColor(x, y)
    want = COLORS["note"]
    assert abs(c.blue() - want.blue()) < 60 and c.blue() > c.red() + 60, c.name()
    # keyboard: the white-key column is light at a white key row (C4 = 60 is in range)
    key = img.pixelColor(KEY_WIDTH - 5, int(roll.y_of(roll.pitch_lo if roll.pitch_lo % 12 in (0, 2, 4, 5, 7, 9, 11)
                                                         else roll.pitch_lo + 1)))
    assert key.lightness() > 180


def test_zoom_scroll_and_shortcuts(qtbot, make_window, random_model):
    win = make_window()
    run_file(qtbot, win, CLIP, random_model)
    before = win.roll.px_per_s
    qtbot.keyClick(win, Qt.Key.Key_Plus)
    assert win.roll.px_per_s == pytest.approx(before * 1.25)
    qtbot.keyClick(win, Qt.Key.Key_Minus)
    qtbot.keyClick(win, Qt.Key.Key_Minus)
    assert win.roll.px_per_s == pytest.approx(before * 0.8)
    win.roll.px_per_s = 400.0
    win.roll.set_t0(0.0)
    win.scrollbar.setValue(win.scrollbar.maximum())
    assert win.roll.t0 > 3.0


# ---- live-ish and microphone sessions -----------------------------------------------------------

def test_realtime_file_session_stop_and_save_midi(qtbot, make_window, tmp_path, random_model, short_clip):
    import mido

    win = make_window()
    win.set_model(random_model)
    win.realtime_check.setChecked(True)
    seen: list[tuple[float, int]] = []
    assert win.open_audio_file(short_clip, start=False)
    with qtbot.waitSignal(win.takeStarted, timeout=5000):
        qtbot.keyClick(win, Qt.Key.Key_Space)  # Space = record
    qtbot.waitUntil(lambda: seen.append((win.take.stream_time, len(win.take.notes))) or
                    (win.take.stream_time > 1.5 and len(win.take.notes) > 2), timeout=20_000)
    assert win.recording
    with qtbot.waitSignal(win.takeFinished, timeout=10_000):
        qtbot.keyClick(win, Qt.Key.Key_Space)  # Space = stop
    live = seen
    assert any(0 < n for t, n in live if t < 2.6), "no note appeared while recording"
    assert len({n for _, n in live}) > 2, "the note count did not grow during the take"
    assert win.take.stream_time < 2.9  # stopped before the end of the 3 s clip (1.4 s of margin for a loaded machine)
    assert "engine latency" in win.latency_label.text() and "ms" in win.latency_label.text()

    notes = win.take.notes_array()
    assert len(notes) > 2
    out = tmp_path / "take.mid"
    assert win.save_take(out)
    t, back, sounding = 0.0, [], {}
    for msg in mido.MidiFile(out):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            sounding[msg.note] = t
        elif msg.type in ("note_off", "note_on"):
            back.append((sounding.pop(msg.note), t, msg.note))
    back = np.array(sorted(back))
    assert np.allclose(back[:, :2], notes[:, :2], atol=1e-3)
    assert np.array_equal(back[:, 2], np.round(notes[:, 2]))
    # notes closed well before the stop equal those of the whole file (same engine, any pace)
    full = cli_notes(tmp_path, short_clip, random_model)
    early = notes[notes[:, 1] < win.take.stream_time - 0.3]
    assert len(early) and np.allclose(rounded(early), full[:len(early)], atol=1e-6)


def port_take(qtbot, make_window, monkeypatch, model, clip, setup=lambda win: None) -> tuple:
    """A real-time take of ``clip`` with MIDI out 'virtual' on JACK (``setup(win)`` first): the window and
    the messages a JACK client received from the port 'svt-live'."""
    import gui.panels
    rtmidi = pytest.importorskip("rtmidi")
    monkeypatch.setenv("SVT_MIDI_API", "jack")
    # no PortAudio here: started while this jackd runs, it would join it and abort at exit after jackd stops
    monkeypatch.setattr(gui.panels, "list_mics", lambda rescan=False: ([], "not listed in this test"))
    win = make_window()
    win.set_model(model)
    win.realtime_check.setChecked(True)
    win.midi_combo.setCurrentIndex(win.midi_combo.findData("virtual"))
    setup(win)
    listener = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"gui-listener-{os.getpid()}")
    assert win.open_audio_file(clip)
    port = []
    qtbot.waitUntil(lambda: bool(port.extend(i for i, p in enumerate(listener.get_ports()) if "svt-live" in p)
                                 or port), timeout=10_000)
    listener.open_port(port[0])
    qtbot.waitUntil(lambda: not win.recording, timeout=20_000)
    got, end = [], time.monotonic() + 1.0
    while time.monotonic() < end:
        msg = listener.get_message()
        if msg is None:
            time.sleep(0.01)
        else:
            got.append(msg[0])
    listener.close_port()
    listener.delete()
    assert not [t for k, t in win.messages if k in ("error", "warning")], win.messages
    return win, got


def offline_live_take(model, clip) -> tuple:
    """The same stream through live mode's engine, offline: the engine and its port events."""
    from svt_live.engine.checkpoint import load_model
    from svt_live.engine.lowlatency import LowLatencyEngine, load_live_model
    from svt_live.io.audio import load_audio

    eng = LowLatencyEngine(load_model(model), load_live_model(), 16000)
    audio = load_audio(clip)
    return eng, [e for i in range(0, len(audio), 320) for e in eng.push(audio[i:i + 320])] + eng.finish()


def test_realtime_session_sends_midi_through_jack(qtbot, make_window, monkeypatch, jack_server, random_model,
                                                  short_clip):
    """MIDI out 'virtual': a JACK port 'svt-live' appears while recording and carries live mode's early
    events (the bundled live network's), while the take holds the accurate notes."""
    win, got = port_take(qtbot, make_window, monkeypatch, random_model, short_clip)
    eng, events = offline_live_take(random_model, short_clip)
    want = [[0x90, e.pitch, e.velocity] if isinstance(e, NoteOn) else [0x80, e.pitch, 0] for e in events]
    assert len(got) > 4 and got[-1] == [0xB0, 123, 0]
    it = iter(want)  # in order (a JACK cycle that overruns on a loaded machine can drop one message)
    assert all(m in it for m in got[:-1]) and len(got) - 1 >= 0.8 * len(want[want.index(got[0]):])
    assert_same_notes(win.take.notes_array(), eng.notes)  # the take: the accurate notes


def test_the_port_plays_the_chosen_scale_and_the_take_keeps_what_was_sung(qtbot, make_window, monkeypatch,
                                                                          jack_server, random_model, short_clip):
    """Scale D minor in the MIDI area: every NoteOn on the port is a note of D minor, the NoteOffs close
    them, and the take holds the accurate notes as sung."""
    from svt_live.theory.scale import Scale

    win, got = port_take(qtbot, make_window, monkeypatch, random_model, short_clip,
                         lambda win: win.port_aids.set_scale("D:minor"))
    eng, events = offline_live_take(random_model, short_clip)
    ons = [m[1] for m in got if m[0] == 0x90]
    assert ons and all(p % 12 in Scale(2, "minor").pitch_classes for p in ons)
    assert any(e.pitch % 12 not in Scale(2, "minor").pitch_classes for e in events if isinstance(e, NoteOn))
    sounding = set()  # every NoteOn closed by its own number's NoteOff
    for m in got[:-1]:
        (sounding.add if m[0] == 0x90 else sounding.discard)(m[1])
    assert got[-1] == [0xB0, 123, 0] and not sounding
    assert_same_notes(win.take.notes_array(), eng.notes)


def test_the_playing_aids_are_remembered_and_a_bad_stored_one_is_ignored(qtbot, make_window, tmp_path):
    win = make_window()
    assert win.port_aids.scale_text == "off" and not win.port_aids.aids().active
    assert not win.port_aids.tonic_combo.isEnabled()
    win.port_aids.set_scale("A:dorian")
    win.port_aids.hold_spin.setValue(120)
    aids = win.port_aids.aids()
    assert aids.scale.name == "A dorian" and aids.hold == pytest.approx(0.12)
    win.close()
    assert win.settings.value("midi/scale") == "A:dorian"
    again = make_window()
    assert again.port_aids.scale_text == "A:dorian" and again.port_aids.hold_spin.value() == 120
    again.close()
    again.settings.setValue("midi/scale", "H:bebop")
    again.settings.setValue("midi/hold_ms", "-3")
    again.settings.sync()
    third = make_window()
    assert third.port_aids.scale_text == "off" and third.port_aids.hold_spin.value() == 0


MIC_SESSION = r"""
import json, subprocess, sys, time
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from gui.dialogs import Dialogs
from gui.window import MainWindow
settings, model, clip = sys.argv[1:4]

class Discard(Dialogs):
    def keep_take(self, n_notes):
        return "discard"

win = MainWindow(settings=QSettings(settings, QSettings.Format.IniFormat), dialogs=Discard())
win.resize(900, 500)
win.show()
win.midi_combo.setCurrentIndex(win.midi_combo.findData("none"))
win.refresh_devices(rescan=True)  # the ↻ button: PortAudio lists devices again
found = win.select_mic("pulse")
win.set_model(model)
levels, counts = [], []

def pump(until, timeout):
    end = time.monotonic() + timeout
    while not until() and time.monotonic() < end:
        app.processEvents()
        levels.append(win.level_bar.value())
        counts.append(len(win.take.notes))
        time.sleep(0.01)

pump(lambda: win.monitor is not None and win.monitor.level_db is not None, 10)  # idle level meter runs
idle_level = win.monitor.level_db if win.monitor else None
started = found and win.start()
pump(lambda: win.take.stream_time > 0.05, 15)  # the first audio arrived
t_play = win.take.stream_time
player = subprocess.Popen(["paplay", "-d", "vsink", clip])
pump(lambda: player.poll() is not None, 20)
pump(lambda: win.take.stream_time > t_play + 3.3, 10)  # the audio server delivers in chunks
t_played = win.take.stream_time - t_play
win.stop()
pump(lambda: not win.recording, 15)
monitor_after = win.monitor is not None  # the level meter runs again between takes
win.close()
print(json.dumps({"found": found, "started": bool(started), "idle_level": idle_level, "t_played": t_played,
                  "stream_time": win.take.stream_time, "notes": win.take.notes_array().tolist(),
                  "max_level": max(levels), "counts": counts, "messages": win.messages,
                  "dropped": win.dropped_label.text(), "recording": win.recording,
                  "monitor_after": monitor_after, "monitor_closed": win.monitor is None}))
"""


def test_mic_session_through_pulseaudio(pulse_server, random_model, short_clip, tmp_path):
    """A real microphone take: paplay plays the clip into a PulseAudio null sink, the window records
    its monitor. A subprocess, because PortAudio reads the device list once per process."""
    import subprocess
    import sys

    env = dict(pulse_server, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", MIC_SESSION, str(tmp_path / "s.ini"), random_model,
                          str(short_clip)], env=env, capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["found"] and r["started"] and not r["recording"], r["messages"]
    assert r["idle_level"] is not None  # the level meter works before recording
    assert not [t for k, t in r["messages"] if k == "error"], r["messages"]
    assert r["t_played"] > 3.0, r
    assert r["max_level"] > 20  # the meter moved above -40 dBFS while the clip played
    assert len(r["notes"]) > 2 and len(set(r["counts"])) > 2  # notes appeared during the take
    assert r["dropped"] == "dropped 0"
    assert r["monitor_after"] and r["monitor_closed"]


class DyingMic:
    """Stands in for svt_live.io.mic.MicSource: plays the clip in 10 ms blocks, then the device dies."""

    def __init__(self, device=None, sample_rate=None, block_seconds=0.01, channels=1):
        from svt_live.io.audio import load_audio
        self.sample_rate, self.overflows, self.level_db = 16000, 3, -20.0
        x = load_audio(CLIP)[: int(2.5 * 16000)]
        self._blocks = [x[i:i + 160, None] for i in range(0, len(x), 160)]

    def start(self):
        return self

    def warnings(self):
        return []

    def stop(self):
        pass

    def read(self, timeout=0.5):
        from svt_live.io.mic import MicError
        if not self._blocks:
            raise MicError("audio input 'fake' stopped (device or audio server went away)")
        time.sleep(0.0005)
        return self._blocks.pop(0)


def _add_mic_item(win, name):
    win.input_combo.addItem(f"Mic: {name}", f"mic:{name}")
    win.input_combo.setCurrentIndex(win.input_combo.count() - 1)


def dying_mic_take(qtbot, make_window, monkeypatch, model):
    """A window that recorded a microphone take of the clip's first 2.5 s from a :class:`DyingMic`."""
    mic = pytest.importorskip("svt_live.io.mic")
    monkeypatch.setattr(mic, "MicSource", DyingMic)
    win = make_window()
    win.set_model(model)
    _add_mic_item(win, "fake")
    with qtbot.waitSignal(win.takeFinished, timeout=TAKE_TIMEOUT_MS):
        assert win.start()
    return win


def test_mic_that_dies_keeps_the_take(qtbot, make_window, monkeypatch, random_model):
    win = dying_mic_take(qtbot, make_window, monkeypatch, random_model)
    assert win.messages[-1][0] == "error" and "stopped" in win.messages[-1][1]
    assert len(win.take.notes_array()) > 5 and win.take.stream_time == pytest.approx(2.5, abs=0.05)
    assert win.dropped_label.text() == "dropped 3"
    assert "engine latency" in win.latency_label.text() and "ms" in win.latency_label.text()


def test_no_such_input_device(qtbot, make_window, random_model):
    win = make_window()
    _add_mic_item(win, "no such microphone")
    with qtbot.waitSignal(win.takeFinished, timeout=TAKE_TIMEOUT_MS):
        assert win.start()
    assert win.messages[-1][0] == "error"
    assert "no input device" in win.messages[-1][1] or "no audio input devices" in win.messages[-1][1]
    win.select_file_input()
    run_file(qtbot, win, CLIP, random_model)  # still usable
    assert len(win.take.notes_array()) > 20


def test_midi_output_problem_is_a_warning_not_the_end(qtbot, make_window, random_model, short_clip):
    win = make_window()
    win.set_model(random_model)
    win.realtime_check.setChecked(True)
    win.midi_combo.setCurrentIndex(win.midi_combo.findData("virtual"))
    assert win.open_audio_file(short_clip)
    qtbot.waitUntil(lambda: win.take.stream_time > 0.5, timeout=10_000)
    with qtbot.waitSignal(win.takeFinished, timeout=10_000):
        win.stop()
    assert not [t for k, t in win.messages if k == "error"], win.messages
    assert all("MIDI" in t for k, t in win.messages if k == "warning")  # no MIDI system here: warned
    assert win.take.stream_time > 0.5


# ---- errors leave the window usable ---------------------------------------------------------------

def test_missing_and_unreadable_files_then_a_good_one(qtbot, make_window, tmp_path, random_model):
    missing = tmp_path / "nope.wav"
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio" * 100)
    win = make_window(dialogs=FakeDialogs(open_audio=str(missing)))
    run_file(qtbot, win, CLIP, random_model)
    kept = win.take.notes_array()
    qtbot.keyClick(win, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)  # Ctrl+O -> the missing file
    assert win.dialogs.asked and win.dialogs.asked[-1][0] == "open_audio"
    assert win.messages[-1][0] == "error" and "no such file" in win.messages[-1][1]
    assert win.message_frame.isVisible() and "nope.wav" in win.message_label.text()
    assert not win.open_audio_file(junk)
    assert win.messages[-1][0] == "error" and "junk.wav" in win.messages[-1][1]
    assert not win.recording and np.array_equal(win.take.notes_array(), kept)  # the take is kept
    n_messages = len(win.messages)
    run_file(qtbot, win, CLIP)  # still usable
    assert not [k for k, _ in win.messages[n_messages:] if k == "error"]
    assert not win.message_frame.isVisible()  # a new take clears the old error


def test_unusable_checkpoint_keeps_the_take(qtbot, make_window, tmp_path, random_model):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    win = make_window()
    run_file(qtbot, win, CLIP, random_model)
    kept = win.take
    win.set_model(str(bad))
    with qtbot.waitSignal(win.takeFinished, timeout=TAKE_TIMEOUT_MS):
        assert win.start()
    assert win.messages[-1][0] == "error" and "broken.pt" in win.messages[-1][1]
    assert win.take is kept and win.roll.take is kept and len(kept.notes_array()) > 20
    win.set_model(random_model)
    run_file(qtbot, win, CLIP)


def test_bad_annotation_keeps_take_and_reference(qtbot, make_window, tmp_path, random_model):
    bad = tmp_path / "bad.csv"
    bad.write_text("0.1,220.0,0.5\nnot,numbers,here\n")
    broken_json = tmp_path / "bad.json"
    broken_json.write_text('{"1": [[0.1, 0.5, 60]')
    win = make_window(dialogs=FakeDialogs(open_annotation=str(bad)))
    run_file(qtbot, win, CLIP, random_model)
    assert win.load_reference(CLIP_REF)
    before = win.last_evaluation
    assert not win.ask_load_reference()
    assert win.messages[-1][0] == "error" and "bad.csv" in win.messages[-1][1]
    assert not win.load_reference(broken_json)
    assert "malformed JSON" in win.messages[-1][1]
    assert not win.load_reference(tmp_path / "absent.txt")
    assert win.last_evaluation == before and np.allclose(win.take.reference, load_notes(CLIP_REF))
    run_file(qtbot, win, CLIP)  # the app goes on
    assert win.last_evaluation is not None  # the reference belongs to this audio: still scored


def test_mir_st500_json_song_choice(qtbot, make_window, tmp_path, random_model):
    ref = load_notes(CLIP_REF)
    songs = {"7": ref.tolist(), "12": (ref[:5] + [0, 0, 2]).tolist()}
    ann = tmp_path / "annotations.json"
    ann.write_text(json.dumps(songs))
    dialogs = FakeDialogs(song_id="12")
    win = make_window(dialogs=dialogs)
    run_file(qtbot, win, CLIP, random_model)
    assert win.load_reference(ann)  # two songs, neither named like the audio: the user is asked
    assert dialogs.asked[-1][0] == "song_id" and dialogs.asked[-1][1] == ["7", "12"]
    assert np.allclose(win.take.reference, songs["12"])
    folder = tmp_path / "7"  # the course layout: <song id>/<audio>
    folder.mkdir()
    (folder / "Vocal.wav").write_bytes(CLIP.read_bytes())
    run_file(qtbot, win, folder / "Vocal.wav")
    n_asked = len(dialogs.asked)
    assert win.load_reference(ann)
    assert len(dialogs.asked) == n_asked  # key from the folder name, no question
    assert np.allclose(win.take.reference, ref)
    assert win.load_reference(ann, song_id="12") and len(win.take.reference) == 5


# ---- saving, exporting, settings -------------------------------------------------------------------

def test_save_take_formats_and_png(qtbot, make_window, tmp_path, random_model):
    win = make_window(dialogs=FakeDialogs(save_take=str(tmp_path / "k.csv"), save_png=str(tmp_path / "roll.png")))
    run_file(qtbot, win, CLIP, random_model)
    notes = win.take.notes_array()
    qtbot.keyClick(win, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # Ctrl+S
    assert np.allclose(load_notes(tmp_path / "k.csv"), rounded(notes), atol=1e-6)
    assert win.save_take(tmp_path / "k.json")
    assert np.allclose(load_notes(tmp_path / "k.json", song_id="vocadito_10"), rounded(notes), atol=1e-6)
    assert win.save_take(tmp_path / "k.txt")  # every writable format of the note-format table
    assert np.allclose(load_notes(tmp_path / "k.txt"), rounded(notes), atol=1e-6)
    assert not win.save_take(tmp_path / "k.pdf")
    assert win.messages[-1][0] == "error" and ".musicxml" in win.messages[-1][1]
    assert not (tmp_path / "k.pdf").exists()
    assert win.ask_export_png()
    from PySide6.QtGui import QImage
    img = QImage(str(tmp_path / "roll.png"))
    assert img.width() == win.roll.width() and img.height() == win.roll.height()


# ---- the lead sheet -------------------------------------------------------------------------------

SVG_G = "{http://www.w3.org/2000/svg}g"


def engraved_notes(svg: str) -> int:
    """Notes (verovio's ``<g class="note">``; each tied part counts) in an SVG read as XML."""
    import xml.etree.ElementTree as ET

    return sum(g.get("class") == "note" for g in ET.fromstring(svg).iter(SVG_G))


def test_the_lead_sheet_tab_shows_the_take_and_exports_it(qtbot, make_window, tmp_path):
    import music21
    from PySide6.QtGui import QColor
    from PySide6.QtSvg import QSvgRenderer

    from gui.sheetview import NO_NOTES
    from svt_live.theory.leadsheet import infer_lead_sheet

    win = make_window(dialogs=FakeDialogs(save_lead_sheet=str(tmp_path / "sheet.musicxml")))
    qtbot.keyClick(win, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # View > Lead sheet
    assert win.tabs.currentWidget() is win.sheet and win.sheet.svg is None
    assert win.sheet.message.isVisible() and win.sheet.message.text() == NO_NOTES
    run_file(qtbot, win, CLIP)  # the bundled model, as svt-live FILE
    qtbot.waitUntil(lambda: win.sheet.svg is not None, timeout=TAKE_TIMEOUT_MS)  # engraved in a thread
    svg = win.sheet.svg
    assert svg is not None and win.sheet.scroll.isVisible() and not win.sheet.message.isVisible()
    assert win.sheet.page.renderer().isValid() and win.sheet.page.width() > 300
    image = win.sheet.page.grab().toImage()
    ink = sum(QColor(image.pixel(x, y)).lightness() < 100 for x in range(0, image.width(), 3)
              for y in range(0, image.height(), 3))
    assert ink > 200  # staff lines and notes drawn, not a blank page

    qtbot.keyClick(win, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert win.dialogs.asked[-1][0] == "save_lead_sheet" and win.messages[-1][0] == "info", win.messages
    written = list(music21.converter.parse(tmp_path / "sheet.musicxml").recurse().notes)
    assert len(written) > 10 and engraved_notes(svg) == len(written)  # tied parts counted on both sides
    heads = [n.pitch.midi for n in written if n.tie is None or n.tie.type == "start"]
    assert heads == infer_lead_sheet(win.take.notes_array()).numbers.astype(int).tolist()

    assert win.sheet.export(tmp_path / "sheet.svg")
    assert (tmp_path / "sheet.svg").read_text() == svg and QSvgRenderer(str(tmp_path / "sheet.svg")).isValid()
    assert not win.sheet.export(tmp_path / "sheet.pdf")
    assert win.messages[-1] == ("error", "Lead sheet not exported: sheet.pdf: export as .musicxml or .svg")

    run_file(qtbot, win, CLIP)  # a new take: engraved again
    qtbot.waitUntil(lambda: win.sheet.svg is not None and win.sheet.svg is not svg, timeout=TAKE_TIMEOUT_MS)
    assert engraved_notes(win.sheet.svg) == len(written)
    win.tabs.toggle()
    assert win.tabs.currentWidget() is win.view


def test_a_take_without_notes_shows_why_there_is_no_lead_sheet(qtbot, make_window, tmp_path):
    from gui.sheetview import NO_NOTES

    silence = tmp_path / "silence.wav"
    with wave.open(str(silence), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(bytes(2 * 32000))
    win = make_window()
    win.tabs.toggle()
    run_file(qtbot, win, silence)
    assert win.take.finished and not len(win.take.notes_array())
    assert win.sheet.svg is None and win.sheet.message.isVisible() and win.sheet.message.text() == NO_NOTES
    assert not win.sheet.export(tmp_path / "x.musicxml") and not (tmp_path / "x.musicxml").exists()
    assert win.messages[-1] == ("error", "Lead sheet not exported: the take has no notes")


def test_a_lead_sheet_of_several_pages_is_one_svg_qt_draws_whole(qtbot, monkeypatch):
    """Pages stack into one flat SVG: no nested <svg> or <tspan> (Qt's SVG Tiny renderer skips them)."""
    import re

    from PySide6.QtCore import QByteArray
    from PySide6.QtSvg import QSvgRenderer

    import gui.sheetview as sheetview

    notes = load_notes(CLIP_REF)
    one = sheetview.lead_sheet_svg(notes, "vocadito_10")
    monkeypatch.setitem(sheetview.VEROVIO_OPTIONS, "pageHeight", 300)  # a system a page
    many = sheetview.lead_sheet_svg(notes, "vocadito_10")
    assert many.count("<svg") == 1 and len(re.findall(r"<g transform=\"translate\(0,", many)) >= 2
    assert not re.search(r"<tspan[^>]*>\s*<tspan", many)
    assert engraved_notes(many) == engraved_notes(one) > 30
    tall, short = (QSvgRenderer(QByteArray(svg.encode())) for svg in (many, one))
    assert tall.isValid() and tall.defaultSize().height() > short.defaultSize().height()


def test_verovio_is_imported_only_when_the_lead_sheet_is_shown(short_clip, tmp_path):
    """svt-gui as a script drives it (a real process): a finished take does not engrave; showing the tab does."""
    import subprocess
    import sys

    (tmp_path / "s.ini").write_text("[input]\nrealtime=false\n[midi]\nout=none\n")
    code = (
        "import sys\n"
        "from PySide6.QtCore import QEventLoop, QSettings, QTimer\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from gui.window import MainWindow\n"
        "win = MainWindow(QSettings(sys.argv[2], QSettings.Format.IniFormat), level_monitor=False)\n"
        "win.show()\n"
        "loop = QEventLoop()\n"
        "win.takeFinished.connect(loop.quit)\n"
        "QTimer.singleShot(60000, loop.quit)\n"
        "assert win.open_audio_file(sys.argv[1]), win.messages\n"
        "loop.exec()\n"
        "before = sorted({'verovio', 'music21'} & set(sys.modules))\n"
        "win.sheet.engraved.connect(lambda *_: loop.quit())\n"
        "win.tabs.toggle()\n"
        "loop.exec()\n"
        "print(len(win.take.notes_array()), before, 'verovio' in sys.modules, win.sheet.svg is not None)\n"
        "win.take._saved_count = len(win.take.notes_array())  # no question when the window closes\n"
        "win.close()\n")
    proc = subprocess.run([sys.executable, "-c", code, str(short_clip), str(tmp_path / "s.ini")],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(DATA.parents[1])))
    assert proc.returncode == 0, proc.stderr
    notes, before, after, shown = proc.stdout.split(" ", 1)[0], *proc.stdout.split(" ", 1)[1].rsplit(" ", 2)
    assert int(notes) > 0 and before == "[]" and after == "True" and shown.strip() == "True", proc.stdout


def test_choices_are_remembered(qtbot, make_window, monkeypatch, random_model):
    import gui.panels
    fake = [{"index": 3, "name": "USB Mic", "hostapi": "ALSA", "channels": 1, "default_samplerate": 48000.0}]
    monkeypatch.setattr(gui.panels, "list_mics", lambda rescan=False: (fake, None))
    win = make_window()
    assert win.select_mic("USB")
    win.set_model(random_model)
    win.realtime_check.setChecked(True)
    win.midi_combo.setCurrentIndex(win.midi_combo.findData("virtual"))
    win.audio_path = str(CLIP)
    qtbot.keyClick(win, Qt.Key.Key_Plus)
    zoom = win.roll.px_per_s
    win.close()
    assert win.settings.value("midi/out") == "virtual"  # (make_window then picks "none" for the test)
    again = make_window()
    assert again.input_choice == ("mic", "USB Mic")
    assert again.model_name == random_model
    assert again.realtime_check.isChecked()
    assert again.audio_path == str(CLIP) and again.file_label.text() == CLIP.name
    assert again.roll.px_per_s == pytest.approx(zoom)
    again.midi_combo.setCurrentIndex(again.midi_combo.findData("none"))
    again.select_file_input()
    again.close()
    third = make_window()
    assert third.midi_combo.currentData() == "none" and third.input_choice == ("file", None)


def test_checkpoint_picked_through_the_model_menu(qtbot, make_window, random_model):
    win = make_window(dialogs=FakeDialogs(open_checkpoint=random_model))
    default = win.model_combo.findData("singing_crnn")
    assert "pitch as sung" in win.model_combo.itemData(default, Qt.ToolTipRole)  # the description
    last = win.model_combo.count() - 1
    win.model_combo.setCurrentIndex(last)
    win.model_combo.activated.emit(last)  # "Checkpoint file…"
    assert win.model_name == random_model
    win.dialogs.answers["open_checkpoint"] = None  # cancelled: the choice stays
    last = win.model_combo.count() - 1
    win.model_combo.setCurrentIndex(last)
    win.model_combo.activated.emit(last)
    assert win.model_name == random_model


# ---- a real desktop, the whole take in view, the default microphone, a take's audio ---------------
def test_svt_gui_starts_on_an_x11_display(random_model, tmp_path):
    """svt-gui as a user starts it on an X server (Xvfb) with Qt's xcb platform, not offscreen: the
    window is mapped and a file take runs in it."""
    import select
    import shutil
    import signal
    import subprocess
    import sys

    xvfb, xwininfo = shutil.which("Xvfb"), shutil.which("xwininfo")
    if not (xvfb and xwininfo):
        pytest.skip("Xvfb or xwininfo absent (scripts/setup-system.sh installs them)")
    r, w = os.pipe()
    server = servers.start([xvfb, "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                           pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    gui = None
    try:
        assert select.select([r], [], [], 20)[0], "Xvfb did not start"
        display = f":{os.read(r, 16).decode().strip()}"
        (tmp_path / "s.ini").write_text("[input]\nkind=file\n[midi]\nout=none\n")
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(DATA.parents[1]))
        gui = start([Path(sys.executable).parent / "svt-gui", str(CLIP), "--model", random_model,
                                "--settings", str(tmp_path / "s.ini")], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        title, info, end = "svt-live — vocadito_10 — model", "", time.monotonic() + 60
        while time.monotonic() < end and gui.poll() is None:
            tree = subprocess.run([xwininfo, "-display", display, "-root", "-tree"], capture_output=True,
                                  text=True).stdout
            if title in tree:
                name = next(line for line in tree.splitlines() if title in line).split('"')[1]
                info = subprocess.run([xwininfo, "-display", display, "-name", name], capture_output=True,
                                      text=True).stdout
                if "IsViewable" in info:
                    break
            time.sleep(0.5)
        assert gui.poll() is None, gui.stderr.read()
        assert "Map State: IsViewable" in info
        width = int(info.split("Width:")[1].split()[0])
        assert width > 300
        gui.send_signal(signal.SIGTERM)
        err = gui.communicate(timeout=30)[1]
        assert gui.returncode == 130 and "Traceback" not in err, err
    finally:
        os.close(r)
        if gui is not None and gui.poll() is None:
            gui.kill()
            gui.wait(10)
        servers.stop(server)


def test_a_file_take_ends_with_the_whole_take_in_view(qtbot, make_window, random_model, tmp_path):
    from svt_live.io.audio import load_audio

    x = load_audio(CLIP)
    long_clip = tmp_path / "long.wav"  # 90 s: longer than one screen at the default zoom
    with wave.open(str(long_clip), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(np.tile(x, 10)[: 90 * 16000], -1, 1) * 32767).astype("<i2").tobytes())
    win = make_window()
    run_file(qtbot, win, long_clip, random_model)
    assert win.take.duration == pytest.approx(90, abs=0.1)
    assert win.roll.t0 == 0.0 and win.roll.view_seconds >= win.take.duration


def test_the_microphone_list_starts_at_the_system_default(qtbot, make_window, monkeypatch):
    import gui.panels
    from svt_live.io.mic import list_input_devices

    real = list_input_devices()  # whatever this machine has: at most one default, marked as such
    assert all(isinstance(d["default"], bool) for d in real) and sum(d["default"] for d in real) <= 1
    fake = [{"index": 0, "name": "jack silent port", "hostapi": "JACK", "channels": 2,
             "default_samplerate": 48000.0, "default": False},
            {"index": 5, "name": "USB Mic", "hostapi": "ALSA", "channels": 1, "default_samplerate": 48000.0,
             "default": True}]
    monkeypatch.setattr(gui.panels, "list_mics", lambda rescan=False: (fake, None))
    win = make_window()  # a first launch: nothing remembered
    assert win.input_choice == ("mic", "USB Mic")
    assert win.input_combo.currentText() == "Mic: USB Mic (system default)"
    win.select_file_input()


def test_a_microphone_take_is_saved_with_its_audio(qtbot, make_window, monkeypatch, random_model, tmp_path):
    from svt_live.io.audio import load_audio

    win = dying_mic_take(qtbot, make_window, monkeypatch, random_model)
    assert win.save_take(tmp_path / "take.wav"), win.messages
    with wave.open(str(tmp_path / "take.wav")) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (16000, 1, int(2.5 * 16000))
    np.testing.assert_allclose(load_audio(tmp_path / "take.wav", 16000), load_audio(CLIP)[: int(2.5 * 16000)],
                               atol=2 / 32768)
    assert win.take.unsaved  # the audio is saved, the notes not yet
    recording = win.take.audio.path
    run_file(qtbot, win, CLIP)  # a file take has no audio to save; the last recording goes away
    import gc
    gc.collect()
    assert not recording.exists()
    assert not win.save_take(tmp_path / "file.wav") and "only a microphone take" in win.messages[-1][1]


def test_take_audio_round_trip(tmp_path):
    from gui.take import TakeAudio

    audio = TakeAudio(8000, 2)
    block = np.stack([np.linspace(-0.5, 0.5, 800), np.zeros(800)], axis=1)
    audio.write(block)
    with pytest.raises(ValueError):
        audio.save(tmp_path / "early.wav")  # still recording
    audio.close()
    audio.close()
    audio.save(tmp_path / "a.wav")
    with wave.open(str(tmp_path / "a.wav")) as w:
        pcm = np.frombuffer(w.readframes(800), "<i2").reshape(-1, 2)
    np.testing.assert_allclose(pcm / 32768.0, block, atol=1 / 32768)


def exercise_and_take(tmp_path) -> tuple[Path, Path]:
    """tests/test_sightsing.py's exercise as MIDI and a sung-like take of it: one note wrong
    (the third, E4 sung F#4), one missed (the fifth), one extra (A#4 at the end)."""
    import synth
    from test_sightsing import SCORE, perform

    sung = perform(SCORE, wrong={2: 66.0}, skip={4}, extra=[(6.25, 6.65, 70.0)])
    sung[:, 1] -= 0.05
    return (synth.write_midi(tmp_path / "ex.mid", SCORE.tolist()),
            synth.write_wav(tmp_path / "take.wav", synth.sung_tones(sung, 7.5)))


def test_exercise_lanes_turn_green_or_red_and_the_take_ends_with_the_summary(qtbot, make_window, tmp_path):
    from test_sightsing import SCORE

    exercise, take = exercise_and_take(tmp_path)
    win = make_window()
    assert not win.load_exercise(tmp_path / "absent.mid") and "Exercise not loaded" in win.messages[-1][1]
    assert win.load_exercise(exercise) and win.exercise is not None
    run_file(qtbot, win, take)  # the default model, as svt-live --score
    r = win.take.check
    assert [n.status for n in r.notes] == ["right", "right", "wrong", "right", "missed", "right", "right", "right"]
    assert win.take.settled == len(SCORE)
    assert win.messages[-1] == ("info", win.messages[-1][1]) and "6/8 notes within 50 cents" in win.messages[-1][1]
    assert "2 wrong" not in win.messages[-1][1] and "1 wrong, 1 missed, 1 extra" in win.messages[-1][1]
    roll = win.roll
    roll.fit()
    img = roll.grab().toImage()
    rh = roll._row_height()
    for k, ok in ((0, True), (2, False), (4, False)):
        c = r.notes[k]
        x = int(roll.x_of(c.expected_s + 0.1))
        colour = img.pixelColor(x, int(roll.y_of(c.pitch) - 0.45 * rh))  # the lane's edge, above any sung note
        assert (colour.green() > colour.red() + 40) if ok else (colour.red() > colour.green() + 40), (k, colour.name())


def test_exercise_lanes_settle_while_a_real_time_take_runs(qtbot, make_window, tmp_path):
    exercise, take = exercise_and_take(tmp_path)
    win = make_window()
    assert win.load_exercise(exercise)
    win.realtime_check.setChecked(True)
    seen = []  # (settled lanes, take finished) at every repaint of the roll
    win.roll.viewChanged.connect(lambda: seen.append((win.take.settled, win.take.finished)))
    assert win.open_audio_file(take, start=False)
    with qtbot.waitSignal(win.takeFinished, timeout=TAKE_TIMEOUT_MS):
        assert win.start()
    during = [n for n, done in seen if not done]
    assert any(0 < n < 8 for n in during), during  # lanes settle as the notes are sung
    assert [n.status for n in win.take.check.notes][:4] == ["right", "right", "wrong", "right"]


def test_an_exercise_can_be_cleared_and_hovering_a_lane_says_what_was_sung(qtbot, make_window, tmp_path):
    from PySide6.QtWidgets import QToolTip

    exercise, take = exercise_and_take(tmp_path)
    win = make_window()
    assert not win.clear_exercise_action.isEnabled()
    assert win.load_exercise(exercise) and win.clear_exercise_action.isEnabled()
    run_file(qtbot, win, take)
    roll, wrong = win.roll, win.take.check.notes[2]
    roll.fit()
    t, midi = wrong.expected_s + 0.1, wrong.pitch
    assert roll.lane_text(t, midi).startswith("note 3 E4: wrong, sung F#4 (+2")  # cents, then the timing
    assert roll.lane_text(t, midi + 3) is None
    qtbot.mouseMove(roll, QPoint(int(roll.x_of(t)), int(roll.y_of(midi))))
    qtbot.waitUntil(lambda: QToolTip.isVisible() and "wrong" in QToolTip.text(), timeout=3000)
    win.clear_exercise()
    assert win.exercise is None and win.take.check is None and not win.clear_exercise_action.isEnabled()
    assert roll.lane_text(t, midi) is None
    run_file(qtbot, win, take)
    assert win.take.exercise is None and not [m for k, m in win.messages if k == "warning"]


def test_a_take_unlike_the_exercise_gets_a_warning(qtbot, make_window, tmp_path):
    import synth
    from test_sightsing import SCORE

    _, take = exercise_and_take(tmp_path)
    other = synth.write_midi(tmp_path / "other.mid", (SCORE + [0, 0, 6]).tolist())  # a tritone away: nothing matches
    win = make_window()
    assert win.load_exercise(other)
    run_file(qtbot, win, take)
    kind, text = win.messages[-1]
    assert kind == "warning" and "does not look like the exercise" in text and "Clear exercise" in text


def test_loading_an_exercise_for_a_chosen_file_gives_its_verdict_without_recording(qtbot, make_window, tmp_path):
    exercise, take = exercise_and_take(tmp_path)
    win = make_window()
    assert win.open_audio_file(take, start=False) and not win.take.notes
    with qtbot.waitSignal(win.takeFinished, timeout=TAKE_TIMEOUT_MS):
        assert win.load_exercise(exercise)
    assert [n.status for n in win.take.check.notes][2:5] == ["wrong", "right", "missed"]
    assert "6/8 notes within 50 cents" in win.messages[-1][1]


def test_after_a_take_the_view_shows_its_last_notes(qtbot, make_window, tmp_path):
    _, take = exercise_and_take(tmp_path)
    win = make_window()
    run_file(qtbot, win, take)
    roll = win.roll
    roll.zoom(4.0)
    roll.t0 = 100.0  # as if the take had gone on in silence long after the singing
    roll.show_last_notes()
    last = win.take.notes_array()[-1]
    assert roll.t0 < last[1] < roll.t0 + roll.view_seconds


def test_the_default_settings_store_is_written_by_svt_gui_not_by_qt(tmp_path):
    """Without --settings, svt-gui keeps choices in ~/.config/svt-live/svt-gui.conf: Qt works on a copy,
    the user's file is untouched while the window runs and is replaced whole (the one writer) on quit."""
    import signal
    import subprocess
    import sys

    store = tmp_path / ".config" / "svt-live" / "svt-gui.conf"
    store.parent.mkdir(parents=True)
    store.write_text("[midi]\nout=none\n[view]\npx_per_s=250\n")
    before = store.stat().st_ino
    env = {k: v for k, v in os.environ.items() if k != "XDG_CONFIG_HOME"}
    proc = start([sys.executable, "-m", "gui.app"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(env, HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen",
                                     PYTHONPATH=str(DATA.parents[1])))
    try:
        wait_until_idle(proc, min_s=2)
        assert store.read_text() == "[midi]\nout=none\n[view]\npx_per_s=250\n" and store.stat().st_ino == before
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=30)[1]
    finally:
        proc.kill()
    assert "Traceback" not in err, err
    kept = QSettings(str(store), QSettings.Format.IniFormat)
    assert store.stat().st_ino != before and float(kept.value("view/px_per_s")) == 250.0
    assert kept.value("midi/out") == "none" and not list(tmp_path.glob(".config/svt-live/.svt-*"))
