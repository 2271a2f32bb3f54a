"""Running ``svt-live`` in-process and reading its stderr the way a user would."""
from __future__ import annotations

import pytest

from svt_live.commands.cli import main


def svt(argv, capsys) -> tuple[int, str, list[str]]:
    """Run ``svt-live argv``; returns ``(exit status, stdout, stderr lines)``.

    Asserts the contract for stderr: no traceback, and every line is one of
    svt-live's own one-line messages (``svt-live: error: ...``, ``svt-live: warning: ...``).
    """
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert all(line.startswith("svt-live: ") for line in lines), err
    return rc, out, lines


def seen(rc: int, lines: list[str]) -> str:
    """What a user saw, for the table: the exit status and the stderr lines."""
    return f"exit {rc}" + "".join(f"; `{line}`" for line in lines)


def case(case_id: str, *values, category: str, expected: str):
    """A ``pytest.param`` that is also a row of the robustness table."""
    return pytest.param(*values, id=case_id, marks=pytest.mark.robustness(category, expected))


def midi_file(path, notes, *, kind: int = 1, tempi=(), division: int = 480, tempo: int = 500000):
    """``notes`` (seconds at ``tempo`` microseconds per beat) as a MIDI file of type ``kind`` (type 2: one
    note per track, each from 0 s); ``tempi``: set_tempo values one tick apart after the first (a tempo
    map); ``division`` is written into the header as given (0, or SMPTE with the top bit set)."""
    import mido

    mid = mido.MidiFile(type=kind, ticks_per_beat=480)
    for group in ([[n] for n in notes] if kind == 2 else [notes]):
        track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo)])
        track += [mido.MetaMessage("set_tempo", tempo=t, time=1) for t in tempi]
        last = 0
        for on, off, p in group:
            for t, msg in ((on, "note_on"), (off, "note_off")):
                tick = int(round(t * 480 * 1e6 / tempo))
                track.append(mido.Message(msg, note=int(p), velocity=80 if msg == "note_on" else 0, time=tick - last))
                last = tick
        mid.tracks.append(track)
    mid.save(path)
    data = bytearray(path.read_bytes())
    data[12:14] = division.to_bytes(2, "big")
    path.write_bytes(bytes(data))
    return path
