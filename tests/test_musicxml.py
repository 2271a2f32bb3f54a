"""MusicXML lead sheets read back with music21: notes on the grid, measures, ties, key, meter, tempo."""
import numpy as np
import pytest

from svt_live.key import Key, estimate_key
from svt_live.musicxml import write_musicxml

music21 = pytest.importorskip("music21")

# D major line, sung 10 cents sharp and off the grid; the 1.3 s note crosses the barline at 2 s (120 BPM, 4/4)
NOTES = np.array([[0.02, 0.26, 62.1], [0.27, 0.49, 64.1], [0.51, 0.98, 66.1], [1.0, 2.3, 67.1],
                  [2.52, 2.74, 69.1], [2.76, 3.5, 61.1], [3.52, 5.0, 62.1]])


def _read(path):
    score = music21.converter.parse(str(path))
    part = score.parts[0]
    return part, list(part.recurse().notes)


def test_lead_sheet_has_key_meter_tempo_and_grid(tmp_path):
    path = tmp_path / "song.musicxml"
    key = estimate_key(NOTES, tuning_cents=10)
    assert key.name == "D major"
    write_musicxml(path, NOTES, bpm=120, meter=(3, 4), key=key, tuning_cents=10, division=16)
    part, notes = _read(path)
    assert part.recurse().getElementsByClass("KeySignature")[0].sharps == 2
    ts = part.recurse().getElementsByClass("TimeSignature")[0]
    assert (ts.numerator, ts.denominator) == (3, 4)
    assert part.recurse().getElementsByClass("MetronomeMark")[0].number == 120
    for n in notes:
        assert (n.getOffsetInHierarchy(part) * 4) % 1 == 0  # every onset on a sixteenth
        assert (n.quarterLength * 4) % 1 == 0
    measures = part.getElementsByClass("Measure")
    assert all(m.duration.quarterLength == 3 for m in measures)  # 3/4 bars filled with notes and rests
    names = [n.pitch.nameWithOctave for n in notes if not (n.tie and n.tie.type != "start")]
    assert names == ["D4", "E4", "F#4", "G4", "A4", "C#4", "D4"]
    tied = [n for n in notes if n.tie is not None]
    assert tied and tied[0].pitch.name == "G"  # the G crosses the barline


def test_flat_key_spells_flats(tmp_path):
    path = tmp_path / "f.musicxml"
    write_musicxml(path, [[0, 0.5, 70.0], [0.5, 1.0, 65.0]], key=Key(5, "major"))
    part, notes = _read(path)
    assert part.recurse().getElementsByClass("KeySignature")[0].sharps == -1
    assert [n.pitch.name for n in notes] == ["B-", "F"]


def test_no_notes_is_an_empty_bar(tmp_path):
    path = tmp_path / "e.musicxml"
    write_musicxml(path, np.zeros((0, 3)))
    part, notes = _read(path)
    assert notes == [] and len(part.getElementsByClass("Measure")) >= 1
