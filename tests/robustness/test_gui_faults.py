"""svt-gui under faults: a signal always ends it, saved or not (then it says where it tried and exits
non-zero); corrupt settings values are ignored with a warning; a reference that cannot be read is a
message, the window goes on."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from processes import start, wait_until_idle  # noqa: E402
from test_gui import CLIP, make_window, models, run_file, settings_path  # noqa: E402,F401  (fixtures)

from .helpers import case  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


UNSAVED = "with an unsaved take; neither the current nor the home folder can be written"


@pytest.mark.parametrize("sig", [
    case(f"{name} {UNSAVED}", sig, category="gui", expected="exit 1; one line naming both places tried")
    for name, sig in (("Ctrl-C", signal.SIGINT), ("SIGTERM", signal.SIGTERM))])
def test_a_signal_always_ends_svt_gui(sig, note_model, tmp_path, robust):
    (tmp_path / "s.ini").write_text("[input]\nrealtime=false\n[midi]\nout=none\n")  # the take ends at once, unsaved
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), HOME="/proc")
    proc = start([sys.executable, "-m", "gui.app", str(CLIP), "--model", str(note_model),
                             "--settings", str(tmp_path / "s.ini")], cwd="/proc", env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_until_idle(proc)  # start-up and the file take: 2 s on an idle machine, 15 s and more on a busy one
    proc.send_signal(sig)
    try:
        err = proc.communicate(timeout=30)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    last = err.strip().splitlines()[-1] if err.strip() else ""
    robust(f"exit {proc.returncode}; `{last}`")
    assert "Traceback" not in err, err
    assert proc.returncode == 1, err
    assert last.startswith("svt-gui: interrupted; take NOT saved (tried /proc/vocadito_10-")
    assert last.count("/proc/") == 2


@pytest.mark.robustness("gui", "the window opens with the defaults; one warning line per value ignored",
                        case="settings file with zoom 0, a NaN zoom, nested lists and garbage for every choice")
def test_corrupt_settings_values_are_ignored(make_window, settings_path, capfd, robust):
    settings_path.write_text('[view]\npx_per_s=nan\n[input]\nrealtime=@Variant(\\0\\0\\0\\x7f)\nkind=a, b, c\n'
                             'file=x, y\n[model]\ncheckpoints="' + "[" * 3000 + "]" * 3000 + '"\n'
                             '[midi]\nout=1, 2\n[window]\ngeometry=0\n')
    win = make_window()
    warned = [line for line in capfd.readouterr().err.splitlines() if line.startswith("svt-gui: warning: ")]
    robust(f"window shown; zoom {win.roll.px_per_s:g} px/s; {len(warned)} warnings, e.g. `{warned[0]}`")
    assert win.isVisible() and win.roll.px_per_s == 100.0
    assert len(warned) >= 5
    settings_path.write_text("[view]\npx_per_s=0\n")
    make_window()
    assert [line for line in capfd.readouterr().err.splitlines() if "view/px_per_s" in line]


@pytest.mark.robustness("gui", "a message in the window; the window and its take as they were",
                        case="--reference: JSON nested 100000 deep")
def test_unreadable_reference_is_a_message(make_window, tmp_path, robust):
    win = make_window()
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    ok = win.load_reference(deep)
    robust(f"loaded: {ok}; message `{win.messages[-1][1]}`")
    assert not ok and win.messages[-1][0] == "error" and "nested too deeply" in win.messages[-1][1]
    assert win.reference is None


@pytest.mark.robustness("gui", "the window says why in its message strip; the exercise before stays loaded",
                        case="exercise MIDI file with tempo 0 (was: a ZeroDivisionError on stderr, the window silent)")
def test_a_bad_exercise_is_a_message(make_window, tmp_path, capfd, robust):
    from .test_exercises import zero_tempo

    win = make_window()
    assert not win.load_exercise(zero_tempo(tmp_path / "ex.mid"))
    kind, text = win.messages[-1]
    robust(f"{kind}: `{text}`")
    assert kind == "error" and "tempo 0" in text and "ex.mid" in win.message_label.text()
    assert win.exercise is None and "Traceback" not in capfd.readouterr().err


@pytest.mark.robustness("gui", "a message in the window naming the file; nothing left behind; the sheet still shown",
                        case="Export lead sheet as SVG to a full disk (a link to /dev/full), as MusicXML under a "
                             "file (a path whose folder is a file)")
def test_a_lead_sheet_that_cannot_be_written_is_a_message(qtbot, make_window, tmp_path, robust):
    win = make_window()
    win.tabs.toggle()
    run_file(qtbot, win, CLIP)
    qtbot.waitUntil(lambda: win.sheet.svg is not None, timeout=60_000)
    full = tmp_path / "full.svg"
    full.symlink_to("/dev/full")
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    said = []
    for path in (full, tmp_path / "notes.txt" / "sheet.musicxml"):
        assert not win.sheet.export(path)
        said.append(win.messages[-1])
    robust("; ".join(f"{kind}: `{text}`" for kind, text in said))
    assert [kind for kind, _ in said] == ["error", "error"]
    assert "No space left on device" in said[0][1] and str(full) in said[0][1]
    assert str(tmp_path / "notes.txt" / "sheet.musicxml") in said[1][1]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".svt-")]
    assert win.sheet.svg is not None and win.sheet.scroll.isVisible()
