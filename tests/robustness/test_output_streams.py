"""Outputs that name a stream or a special file are written into, never replaced, whoever formats them:
``/dev/stdout`` redirected with ``>>`` is appended to, a pipe gets the data, ``--musicxml /dev/null``
creates nothing beside it, svt-gui's ``--settings`` refuses devices and FIFOs, and a file name as long
as the file system allows still works (the temporary name is short)."""
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import synth

from .helpers import case, seen, svt

NOTES = [[0.2 + 0.5 * i, 0.6 + 0.5 * i, 60.0 + i] for i in range(4)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return synth.write_song(tmp_path_factory.mktemp("streams"), "song", NOTES, 2.5)


def svt_process(args, **kw) -> subprocess.CompletedProcess:
    """``svt-live ARGS`` as a shell would start it (stdout and stderr as ``kw`` gives them)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "svt_live", *map(str, args)], env=env, timeout=120, **kw)


def json_after(text: str, head: str) -> dict:
    assert text.startswith(head), text[:200]
    return json.loads(text[len(head):])


APPENDED = "exit 0; the file keeps its first line and the JSON follows it"


@pytest.mark.parametrize("name", [
    case("--json /dev/stdout, stdout redirected with >> to a file", "/dev/stdout", category="outputs",
         expected=APPENDED),
    case("--json /dev/fd/1, stdout redirected with >> to a file", "/dev/fd/1", category="outputs",
         expected=APPENDED),
    case("--json /proc/self/fd/1, stdout redirected with >> to a file", "/proc/self/fd/1", category="outputs",
         expected=APPENDED),
    case("--json a symbolic link to /dev/stdout, stdout redirected with >>", "link", category="outputs",
         expected=APPENDED),
])
def test_stdout_redirected_to_a_file_is_appended_to(name, song, note_model, tmp_path, robust):
    log = tmp_path / "log.txt"
    log.write_text("kept line\n")
    if name == "link":
        (tmp_path / "link").symlink_to("/dev/stdout")
        name = tmp_path / "link"
    with open(log, "ab") as out:  # what `>> log.txt` hands the command
        p = svt_process([song, "--model", note_model, "--json", name, "-q"], stdout=out, stderr=subprocess.PIPE)
    text = log.read_text()
    robust(f"exit {p.returncode}; stderr `{p.stderr.decode().strip()}`; file starts {text[:10]!r}; "
           f"still a regular file: {log.is_file() and not log.is_symlink()}")
    assert p.returncode == 0 and not p.stderr.strip()
    assert list(json_after(text, "kept line\n")) == ["song"]


@pytest.mark.parametrize("flag", [
    case("--json /dev/stdout into a pipe, with the notes printed", "--json", category="outputs",
         expected="exit 0; the pipe gets the printed notes and the whole JSON, one after the other"),
    case("--csv /dev/stdout into a pipe, with the notes printed", "--csv", category="outputs",
         expected="exit 0; the pipe gets the whole CSV and the printed notes, one after the other"),
])
def test_stdout_as_a_pipe_gets_the_data(flag, song, note_model, robust):
    p = svt_process([song, "--model", note_model, flag, "/dev/stdout"], capture_output=True, text=True)
    robust(f"exit {p.returncode}; stderr `{p.stderr.strip()}`; {len(p.stdout)} bytes down the pipe")
    assert p.returncode == 0 and p.stderr.strip() == "wrote /dev/stdout"
    if flag == "--json":  # written once every file is done: after the printed notes
        printed, data = p.stdout.split("\n{\n")
        assert list(json.loads("{\n" + data)) == ["song"]
    else:  # a file's own CSV is written before its notes are printed
        data, printed = p.stdout.split(f"\n{song}: ")
        rows = data.splitlines()
        assert rows[0] == "onset,offset,midi" and len(rows) - 1 == int(printed.split(" notes")[0])
    assert f"{song}: " in p.stdout and "  onset   offset   midi  name" in printed


@pytest.mark.robustness("outputs", "exit 0; the reader of descriptor 5 gets the JSON; nothing created",
                        case="--json /dev/fd/5, a pipe the caller passed as descriptor 5")
def test_an_inherited_descriptor_gets_the_data(song, note_model, tmp_path, robust):
    r, w = os.pipe()
    got = []
    reader = threading.Thread(target=lambda: got.append(os.fdopen(r, "rb").read()))
    reader.start()
    try:
        p = svt_process([song, "--model", note_model, "--json", f"/dev/fd/{w}", "-q"], capture_output=True,
                        pass_fds=(w,), cwd=tmp_path)
    finally:
        os.close(w)
        reader.join(30)
    robust(f"exit {p.returncode}; the reader got {len(got[0])} bytes; folder holds {os.listdir(tmp_path)}")
    assert p.returncode == 0 and list(json.loads(got[0])) == ["song"] and not os.listdir(tmp_path)


@pytest.mark.parametrize("flag", [
    case(f"{flag} /dev/null", flag, category="outputs",
         expected="exit 0; /dev/null stays a character device and nothing appears beside it")
    for flag in ("--musicxml", "--plot", "--midi-file", "--csv")])
def test_library_formatted_outputs_write_into_dev_null(flag, song, note_model, capsys, robust):
    before = set(os.listdir("/dev"))
    rc, _, lines = svt([song, "--model", note_model, flag, "/dev/null", "-q"], capsys)
    new = sorted(set(os.listdir("/dev")) - before)
    robust(f"{seen(rc, lines)}; new in /dev: {new}")
    assert rc == 0 and not lines and not new and stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.robustness("outputs", "exit 0; the reader gets the whole MusicXML (music21 reads it back)",
                        case="--musicxml names a FIFO a reader is waiting on")
def test_musicxml_into_a_fifo(song, note_model, tmp_path, capsys, robust):
    from music21 import converter

    fifo = tmp_path / "score.fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    rc, _, lines = svt([song, "--model", note_model, "--musicxml", fifo, "-q"], capsys)
    reader.join(30)
    score = converter.parseData(got[0].decode(), format="musicxml")
    robust(f"{seen(rc, lines)}; {len(got[0])} bytes, {len(score.flatten().notes)} notes read back; "
           f"files beside it: {sorted(p.name for p in tmp_path.iterdir())}")
    assert rc == 0 and len(score.flatten().notes) > 0 and [p.name for p in tmp_path.iterdir()] == ["score.fifo"]


@pytest.mark.parametrize("length", [
    case(f"output file name of {n} bytes", n, category="outputs",
         expected="exit 0; the file is written (the temporary name is short)")
    for n in (242, 255)])
def test_names_as_long_as_the_file_system_allows(length, song, note_model, tmp_path, capsys, robust):
    paths = {flag: tmp_path / ("n" * (length - len(ext)) + ext) for flag, ext in (("--json", ".json"),
                                                                                  ("--midi-file", ".mid"))}
    rc, _, lines = svt([song, "--model", note_model, *[a for f, p in paths.items() for a in (f, p)], "-q"], capsys)
    robust(seen(rc, lines))
    assert rc == 0 and not lines and all(p.stat().st_size > 0 for p in paths.values())
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in paths.values())


def gui(args, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "gui.app", *map(str, args)], env=env, timeout=60,
                          capture_output=True, text=True, **kw)


REFUSED = "exit 2 at once, one line; the file stays what it was"


@pytest.mark.parametrize("kind", [
    case("svt-gui --settings /dev/null (a device)", "device", category="gui", expected=REFUSED),
    case("svt-gui --settings a FIFO nobody writes", "fifo", category="gui", expected=REFUSED),
    case("svt-gui --settings /dev/stdout", "stdout", category="gui", expected=REFUSED),
])
def test_gui_settings_on_a_special_file_is_refused(kind, tmp_path, robust):
    path = {"device": "/dev/null", "fifo": tmp_path / "s.fifo", "stdout": "/dev/stdout"}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    p = gui(["--settings", path], stdin=subprocess.DEVNULL)
    lines = p.stderr.strip().splitlines()
    mode = os.stat(path).st_mode
    robust(f"exit {p.returncode}; `{lines[-1] if lines else ''}`")
    assert p.returncode == 2 and len(lines) == 1 and lines[0].startswith("svt-gui: error: --settings ")
    assert stat.S_ISCHR(mode) if kind == "device" else stat.S_ISFIFO(mode) if kind == "fifo" else True


@pytest.mark.robustness("gui", "the choices reach the file through a symbolic link, which stays a link; "
                               "the mode stays 0600; no temporary file",
                        case="svt-gui --settings: a symbolic link to a 0600 ini file")
def test_gui_settings_are_written_through_the_one_writer(tmp_path, robust):
    from gui.settings import settings_file

    real = tmp_path / "real.ini"
    real.write_text("[view]\npx_per_s=120\n")
    real.chmod(0o600)
    (tmp_path / "link.ini").symlink_to(real)
    settings, save = settings_file(tmp_path / "link.ini")
    assert float(settings.value("view/px_per_s")) == 120
    settings.setValue("midi/out", "none")
    assert "midi" not in real.read_text()  # Qt writes its private copy, not the user's file
    save()
    text = real.read_text()
    robust(f"link intact: {(tmp_path / 'link.ini').is_symlink()}; mode {stat.S_IMODE(real.stat().st_mode):o}; "
           f"files {sorted(p.name for p in tmp_path.iterdir())}")
    assert "out=none" in text and "px_per_s=120" in text and (tmp_path / "link.ini").is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.ini", "real.ini"]


@pytest.mark.robustness("gui", "a PNG written into /dev/null leaves it a device; to a file, a PNG Qt reads back",
                        case="svt-gui piano-roll export (Qt formats the PNG) to /dev/null and to a file")
def test_qt_images_go_through_the_one_writer(tmp_path, robust):
    from PySide6.QtGui import QColor, QImage

    from gui.pianoroll import save_png

    image = QImage(16, 8, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    save_png(image, "/dev/null")
    save_png(image, tmp_path / "roll.png")
    back = QImage(str(tmp_path / "roll.png"))
    robust(f"/dev/null a device: {stat.S_ISCHR(os.stat('/dev/null').st_mode)}; read back {back.width()}x"
           f"{back.height()}")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and (back.width(), back.height()) == (16, 8)
    assert os.listdir(tmp_path) == ["roll.png"]
