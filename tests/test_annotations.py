"""svt_live.io.annotations: readers and writers of every supported note format, and their errors."""
import json

import numpy as np
import pytest
from synth import write_midi

from svt_live.io.annotations import (
    ANNOTATION_EXTENSIONS,
    FORMATS,
    READ_EXTENSIONS,
    WRITE_EXTENSIONS,
    load_json_notes,
    load_midi_notes,
    load_notes,
    load_ssvd_txt,
    load_svt_csv,
    load_vocadito_csv,
    note_format,
    write_csv,
    write_json,
    write_notes,
)
from svt_live.notes import NoteError

NOTES = np.array([[0.5, 1.0, 60.0], [1.25, 1.75, 64.0], [2.0, 3.0, 67.0]])


def test_json_multi_song_and_song_id(tmp_path):
    p = tmp_path / "annotations.json"
    p.write_text(json.dumps({"62": NOTES.tolist(), "65": NOTES[:1].tolist()}))
    songs = load_json_notes(p)
    assert set(songs) == {"62", "65"}
    np.testing.assert_array_equal(songs["62"], NOTES)
    np.testing.assert_array_equal(load_notes(p, song_id=65), NOTES[:1])
    with pytest.raises(NoteError, match="holds 2 songs; say which with a song id"):
        load_notes(p)
    with pytest.raises(NoteError, match=r"no song with id '99'"):
        load_notes(p, song_id="99")


def test_json_bare_list_is_one_song_named_after_the_file(tmp_path):
    p = tmp_path / "take1.json"
    p.write_text(json.dumps(NOTES.tolist()))
    assert list(load_json_notes(p)) == ["take1"]
    np.testing.assert_array_equal(load_notes(p), NOTES)


def test_malformed_json(tmp_path):
    p = tmp_path / "a.json"
    p.write_text('{"1": [[0, 1, 60]')
    with pytest.raises(NoteError, match=r"a.json: malformed JSON \(.* at line 1\)"):
        load_json_notes(p)


@pytest.mark.parametrize("payload, match", [
    ('{"1": [[0, 1]]}', r"a.json\[1\]: notes must be rows of \[onset, offset, pitch\], got shape \(1, 2\)"),
    ('{"1": [[0, 1, "high"]]}', r"a.json\[1\]: notes must be rows of"),
    ('"just a string"', r"expected an object"),
])
def test_json_wrong_shape(tmp_path, payload, match):
    p = tmp_path / "a.json"
    p.write_text(payload)
    with pytest.raises(NoteError, match=match):
        load_json_notes(p)


def test_json_drops_invalid_notes_with_counted_warning(tmp_path):
    p = tmp_path / "a.json"
    p.write_text(json.dumps({"7": [[0, 1, 60], [2, 1, 60], [3, 4, 20.0], [5, 6, 119.3]]}))
    with pytest.warns(UserWarning, match=r"a.json\[7\]: dropped 3 invalid note\(s\)"):
        songs = load_json_notes(p)
    np.testing.assert_array_equal(songs["7"], [[0, 1, 60]])


def test_missing_and_binary_annotation_files(tmp_path):
    with pytest.raises(NoteError, match="no such annotation file"):
        load_notes(tmp_path / "nope.txt")
    p = tmp_path / "bin.txt"
    p.write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(NoteError, match="cannot read as text"):
        load_notes(p)
    with pytest.raises(NoteError, match=r"x\.png: unknown note file format '\.png'"):
        load_notes(tmp_path / "x.png")


def test_ssvd_txt(tmp_path):
    p = tmp_path / "1011.txt"
    p.write_text("0.5\t1.0\t60.21\n1.25\t1.75\t64.0\n\n3.0\t4.0\t119.3\n")
    with pytest.warns(UserWarning, match="pitch out of range: 1"):
        notes = load_ssvd_txt(p)
    np.testing.assert_allclose(notes, [[0.5, 1.0, 60.21], [1.25, 1.75, 64.0]])
    p.write_text("0.5\t1.0\n")
    with pytest.raises(NoteError, match="each line must be onset, offset, midi"):
        load_ssvd_txt(p)
    p.write_text("0.5\t1.0\t60\n0.5\tx\t60\n")
    with pytest.raises(NoteError, match=r"1011.txt:2: not numbers"):
        load_ssvd_txt(p)


def test_unsorted_ssvd_sorted_with_warning(tmp_path):
    p = tmp_path / "u.txt"
    p.write_text("2.0\t3.0\t67\n0.5\t1.0\t60\n")
    with pytest.warns(UserWarning, match="not sorted by onset"):
        notes = load_notes(p)
    np.testing.assert_array_equal(notes[:, 0], [0.5, 2.0])


