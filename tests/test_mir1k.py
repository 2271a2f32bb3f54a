"""svt_train.mir1k: a synthetic MIR-1K tree (band left, voice right, .pv frame pitch), its labels,
its mixes, the masked boundary losses, and a tiny training run that uses it."""
import numpy as np
import pytest
import torch
from synth import encode, harmonic_tones, tiny_training_setup

from svt_live.engine.features import FeatureConfig
from svt_live.models import build_model
from svt_train.cache import load_cached
from svt_train.datasets import load_groups, load_set, speed_variant
from svt_train.fit import fit, prepare
from svt_train.losses import CRNNLoss
from svt_train.mir1k import SPLITS, contour_labels, load_stems, mir1k, read_contour

VOICE = [[0.2, 0.8, 57.0], [1.0, 1.6, 60.3]]
BAND = [[0.0, 2.0, 45.0]]


def fake_mir1k(root, singers=("leon", "khair", "abjones"), duration=2.0):
    """One clip per singer: 2 s, the band (MIDI 45) left, the voice (VOICE) right, and its .pv."""
    (root / "Wavfile").mkdir(parents=True)
    (root / "PitchLabel").mkdir()
    voice, band = harmonic_tones(VOICE, duration), 0.5 * harmonic_tones(BAND, duration)
    n_pv = int(round(duration / 0.02)) - 1
    t = 0.02 * np.arange(n_pv) + 0.02  # .pv frame centres
    pv = np.zeros(n_pv)
    for on, off, midi in VOICE:
        pv[(t >= on) & (t < off)] = midi
    for s in singers:
        encode(root / "Wavfile" / f"{s}_1_01.wav", np.stack([band, voice], axis=1), codec="pcm_s16le")
        np.savetxt(root / "PitchLabel" / f"{s}_1_01.pv", pv, fmt="%.4f")
    return root


def test_splits_are_by_singer_and_disjoint():
    assert not set(SPLITS["train"]) & set(SPLITS["test"] + SPLITS["valid"])
    assert len(SPLITS["test"]) >= 3 and len(SPLITS["valid"]) >= 1
    assert len(set(SPLITS["train"] + SPLITS["test"] + SPLITS["valid"])) == 19


def test_read_contour_fills_short_gaps_only(tmp_path):
    pv = tmp_path / "x.pv"
    pv.write_text("0\n60\n0\n0\n62\n0\n0\n0\n0\n64\n")
    c = read_contour(pv)
    assert c[:, 0] == pytest.approx(0.02 + 0.02 * np.arange(10))
    assert c[2:4, 1] == pytest.approx([60 + 2 / 3, 60 + 4 / 3])  # a 2-frame gap is interpolated
    assert (c[5:9, 1] == 0).all()  # a 4-frame gap stays unvoiced
    assert c[0, 1] == 0


def test_contour_labels_pitch_and_unknown_boundaries():
    contour = np.array([[0.02, 0.0], [0.04, 57.2], [0.06, 57.4], [0.08, 0.0]])
    lab = contour_labels(contour, 8)
    assert (lab["onset"] == -1).all() and (lab["offset"] == -1).all()
    assert lab["pitch"][:5].tolist() == pytest.approx([0, 0, 57.2, 57.4, 0])
    assert (lab["pitch"][5:] == 0).all()  # past the contour: silence
    assert lab["pitch_class"][2] == 57 % 12 + 1


