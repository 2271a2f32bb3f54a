"""benchmarks/frame_pitch.py and the peers' frame tracks on a synthetic MIR-1K tree: the scoring on
known tracks (a perfect one, one an octave off), the listening conditions, the cached peers' rows
beside a real model's, and the docstring examples."""
import doctest
import importlib

import numpy as np
import pytest
from test_mir1k import VOICE, fake_mir1k

from benchmarks import frame_pitch
from benchmarks.peers import peer_store as store
from benchmarks.peers.frame_tracks import condition_clips, notes_track
from svt_train.mir1k import SPLITS, load_stems


@pytest.fixture
def tree(tmp_path):
    """One 2 s clip per test singer, plus one of a training singer that the benchmark must leave out."""
    return fake_mir1k(tmp_path / "mir1k", singers=SPLITS["test"] + ("leon",))


def test_a_perfect_track_scores_one_and_an_octave_off_track_only_in_chroma(tree):
    ref = frame_pitch.reference_track(tree / "PitchLabel" / "Ani_1_01.pv")
    assert ref[0, 0] == pytest.approx(0.02) and np.diff(ref[:, 0]) == pytest.approx(0.02)
    times = np.arange(0.0, 2.0, 0.01)  # another grid: resampled onto the reference's
    voiced = np.interp(times, ref[:, 0], ref[:, 1] > 0) == 1
    perfect = np.stack([times, np.where(voiced, np.interp(times, ref[:, 0], ref[:, 1]), 0.0)], axis=1)
    assert frame_pitch.score_track(ref, perfect) == pytest.approx({"RPA": 1.0, "RCA": 1.0, "VR": 1.0, "VFA": 0.0})
    octave = perfect + [0.0, 12.0] * (perfect[:, 1:] > 0)
    assert frame_pitch.score_track(ref, octave) == pytest.approx({"RPA": 0.0, "RCA": 1.0, "VR": 1.0, "VFA": 0.0})
    sharp = perfect + [0.0, 0.6] * (perfect[:, 1:] > 0)  # 60 cents: outside the 50-cent tolerance
    assert frame_pitch.score_track(ref, sharp)["RPA"] == 0.0
    silent = np.stack([times, np.zeros_like(times)], axis=1)
    assert frame_pitch.score_track(ref, silent) == pytest.approx({"RPA": 0.0, "RCA": 0.0, "VR": 0.0, "VFA": 0.0})
    with pytest.raises(ValueError, match="empty"):
        frame_pitch.score_track(ref, np.zeros((0, 2)))


def test_conditions_hear_the_voice_alone_and_over_its_band(tree):
    clips = condition_clips(tree)
    assert list(clips) == list(store.MIR1K_CONDITIONS) == ["voice", "0dB", "-5dB"]
    assert sorted(c.id for c in clips["voice"]) == sorted(f"{s}_1_01" for s in SPLITS["test"])  # leon left out
    voice, at_0, at_5 = (load_stems(clips[k][0].audio, 16000, clips[k][0].stems) for k in clips)
    power = [np.mean((mix - voice) ** 2) / np.mean(voice ** 2) for mix in (at_0, at_5)]
    assert 10 * np.log10(power) == pytest.approx([0.0, 5.0], abs=0.01)  # band power over voice power, dB
    with pytest.raises(FileNotFoundError, match="test singers"):
        condition_clips(tree.parent / "elsewhere")


def test_notes_track_holds_each_note_over_its_frames():
    times = np.arange(0.0, 2.0, 0.01)
    track = notes_track(np.asarray(VOICE), times)
    assert track[(times >= 0.2) & (times < 0.8), 1] == pytest.approx(57.0)
    assert (track[(times >= 0.8) & (times < 1.0), 1] == 0).all()


def test_benchmark_prints_the_models_and_cached_peers_rows(tree, tmp_path, capsys):
    out = tmp_path / "peers_out"
    refs = {f"{s}_1_01": frame_pitch.reference_track(tree / "PitchLabel" / f"{s}_1_01.pv") for s in SPLITS["test"]}
    for condition in store.MIR1K_CONDITIONS:  # pYIN perfect, basic-pitch's contour an octave up, no notes track
        for key, shift in (("pyin_f0", 0.0), ("basic_pitch_contour", 12.0)):
            tracks = {c: store.notes_to_rows(r + [0.0, shift] * (r[:, 1:] > 0)) for c, r in refs.items()}
            store.write_json(store.predictions_path(key, store.mir1k_set(condition), out), tracks)
    store.write_json(store.predictions_path("basic_pitch_notes", store.mir1k_set("voice"), out), {"Ani_1_01": []})

    assert frame_pitch.main(["--models", "base_cnn_mini", "--mir1k", str(tree), "--peers-out", str(out)]) == 0
    printed = capsys.readouterr()
    rows = {tuple(cells[1:3]): [float(x) for x in cells[3:-1]] for line in printed.out.splitlines()
            if len(cells := [c.strip() for c in line.split("|")]) == 11 and cells[1] in store.MIR1K_CONDITIONS}
    for condition in store.MIR1K_CONDITIONS:
        assert rows[(condition, "pYIN")] == [100.0, 100.0, 100.0, 0.0, 100.0, 100.0, 100.0]
        assert rows[(condition, "basic-pitch (contour)")][:4] == [0.0, 100.0, 100.0, 0.0]
        model = rows[(condition, "base_cnn_mini")]
        assert all(0.0 <= x <= 100.0 for x in model) and model[0] <= model[2]  # RPA <= VR: no pitch when unvoiced
    assert "basic-pitch (notes) on voice: no cached track for 2/3 clips" in printed.err
    assert "3 clips" in printed.out


def test_bad_input_is_one_line_and_exit_1(tree, tmp_path, capsys):
    def one_line_error(argv):
        assert frame_pitch.main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith("frame_pitch: ") and "\n" not in err
        return err

    assert "test singers" in one_line_error(["--mir1k", str(tmp_path / "nowhere")])
    assert "nosuch" in one_line_error(["--mir1k", str(tree), "--models", "nosuch"])
    (tree / "Wavfile" / "stool_1_01.wav").write_bytes(b"not audio")
    assert "stool_1_01.wav" in one_line_error(["--mir1k", str(tree), "--models", "base_cnn_mini"])


@pytest.mark.parametrize("name", ["benchmarks.frame_pitch", "benchmarks.peers.frame_tracks",
                                  "benchmarks.peers.peer_store"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
