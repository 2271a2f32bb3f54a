"""MusicXML lead sheets read back with music21: notes on the grid, measures, ties, key, meter, tempo."""
import numpy as np
import pytest

from svt_live.io.musicxml import write_musicxml
from svt_live.theory.key import Key, estimate_key

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


# "Oh my darling, Clementine"-like tune in 3/4, F major, with a one-beat pickup of two eighths:
# (MIDI, quarter notes); the first two notes are the pickup before bar 1.
TUNE = [(65, 0.5), (65, 0.5), (65, 1), (60, 1), (69, 0.5), (69, 0.5), (69, 1), (65, 1), (65, 0.5), (69, 0.5),
        (72, 1.5), (72, 0.5), (70, 0.5), (69, 0.5), (67, 2), (67, 0.5), (69, 0.5), (70, 1), (70, 1), (69, 0.5),
        (67, 0.5), (69, 1), (65, 1), (65, 0.5), (69, 0.5), (67, 1.5), (60, 0.5), (64, 0.5), (67, 0.5), (65, 3)]


def performed(tune, qpm, seed=0, start_s=1.3, drift=0.04, jitter_s=0.02):
    """The tune sung with human timing: drifting tempo, onset jitter, notes held 85 %, pitches off by cents."""
    rng = np.random.default_rng(seed)
    starts_q = np.concatenate([[0], np.cumsum([d for _, d in tune])])
    factor = 1 + drift * np.sin(np.linspace(0, np.pi, len(tune) + 1))  # speeds up, then back
    t = start_s + np.concatenate([[0], np.cumsum(np.diff(starts_q) * 60 / (qpm * factor[:-1]))])
    on = t[:-1] + rng.normal(0, jitter_s, len(tune))
    off = on + (t[1:] - t[:-1]) * 0.85
    return np.column_stack([on, off, [m + rng.uniform(-0.3, 0.3) for m, _ in tune]]), starts_q[:-1]


def test_inferred_lead_sheet_reads_back_as_the_tune(tmp_path):
    """Tempo, meter, pickup, key, note values and positions in the bar come from the performance."""
    import svt_live

    notes, starts_q = performed(TUNE, qpm=132)
    path = tmp_path / "Clementine.musicxml"
    svt_live.write(notes, path)
    text = path.read_text()
    assert "Music21" not in text and "<part-name>Voice</part-name>" in text
    score = music21.converter.parse(str(path))
    assert score.metadata.bestTitle == "Clementine"
    part = score.parts[0]
    mark = part.recurse().getElementsByClass("MetronomeMark")[0]
    assert abs(mark.getQuarterBPM() / 132 - 1) < 0.04
    assert part.recurse().getElementsByClass("TimeSignature")[0].ratioString == "3/4"
    assert part.recurse().getElementsByClass("KeySignature")[0].sharps == -1
    measures = list(part.getElementsByClass("Measure"))
    assert measures[0].paddingLeft == 2.0  # the pickup: one beat, two eighths
    assert "<measure implicit=\"yes\" number=\"0\">" in text
    notes_read = [n for n in part.recurse().notes if not (n.tie and n.tie.type != "start")]
    assert [n.pitch.midi for n in notes_read] == [m for m, _ in TUNE]
    onsets = np.array([n.getOffsetInHierarchy(part) for n in notes_read])
    np.testing.assert_allclose(np.diff(onsets), np.diff(starts_q))
    assert all(n.pitch.accidental is None or n.pitch.name == "B-" for n in notes_read)
    assert text.count("<accidental>") == 0  # B-flat is in the signature
    assert "<beam" in text  # eighths beamed by beat


@pytest.mark.parametrize("key, midi, expected", [
    (Key(0, "major"), [69, 70, 71], ["A", "A#", "B"]),  # up: raised (never C double-flat)
    (Key(0, "major"), [71, 70, 69], ["B", "B-", "A"]),  # down: lowered
    (Key(7, "major"), [74, 75, 76], ["D", "D#", "E"]),
    (Key(5, "major"), [60, 61, 62], ["C", "C#", "D"]),  # in a flat key too (never B double-sharp)
    (Key(3, "major"), [62, 61, 60], ["D", "D-", "C"]),
    (Key(9, "minor"), [69, 68, 69], ["A", "G#", "A"]),  # the leading tone
])
def test_spelling_by_key_and_direction(tmp_path, key, midi, expected):
    path = tmp_path / "s.musicxml"
    write_musicxml(path, [[i * 0.5, i * 0.5 + 0.45, m] for i, m in enumerate(midi)], key=key)
    _, notes = _read(path)
    assert [n.pitch.name for n in notes] == expected
    assert all(n.pitch.accidental is None or abs(n.pitch.accidental.alter) < 2 for n in notes)


def test_key_signature_notes_carry_no_accidental(tmp_path):
    """A D major scale up and down: F# and C# come from the signature, written once each way nowhere."""
    scale = [62, 64, 66, 67, 69, 71, 73, 74, 73, 71, 69, 67, 66, 64, 62]
    path = tmp_path / "d.musicxml"
    write_musicxml(path, [[i * 0.5, i * 0.5 + 0.45, m] for i, m in enumerate(scale)], key=estimate_key(
        [[i, i + 1, m] for i, m in enumerate(scale)]))
    assert path.read_text().count("<accidental>") == 0


