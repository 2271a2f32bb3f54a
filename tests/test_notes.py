"""svt_live.notes: validation drops invalid notes with a counted warning, sorts, names notes."""
import numpy as np
import pytest

from svt_live.notes import NoteError, format_notes, note_name, validate_notes

GOOD = [[0.0, 0.5, 60.0], [0.5, 1.0, 62.5], [1.2, 1.3, 108.0]]


def test_valid_notes_pass_silently(recwarn):
    notes, rep = validate_notes(GOOD)
    np.testing.assert_array_equal(notes, GOOD)
    assert notes.dtype == np.float64
    assert rep.kept == 3 and rep.dropped == 0 and not rep.was_unsorted
    assert len(recwarn) == 0


def test_invalid_notes_dropped_and_counted_in_one_warning():
    bad = [[1.0, 1.0, 60.0],           # onset == offset
           [2.0, 1.5, 60.0],           # onset > offset
           [np.nan, 1.0, 60.0],        # NaN
           [0.1, np.inf, 60.0],        # inf
           [-0.2, 0.3, 60.0],          # negative
           [3.0, 3.5, 20.0],           # SSVD's impossible low pitch
           [4.0, 4.5, 119.3]]          # and high one
    with pytest.warns(UserWarning) as rec:
        notes, rep = validate_notes(GOOD + bad, source="song.txt")
    np.testing.assert_array_equal(notes, GOOD)
    assert (rep.onset_not_before_offset, rep.not_finite, rep.negative_time, rep.pitch_out_of_range) == (2, 2, 1, 2)
    assert rep.dropped == 7 and rep.kept == 3
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert msg.startswith("song.txt: dropped 7 invalid note(s)")
    for part in ("not finite: 2", "negative time: 1", "onset not before offset: 2", "pitch out of range: 2"):
        assert part in msg


def test_unsorted_notes_sorted_with_warning():
    with pytest.warns(UserWarning, match="x.json: notes were not sorted by onset; sorted them"):
        notes, rep = validate_notes(GOOD[::-1], source="x.json")
    np.testing.assert_array_equal(notes, GOOD)
    assert rep.was_unsorted and rep.dropped == 0


def test_warn_false_is_silent_but_still_reports(recwarn):
    notes, rep = validate_notes([[1, 0, 60], [0, 1, 60]], warn=False)
    assert len(notes) == 1 and rep.onset_not_before_offset == 1
    assert len(recwarn) == 0


@pytest.mark.parametrize("bad", [[[0.0, 1.0]], [0.0, 1.0, 60.0], [[0.0, 1.0, 60.0, 1.0]], [["a", 1, 2]],
                                 [[0, 1, 60], [0, 1]]])
def test_wrong_shape_raises_note_error(bad):
    with pytest.raises(NoteError, match="^src: notes must be rows of"):
        validate_notes(bad, source="src")


def test_empty_is_fine():
    notes, rep = validate_notes([])
    assert notes.shape == (0, 3) and rep.kept == 0


@pytest.mark.parametrize("midi, name", [(60, "C4"), (69.2, "A4"), (61, "C#4"), (21, "A0"), (59.6, "C4")])
def test_note_name(midi, name):
    assert note_name(midi) == name


def test_format_notes_table():
    lines = format_notes(np.array(GOOD)).splitlines()
    assert len(lines) == 4 and lines[1].split() == ["0.000", "0.500", "60.00", "C4"]