def test_vocadito_csv_converts_frequency_and_duration(tmp_path):
    p = tmp_path / "vocadito_3_notesA1.csv"
    p.write_text("0.5,440.0,0.25\n1.0,261.6255653,0.5\n")
    np.testing.assert_allclose(load_notes(p), [[0.5, 0.75, 69.0], [1.0, 1.5, 60.0]], atol=1e-6)
    p.write_text("0.5,0.0,0.25\n")  # 0 Hz: no pitch -> dropped
    with pytest.warns(UserWarning, match="dropped 1"):
        assert len(load_vocadito_csv(p)) == 0


def test_svt_csv_round_trip(tmp_path):
    p = tmp_path / "pred.csv"
    write_csv(p, NOTES)
    assert p.read_text().splitlines()[0] == "onset,offset,midi"
    np.testing.assert_array_equal(load_notes(p), NOTES)
    np.testing.assert_array_equal(load_svt_csv(p), NOTES)


def test_write_json_round_trip_rounds_and_leaves_no_temp_files(tmp_path):
    p = tmp_path / "out" / "preds.json"
    notes = NOTES + [0.00001, 0, 0.123]
    write_json(p, {"1": notes, "2": np.zeros((0, 3))})
    back = load_json_notes(p)
    expected = np.column_stack([np.round(notes[:, :2], 4), np.round(notes[:, 2], 2)])
    np.testing.assert_allclose(back["1"], expected)
    assert back["1"][0, 2] == pytest.approx(60.12)
    assert back["2"].shape == (0, 3)
    assert [f.name for f in p.parent.iterdir()] == ["preds.json"]


def test_midi_reader(tmp_path):
    p = tmp_path / "song.mid"
    write_midi(p, NOTES)
    np.testing.assert_allclose(load_notes(p), NOTES, atol=1e-6)
    np.testing.assert_allclose(load_midi_notes(p), NOTES, atol=1e-6)


def test_unreadable_midi(tmp_path):
    p = tmp_path / "bad.mid"
    p.write_text("not a midi file")
    with pytest.raises(NoteError, match="not a readable MIDI file"):
        load_notes(p)
    with pytest.raises(NoteError, match="no such MIDI file"):
        load_midi_notes(tmp_path / "missing.mid")


def test_written_files_get_umask_permissions(tmp_path):
    import os

    from svt_live.io.annotations import write_csv

    umask = os.umask(0o022)
    try:
        write_csv(tmp_path / "n.csv", np.array([[0.0, 1.0, 60.0]]))
    finally:
        os.umask(umask)
    assert (tmp_path / "n.csv").stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------- the format table


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_every_format_reads_back_what_it_writes(tmp_path, fmt):
    """One reader and one writer per format: what write_notes writes, load_notes reads back (a lead
    sheet places the notes on its beat grid, so MusicXML keeps pitches and durations, not the lead-in)."""
    beat = 0.5  # quarter notes and a half note at 120 BPM
    notes = np.array([[1.0, 1.5, 60.0], [1.5, 2.0, 62.0], [2.0, 2.5, 64.0], [2.5, 3.5, 65.0], [3.5, 4.0, 67.0]])
    path = tmp_path / f"take{fmt.writable[0]}"
    assert write_notes(path, notes, name="take") == fmt.name
    back = load_notes(path)
    np.testing.assert_allclose(back[:, 2], notes[:, 2])
    if fmt.name == "MusicXML":
        np.testing.assert_allclose(np.diff(back[:, 0]) / beat, np.diff(notes[:, 0]) / beat, atol=1e-6)
    else:
        np.testing.assert_allclose(back[:, :2], notes[:, :2], atol=1e-3)
    assert note_format(path).name == fmt.name


def test_the_table_is_the_one_list_of_extensions():
    assert set(WRITE_EXTENSIONS) <= set(READ_EXTENSIONS)
    assert ".mxl" in READ_EXTENSIONS and ".mxl" not in WRITE_EXTENSIONS  # compressed MusicXML is read only
    assert len(READ_EXTENSIONS) == len(set(READ_EXTENSIONS))  # one format an extension
    assert ".xml" not in ANNOTATION_EXTENSIONS  # a .xml beside a song is not taken for its notes
    with pytest.raises(NoteError, match=r"unknown note file format '\.png'"):
        note_format("take.png")
    with pytest.raises(NoteError, match="unknown note file format"):
        note_format("song.mxl", writing=True)


def test_a_named_format_is_written_whatever_the_extension(tmp_path):
    """``--json notes.out`` writes JSON: a flag names the format, the path is the user's."""
    path = tmp_path / "notes.out"
    assert write_notes(path, NOTES, fmt="JSON", name="take") == "JSON"
    assert json.loads(path.read_text()) == {"take": NOTES.tolist()}
    with pytest.raises(NoteError, match="unknown note format 'PDF'"):
        write_notes(tmp_path / "x.pdf", NOTES, fmt="PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.out"]
