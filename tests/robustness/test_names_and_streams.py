"""File names and option values as typed: control characters never reach the terminal raw, a ``$`` in a
name is not mathtext, numbers too large for their option are refused, and audio arrives through a FIFO,
a pipe or standard input."""
import json
import os
import subprocess
import sys
import threading

import pytest
import synth

from svt_live.commands.cli import main
from svt_live.io.annotations import load_notes

from .helpers import case, seen, svt

NOTES = [[0.2 + 0.5 * i, 0.6 + 0.5 * i, 60.0 + i] for i in range(4)]


@pytest.mark.parametrize("name", [
    case("file name with an escape sequence and a carriage return", "a\x1b[2J\rb.wav", category="command line",
         expected="exit 0; the name printed with \\x1b and \\r escaped"),
    case("missing file whose name holds a bell and a terminal title sequence", "\x07\x1b]0;pwned\x07.wav",
         category="command line", expected="exit 1, one line, control characters escaped"),
])
def test_control_characters_in_names_are_escaped(name, note_model, tmp_path, capsys, robust):
    path = tmp_path / name
    if "\x07" not in name:  # the second case's file does not exist
        synth.write_song(tmp_path, name[:-4], NOTES, 2.5)
    code, out, lines = svt([path, "--model", note_model], capsys)
    robust(seen(code, lines))
    assert not any(ch in out + "".join(lines) for ch in "\x1b\r\x07")
    assert ("\\x1b" in out if code == 0 else "\\x1b" in lines[0])


@pytest.mark.robustness("command line", "exit 0; the PNG is written, its title the name as typed",
                        case="--plot of a file named with $...$ (mathtext syntax)")
def test_dollars_in_a_plotted_name(note_model, tmp_path, capsys, robust):
    song = synth.write_song(tmp_path, "take $\\frac{1$ 2", NOTES, 2.5)
    rc, _, lines = svt([song, "--model", note_model, "--plot", tmp_path / "roll.png", "-q"], capsys)
    robust(seen(rc, lines))
    assert rc == 0 and not lines and (tmp_path / "roll.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("option", [
    case(f"{flag} {value}", [flag, value], category="command line", expected="exit 2, one-line usage error")
    for flag, value in (("--hop", "1e308"), ("--onset-tolerance", "1e308"), ("--hop", "inf"),
                        ("--min-note-frames", str(10 ** 30)))])
def test_values_too_large(option, note_model, tmp_path, capsys, robust):
    song = synth.write_song(tmp_path, "s", NOTES, 2.5)
    rc, _, lines = svt([song, "--model", note_model, *option], capsys)
    robust(seen(rc, lines))
    assert rc == 2 and len(lines) == 1 and option[0] in lines[0]


STREAMED = "exit 0; the same notes as from the file"


@pytest.mark.parametrize("how", [
    case("a FIFO as input", "fifo", category="audio", expected=STREAMED),
    case("- (standard input) as input", "-", category="audio", expected=STREAMED + "; the song is called stdin"),
    case("/dev/stdin as input (a pipe)", "/dev/stdin", category="audio", expected=STREAMED),
])
def test_streamed_input(how, note_model, tmp_path, robust):
    song = synth.write_song(tmp_path, "s", NOTES, 2.5)
    data = song.read_bytes()
    arg = str(tmp_path / "in.fifo") if how == "fifo" else how
    cmd = [sys.executable, "-m", "svt_live", arg, "--model", str(note_model), "-q", "--json", str(tmp_path / "n.json")]
    if how == "fifo":
        os.mkfifo(arg)
        writer = threading.Thread(target=lambda: open(arg, "wb").write(data))
        writer.start()
        p = subprocess.run(cmd, capture_output=True, timeout=120)
        writer.join(10)
    else:
        p = subprocess.run(cmd, input=data, capture_output=True, timeout=120)
    songs = json.loads((tmp_path / "n.json").read_text()) if p.returncode == 0 else {}
    robust(f"exit {p.returncode}; JSON song {list(songs)}; stderr `{p.stderr.decode().strip()}`")
    assert p.returncode == 0 and not p.stderr.strip()
    assert main([str(song), "--model", str(note_model), "-q", "--json", str(tmp_path / "file.json")]) == 0
    (got,) = songs.values()
    assert got == load_notes(tmp_path / "file.json", song_id="s").round(4).tolist()