@pytest.mark.parametrize("name", ["x.mid", "x.json", "x.csv", "x.txt"])
def test_write_other_formats_by_extension(tmp_path, name):
    import svt_live
    from svt_live.api import Note
    from svt_live.io.annotations import load_notes

    notes, _ = performed(TUNE[:8], qpm=100)
    rows = [Note(a, b, p, 90) for a, b, p in notes]
    path = tmp_path / name
    svt_live.write(rows, path)
    back = load_notes(path) if not name.endswith(".mid") else __import__(
        "svt_live.io.annotations", fromlist=["load_midi_notes"]).load_midi_notes(path)
    np.testing.assert_allclose(back[:, :2], notes[:, :2], atol=1e-3)
    np.testing.assert_array_equal(np.round(back[:, 2]), np.round(notes[:, 2]))


def test_write_refuses_unknown_extension_and_bad_rows(tmp_path):
    import svt_live

    with pytest.raises(ValueError, match="format"):
        svt_live.write([[0, 1, 60]], tmp_path / "x.png")
    with pytest.raises(ValueError, match="offset"):
        svt_live.write([[1, 0.5, 60]], tmp_path / "x.musicxml")
    assert not list(tmp_path.iterdir())


def test_given_tempo_meter_and_key_override(tmp_path):
    import svt_live

    notes, _ = performed(TUNE, qpm=132)
    path = tmp_path / "o.musicxml"
    svt_live.write(notes, path, bpm=66, meter="6/8", key="D minor")
    part, _ = _read(path)
    assert part.recurse().getElementsByClass("MetronomeMark")[0].getQuarterBPM() == pytest.approx(66)
    assert part.recurse().getElementsByClass("TimeSignature")[0].ratioString == "6/8"
    assert part.recurse().getElementsByClass("KeySignature")[0].sharps == -1


@pytest.mark.parametrize("rows", [[], [[0.5, 1.0, 60]], [[0.5, 1.0, 60], [0.5, 0.9, 64]],
                                  [[0, 0.2, 60], [0.1, 0.3, 62], [0.15, 2, 64]], [[0, 1, 60], [30, 31, 62]],
                                  [[0, 1, 60], [0, 1, 62], [0, 1, 64], [0, 1, 65], [0.01, 1, 66]]])
def test_too_few_onsets_for_a_beat_still_write(tmp_path, rows):
    """No notes, one, chords, crowded onsets: a 120 BPM 4/4 sheet (and MIDI file) with every note."""
    import svt_live

    svt_live.write(rows, tmp_path / "x.musicxml")
    svt_live.write(rows, tmp_path / "x.mid")
    part, notes = _read(tmp_path / "x.musicxml")
    assert len([n for n in notes if not (n.tie and n.tie.type != "start")]) == len(rows)
    assert len(mido_notes(tmp_path / "x.mid")) == len(rows)


def mido_notes(path):
    import mido
    return [m for m in mido.MidiFile(path).tracks[0] if m.type == "note_on" and m.velocity]


def _sung(midi, beats, beat_s=0.5):
    """Rows for a melody sung evenly: ``beats`` per note, held 90 %."""
    starts = np.concatenate([[0.0], np.cumsum(beats)[:-1]]) * beat_s
    return [[s, s + b * beat_s * 0.9, m] for s, b, m in zip(starts, beats, midi)]


def test_key_pentatonic_tune_ending_on_its_tonic():
    """E G A B D ending on a long E is E minor (one sharp), not the G major its many Gs and Ds suggest."""
    tune = [64, 67, 69, 71, 74, 71, 69, 67, 62, 67, 69, 71, 67, 69, 67, 62, 64, 67, 64]
    key = estimate_key(_sung(tune, [1] * 18 + [4]))
    assert (key.name, key.sharps) == ("E minor", 1)


def test_key_pentatonic_takes_its_roots_signature():
    """C D E G A is covered by F, C and G major's signatures: written with none (its root C's),
    also when it ends on G."""
    from svt_live.theory.key import pentatonic_root

    tune = [67, 69, 72, 69, 67, 64, 62, 64, 67, 69, 67, 64, 62, 60, 62, 64, 67, 64, 62, 67]
    assert estimate_key(_sung(tune, [1] * 19 + [4])).sharps == 0
    assert pentatonic_root(np.bincount([m % 12 for m in tune], minlength=12).astype(float)) == 0


# A 6/8 jig (MIDI, quarter notes): a one-eighth pickup, quarter-eighth figures, a dotted quarter each second bar.
JIG = [(67, 0.5)] + [(71, 1), (67, .5), (62, 1), (67, .5), (71, .5), (67, .5), (71, .5), (74, 1.5), (72, 1), (69, .5),
                     (66, 1), (69, .5), (72, .5), (69, .5), (72, .5), (76, 1.5)] * 2 + [(71, 1.5), (67, 1.5)]