def test_reader_mixes_and_copies(tmp_path):
    root = fake_mir1k(tmp_path / "mir1k")
    groups = mir1k(root, "train", voice_db=(0, 10), band_alone=True)
    assert [g[0].id for g in groups] == ["leon_1_01"]  # khair: valid, abjones: test
    song, copies = groups[0]
    assert song.stems == (1.0, 0.0) and [c.stems[1] for c in copies[:2]] == pytest.approx([1.0, 10 ** -0.5])
    assert copies[-1].contour is None and len(copies[-1].notes) == 0  # band alone: real silence labels
    voice = load_stems(song.audio, 16000, song.stems)
    band = load_stems(song.audio, 16000, copies[-1].stems)
    at_0db = load_stems(song.audio, 16000, copies[0].stems)
    band_part = at_0db - voice  # the band, brought to the voice's power (0 dB)
    assert np.mean(band_part ** 2) == pytest.approx(np.mean(voice ** 2), rel=1e-3)
    assert np.abs(voice[int(0.5 * 16000):int(0.7 * 16000)]).max() > 0.1  # the voice sings at 0.5 s
    assert np.abs(voice[int(0.85 * 16000):int(0.95 * 16000)]).max() < 1e-3  # and rests at 0.9 s
    assert np.abs(band[int(0.85 * 16000):int(0.95 * 16000)]).max() > 0.05  # where the band plays
    cached = load_cached(song, FeatureConfig(), tmp_path / "cache")
    assert (cached.labels["onset"] == -1).all() and cached.labels["pitch"][30] == pytest.approx(57.0)
    assert load_cached(copies[-1], FeatureConfig(), tmp_path / "cache").labels["pitch"].max() == 0
    with pytest.raises(ValueError, match="split"):
        mir1k(root, "dev")
    with pytest.raises(FileNotFoundError, match="no MIR-1K extract"):
        mir1k(tmp_path, "train")
    with pytest.raises(ValueError, match="voice_db"):
        load_groups({"kind": "mir1k", "path": str(root), "voice_db": [100]})


def test_speed_copy_moves_the_contour(tmp_path):
    song = mir1k(fake_mir1k(tmp_path / "m"), "train")[0][0]
    up = speed_variant(song, 12)
    assert up.speed == pytest.approx(2.0)
    assert up.contour[:, 0] == pytest.approx(song.contour[:, 0] / 2)
    voiced = song.contour[:, 1] > 0
    assert up.contour[voiced, 1] == pytest.approx(song.contour[voiced, 1] + 12)
    assert (up.contour[~voiced, 1] == 0).all()


def test_boundary_losses_skip_unknown_frames():
    model = build_model("singing_crnn")
    loss = CRNNLoss(model)
    out = {"onset": torch.randn(2, 20), "offset": torch.randn(2, 20), "pitch": torch.randn(2, 20, 1 + model.n_bins)}
    known = {"onset": torch.zeros(2, 20), "offset": torch.zeros(2, 20), "pitch": torch.full((2, 20), 60.0)}
    unknown = dict(known, onset=torch.full((2, 20), -1.0), offset=torch.full((2, 20), -1.0))
    a, b = loss(out, known), loss(out, unknown)
    assert b["onset"] == 0 and b["offset"] == 0 and a["onset"] > 0
    assert b["pitch"] == pytest.approx(float(a["pitch"]))  # pitch is supervised all the same
    half = dict(unknown, onset=torch.cat([torch.zeros(1, 20), -torch.ones(1, 20)]))
    only_first = loss({k: v[:1] for k, v in out.items()}, {k: v[:1] for k, v in known.items()})
    assert loss(out, half)["onset"] == pytest.approx(float(only_first["onset"]), rel=1e-5)


def test_prepare_orders_copies_after_songs(tmp_path):
    root = fake_mir1k(tmp_path / "m", singers=("leon", "bug"))
    specs = [{"kind": "mir1k", "path": str(root), "voice_db": [0], "pitch_shifts": False}]
    songs, cached, variants, sets = prepare(specs, FeatureConfig(), ".", tmp_path / "cache", "t", [2])
    assert [s.id for s in songs] == ["bug_1_01", "leon_1_01", "bug_1_01@+0dB", "leon_1_01@+0dB"]
    assert variants == {0: [2], 1: [3]} and sets == [0, 0, 0, 0]


def test_tiny_fit_with_mir1k_clips(tmp_path):
    config = tiny_training_setup(tmp_path, model="singing_crnn")
    root = fake_mir1k(tmp_path / "mir1k")
    text = config.read_text().replace(
        'train = [{ kind = "folder", path = "train" }]',
        f'train = [{{ kind = "folder", path = "train" }}, {{ kind = "mir1k", path = "{root.as_posix()}", '
        f'voice_db = [0], band_alone = true }}]')
    config.write_text(text.replace("epochs = 2", "epochs = 1") + "select_per_set = true\n")
    best = fit(config, tmp_path / "run", cache_dir=tmp_path / "cache")
    assert best.exists()
    assert load_set({"kind": "mir1k", "path": str(root), "split": "test"})[0].id == "abjones_1_01"


