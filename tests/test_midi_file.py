"""MIDI files for musicians: track name, tempo, meter, key, grid and pitch bends, read back with mido."""
import mido
import numpy as np
import pytest

from svt_live.engine.decode import NoteDecoder, note_velocity
from svt_live.io.annotations import load_midi_notes
from svt_live.io.midifile import TRACK_NAME, write_midi_file
from svt_live.theory.key import Key

NOTES = np.array([[0.03, 0.47, 60.1], [0.52, 0.98, 62.3], [1.01, 1.30, 63.8], [1.52, 2.4, 59.7]])


def _read(path):
    mid = mido.MidiFile(path)
    assert len(mid.tracks) == 1
    return mid, list(mid.tracks[0])


def _abs_ticks(track):
    t, out = 0, []
    for msg in track:
        t += msg.time
        out.append((t, msg))
    return out


def test_header_track_name_tempo_meter_key(tmp_path):
    path = tmp_path / "a.mid"
    write_midi_file(path, NOTES, [90, 91, 92, 93], bpm=96, meter=(3, 4), key=Key(7, "major"))
    mid, track = _read(path)
    meta = {m.type: m for m in track if m.is_meta}
    assert meta["track_name"].name == TRACK_NAME
    assert mido.tempo2bpm(meta["set_tempo"].tempo) == pytest.approx(96)
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (3, 4)
    assert meta["key_signature"].key == "G"
    # real timing survives whatever the tempo
    np.testing.assert_allclose(load_midi_notes(path)[:, :2], NOTES[:, :2], atol=1e-3)
    assert [m.velocity for m in track if m.type == "note_on"] == [90, 91, 92, 93]


@pytest.mark.parametrize("division", [8, 16, 32])
def test_quantized_notes_sit_on_the_grid(tmp_path, division):
    path = tmp_path / "q.mid"
    write_midi_file(path, NOTES, bpm=100, division=division)
    mid, track = _read(path)
    step = mid.ticks_per_beat * 4 // division
    ticks = [t for t, m in _abs_ticks(track) if m.type in ("note_on", "note_off")]
    assert ticks and all(t % step == 0 for t in ticks)
    back = load_midi_notes(path)
    assert len(back) == len(NOTES)
    beat = 60 / 100
    np.testing.assert_allclose(back[:, 0], np.round(NOTES[:, 0] / (beat * 4 / division)) * beat * 4 / division,
                               atol=1e-6)


def test_pitch_bends_carry_the_cents_with_rpn_range(tmp_path):
    path = tmp_path / "b.mid"
    write_midi_file(path, NOTES, pitch_bends=True)
    _, track = _read(path)
    cc = [(m.control, m.value) for m in track if m.type == "control_change"]
    assert cc == [(101, 0), (100, 0), (6, 2), (38, 0), (101, 127), (100, 127)]
    events = _abs_ticks(track)
    # each note_on is preceded (same tick or earlier) by the bend of its own offset from the key number
    bend, sung = None, iter(NOTES[:, 2])
    for _, m in events:
        if m.type == "pitchwheel":
            bend = m.pitch
        if m.type == "note_on":
            assert bend == round((next(sung) - m.note) / 2 * 8192)
    assert [m.note for _, m in events if m.type == "note_on"] == [60, 62, 64, 60]
    assert [m for _, m in events if m.type == "pitchwheel"][-1].pitch == 0  # reset after the last note


def test_contour_bends_follow_the_sung_pitch(tmp_path):
    path = tmp_path / "c.mid"
    times = np.arange(0.03, 0.47, 0.02)
    contour = 60 + 0.5 * np.sin(np.linspace(0, np.pi, len(times)))  # up to +50 cents and back
    write_midi_file(path, NOTES[:1], pitch_bends=True, contours=[(times, contour)])
    _, track = _read(path)
    bends = [m.pitch for m in track if m.type == "pitchwheel"]
    assert len(bends) > 5 and abs(max(bends) - 0.5 / 2 * 8192) < 20 and bends[-1] == 0


def test_tuning_moves_the_note_numbers(tmp_path):
    path = tmp_path / "t.mid"
    write_midi_file(path, [[0, 1, 60.45]], tuning_cents=-20, pitch_bends=True)
    _, track = _read(path)
    assert [m.note for m in track if m.type == "note_on"] == [61]
    assert [m.pitch for m in track if m.type == "pitchwheel"][0] == round(-0.55 / 2 * 8192)


def test_decoder_velocity_is_the_note_on_velocity():
    """One velocity rule: the closed notes carry exactly the velocity their NoteOn had."""
    dec = NoteDecoder()
    post = {"onset": np.array([0, .9, 0, 0, 0, 0, .6, 0, 0, 0]), "offset": np.zeros(10),
            "voiced": np.ones(10), "pitch": np.full(10, 60.0)}
    events = dec.push(post) + dec.flush()
    ons = [e.velocity for e in events if type(e).__name__ == "NoteOn"]
    assert ons == dec.velocities.tolist() == [note_velocity(.9), note_velocity(.6)]


def test_inferred_tempo_map_and_meter_line_up_with_the_notes(tmp_path):
    """svt_live.write's MIDI file: a set_tempo per tempo change, the meter, notes at their real times,
    and the lead sheet's bar lines on the file's bar lines."""
    from test_musicxml import TUNE, performed

    import svt_live
    from svt_live.theory.leadsheet import infer_lead_sheet

    notes, starts_q = performed(TUNE, qpm=132)
    path = tmp_path / "t.mid"
    svt_live.write(notes, path)
    _, track = _read(path)
    tempos = [m for m in track if m.type == "set_tempo"]
    assert len(tempos) > 5  # the tempo follows the singer
    ts = next(m for m in track if m.type == "time_signature")
    assert (ts.numerator, ts.denominator) == (3, 4)
    back = load_midi_notes(path)
    np.testing.assert_allclose(back[:, :2], notes[:, :2], atol=1e-3)
    onsets_q = np.array([t for t, m in _abs_ticks(track) if m.type == "note_on" and m.velocity]) / 960
    # bar 1 starts after the pickup's two eighths: its first note sits on a bar line (3 quarters), within jitter
    assert abs(onsets_q[2] / 3 - round(onsets_q[2] / 3)) < 0.1
    sheet = infer_lead_sheet(notes)
    np.testing.assert_allclose(sheet.rhythm.onset_q - sheet.rhythm.onset_q[0], starts_q)