# A 3/4 waltz with a one-beat pickup.
WALTZ = [(60, 1), (65, 2), (67, 1), (69, 2), (65, 1), (70, 3), (69, 2), (67, 1), (65, 2), (64, 1), (62, 2), (60, 1),
         (65, 3), (65, 2)]
# A reel in 2/4 sixteenths: even notes, two bars repeated, ending on two eighths.
REEL = [(67, .25), (69, .25), (71, .25), (67, .25), (74, .25), (71, .25), (67, .25), (71, .25), (72, .25), (71, .25),
        (69, .25), (67, .25), (66, .25), (67, .25), (69, .25), (66, .25)] * 3 + [(67, .5), (67, .5)]


@pytest.mark.parametrize("qpm", [150, 180])
def test_rhythm_jig_is_six_eight(qpm):
    """Groups of three eighths: 6/8 at the performed tempo, every note value as written."""
    from svt_live.theory.leadsheet import infer_lead_sheet

    notes, starts_q = performed(JIG, qpm=qpm, seed=1)
    r = infer_lead_sheet(notes).rhythm
    assert r.meter == (6, 8) and abs(r.qpm / qpm - 1) < 0.04
    np.testing.assert_allclose(np.diff(r.onset_q), np.diff(starts_q))


@pytest.mark.parametrize("qpm", [90, 120])
def test_rhythm_waltz_with_pickup(qpm):
    """3/4 with the first note a one-beat pickup (two beats missing from the first bar)."""
    from svt_live.theory.leadsheet import infer_lead_sheet

    notes, starts_q = performed(WALTZ, qpm=qpm, seed=2)
    r = infer_lead_sheet(notes).rhythm
    assert r.meter == (3, 4) and abs(r.qpm / qpm - 1) < 0.04 and r.pickup_q == 2.0
    np.testing.assert_allclose(np.diff(r.onset_q), np.diff(starts_q))
    np.testing.assert_allclose(r.onset_q % 3, (starts_q + 2) % 3)


def test_rhythm_reel_in_sixteenths_gets_a_sensible_tempo():
    """Sixteenths at 80 BPM (5.3 notes a second) come out as even notes of one value at a beat
    between 60 and 200 BPM (as eighths at 160, as most players would read a reel), none shorter
    than a sixteenth, the note rate kept."""
    from svt_live.theory.leadsheet import infer_lead_sheet

    notes, _ = performed(REEL, qpm=80, seed=3)
    r = infer_lead_sheet(notes).rhythm
    values = np.diff(r.onset_q)[:-2]
    assert 60 <= r.qpm <= 200 and len(set(np.round(values, 6))) == 1 and values[0] >= 0.25
    assert abs(values[0] * 60 / r.qpm / (0.25 * 60 / 80) - 1) < 0.04


def test_meter_follows_the_tracked_beats_division():
    """Six even eighths a bar fill 6/8 or 3/4 alike: a beat tracked in threes (a dotted quarter) makes 6/8."""
    from svt_live.theory.rhythm import meter_and_downbeat

    pos_q = np.arange(24) * 0.5
    midi = np.array([67, 71, 74, 72, 69, 66] * 4)
    assert meter_and_downbeat(pos_q, pos_q + 0.5, 1.5, midi=midi) == ((6, 8), 0.0)
    assert meter_and_downbeat(pos_q, pos_q + 0.5, 1.0, midi=midi)[0] == (3, 4)


# A 2/4 song from the first downbeat (essenFolksong han1 #3): two eighths then a quarter on beat two, bar after
# bar. Its long notes alone would put the barline before each quarter, which makes a one-beat pickup.
TWO_FOUR = [(74, 1), (69, 1), (74, .5), (74, .5), (69, 1), (74, .5), (69, .5), (74, 1), (67, .5), (64, .5), (62, 1),
            (74, .5), (74, .5), (79, .5), (79, .5), (74, .5), (67, .5), (69, .5), (71, .5), (69, .5), (64, .5),
            (67, .5), (64, .5), (62, 2)]


@pytest.mark.parametrize("qpm,seed", [(100, 4), (140, 5)])
def test_two_four_song_gets_no_half_bar_pickup(tmp_path, qpm, seed):
    """A pickup of half the bar is heard as the bar's strong half: the song read back with music21
    starts on a full first bar in 2/4, the quarters on beat two, every note in its place."""
    import svt_live

    notes, starts_q = performed(TWO_FOUR, qpm=qpm, seed=seed)
    path = tmp_path / "song.musicxml"
    svt_live.write(notes, path)
    part = music21.converter.parse(str(path)).parts[0]
    assert part.recurse().getElementsByClass("TimeSignature")[0].ratioString == "2/4"
    first = part.getElementsByClass("Measure")[0]
    assert float(first.paddingLeft) == 0 and first.highestTime == 2.0
    got = [float(m.offset + n.offset) for m in part.getElementsByClass("Measure") for n in m.notes
           if n.tie is None or n.tie.type == "start"]
    np.testing.assert_allclose(got, starts_q)