def test_sure_notes_keeps_what_the_model_and_the_pv_agree_on():
    """Five notes, each failing one rule but the first; the kept one is pitched by the .pv's median."""
    from svt_train.mir1k import sure_notes

    sung = np.zeros(100)
    sung[0:10] = 60.2 + 0.1 * np.sin(np.arange(10))  # steady, as the model heard it
    sung[20:30] = 63.0  # the model says 62.3: too far
    sung[40:45], sung[45:50] = 54.5, 57.5  # two notes in one
    sung[60:65] = 60.0  # only half voiced
    sung[80:90] = 50.0  # voiced, but the model is unsure
    post = {"onset": np.full(100, 0.9), "voiced": np.full(100, 0.95), "pitch": np.zeros(100)}
    post["voiced"][80:90] = 0.5
    notes = np.array([[0.0, 0.2, 60.0], [0.4, 0.6, 62.3], [0.8, 1.0, 56.0], [1.2, 1.4, 60.0], [1.6, 1.8, 50.0]])
    kept = sure_notes(notes, post, sung)
    assert kept.shape == (1, 3) and kept[0, :2] == pytest.approx([0.0, 0.2])
    assert kept[0, 2] == pytest.approx(np.median(sung[0:10]))
    post["onset"][:] = 0.2  # no onset peak: nothing is sure
    assert len(sure_notes(notes, post, sung)) == 0


def test_voice_labels_give_full_note_labels_and_mask_the_unsure_voiced_frames():
    from svt_train.mir1k import UNSURE_MARGIN_FRAMES, voice_labels

    t = 0.02 + 0.02 * np.arange(99)
    contour = np.stack([t, np.where((t >= 0.2) & (t < 0.6), 57.1, np.where((t >= 1.0) & (t < 1.4), 62.0, 0.0))], 1)
    lab = voice_labels(np.array([[0.2, 0.6, 57.0]]), contour, 100)  # the second note was not kept
    assert lab["onset"][10] == 1 and lab["offset"][30] == 1 and lab["pitch"][15] == pytest.approx(57.0)
    assert (lab["onset"][:10] == 0).all() and (lab["onset"][31:50 - UNSURE_MARGIN_FRAMES] == 0).all()
    unsure = slice(50 - UNSURE_MARGIN_FRAMES, 70 + UNSURE_MARGIN_FRAMES)
    assert (lab["onset"][unsure] == -1).all() and (lab["offset"][unsure] == -1).all()
    assert lab["pitch"][55] == pytest.approx(62.0) and lab["pitch_class"][55] == 62 % 12 + 1
    assert (lab["onset"][80:] == 0).all() and (lab["pitch"][80:] == 0).all()
    assert (voice_labels(np.zeros((0, 3)), contour, 100)["onset"] == -1).all()  # no notes: contour labels


def test_mir1k_notes_command_writes_kept_notes_that_a_spec_trains_on(tmp_path, capsys):
    """svt-train mir1k-notes transcribes the voice with the bundled model; the spec's notes reach the
    voice and its mixes (full note labels in the cache), never the band alone; a second run refuses
    to overwrite."""
    import json

    from svt_train.cli import main

    root = fake_mir1k(tmp_path / "mir1k")
    out = tmp_path / "notes"
    assert main(["mir1k-notes", "singing_crnn", "--mir1k", str(root), "--out", str(out)]) == 0
    notes = json.loads((out / "notes.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    assert list(notes) == ["leon_1_01"] and summary["clips"] == 1 and summary["model"] == "singing_crnn"
    assert summary["kept_notes"] == len(notes["leon_1_01"]) >= 1 and summary["rule"]["SURE_PITCH_GAP"] == 0.5
    for on, _off, midi in notes["leon_1_01"]:  # pitched by the .pv: exactly a sung pitch
        assert any(abs(on - a) < 0.1 and midi == pytest.approx(p, abs=0.01) for a, _, p in VOICE)
    assert "notes kept in 1 of 1 clips" in capsys.readouterr().out
    assert main(["mir1k-notes", "singing_crnn", "--mir1k", str(root), "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    (song, copies), = load_groups({"kind": "mir1k", "path": str(root), "voice_db": [0], "band_alone": True,
                                   "notes": str(out / "notes.json")})
    assert song.notes.tolist() == notes["leon_1_01"] and copies[0].notes.tolist() == notes["leon_1_01"]
    assert len(copies[1].notes) == 0 and copies[1].contour is None
    labels = load_cached(copies[0], FeatureConfig(), tmp_path / "cache").labels
    assert labels["onset"].max() == 1 and (labels["onset"] >= 0).sum() > 0.5 * len(labels["onset"])
