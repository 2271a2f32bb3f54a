"""svt_train.cache: hits, misses on changed audio / settings / notes, and rebuilt corrupt entries."""
import warnings

import numpy as np
import pytest
from synth import harmonic_tones, write_wav

from svt_live.engine.features import FeatureConfig
from svt_train import cache as cache_mod
from svt_train.cache import load_cached
from svt_train.datasets import Song, speed_variant
from svt_train.labels import LABEL_KEYS

NOTES = np.array([[0.1, 0.5, 60.0], [0.6, 0.9, 67.0]])
CFG = FeatureConfig()


@pytest.fixture
def song(tmp_path):
    return Song("s", write_wav(tmp_path / "s.wav", harmonic_tones(NOTES, 1.0)), NOTES.copy())


def entries(cache_dir):
    return sorted(p.name for p in cache_dir.iterdir())


def no_decoding(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("decoded audio on what should be a cache hit")
    monkeypatch.setattr(cache_mod, "load_audio", refuse)


def test_first_load_computes_and_stores(song, tmp_path):
    c = load_cached(song, CFG, tmp_path / "cache")
    assert c.id == "s"
    assert c.mel.shape == (16000 // 320 + 1, 256) and c.mel.dtype == np.float16
    assert set(c.labels) == set(LABEL_KEYS) and all(len(v) == c.mel.shape[0] for v in c.labels.values())
    assert c.labels["onset"][[5, 30]].tolist() == [1, 1]
    names = entries(tmp_path / "cache")
    assert len(names) == 2 and names[0].endswith(".labels.npz") and names[1].endswith(".mel.npy")


def test_second_load_hits_the_cache(song, tmp_path, monkeypatch):
    first = load_cached(song, CFG, tmp_path / "cache")
    no_decoding(monkeypatch)
    second = load_cached(song, CFG, tmp_path / "cache")
    assert isinstance(second.mel, np.memmap)
    np.testing.assert_array_equal(second.mel, first.mel)
    for k in LABEL_KEYS:
        np.testing.assert_array_equal(second.labels[k], first.labels[k])
    assert len(entries(tmp_path / "cache")) == 2


def test_changed_audio_misses(song, tmp_path):
    first = load_cached(song, CFG, tmp_path / "cache")
    write_wav(song.audio, harmonic_tones(NOTES + [0, 0, 2], 1.0))  # same notes, other audio
    second = load_cached(song, CFG, tmp_path / "cache")
    assert len(entries(tmp_path / "cache")) == 4
    assert not np.array_equal(second.mel, first.mel)


def test_changed_feature_config_misses(song, tmp_path):
    load_cached(song, CFG, tmp_path / "cache")
    other = load_cached(song, FeatureConfig(n_mels=128), tmp_path / "cache")
    assert other.mel.shape[1] == 128
    load_cached(song, FeatureConfig(fmin=40.0), tmp_path / "cache")
    assert len(entries(tmp_path / "cache")) == 6


def test_changed_notes_miss(song, tmp_path):
    load_cached(song, CFG, tmp_path / "cache")
    song.notes[0, 1] = 0.4
    c = load_cached(song, CFG, tmp_path / "cache")
    assert len(entries(tmp_path / "cache")) == 4
    assert c.labels["offset"][20] == 1


@pytest.mark.parametrize("which", [".mel.npy", ".labels.npz"])
def test_truncated_entry_is_detected_and_rebuilt(song, tmp_path, which):
    first = load_cached(song, CFG, tmp_path / "cache")
    mel = np.array(first.mel)
    path = next((tmp_path / "cache").glob(f"*{which}"))
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.warns(UserWarning, match="s.wav is corrupt; rebuilding it"):
        again = load_cached(song, CFG, tmp_path / "cache")
    np.testing.assert_array_equal(again.mel, mel)
    assert path.stat().st_size == len(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # healthy again: a clean hit
        load_cached(song, CFG, tmp_path / "cache")


def test_entry_with_wrong_shape_is_rebuilt(song, tmp_path):
    load_cached(song, CFG, tmp_path / "cache")
    path = next((tmp_path / "cache").glob("*.mel.npy"))
    np.save(path, np.zeros((3, 256), np.float16))  # readable, but not as long as the labels
    with pytest.warns(UserWarning, match="corrupt"):
        c = load_cached(song, CFG, tmp_path / "cache")
    assert c.mel.shape[0] == 51


def _fill_cache_in_lockstep(song, cache_dir, barrier, results):
    """Child process: compute the entry, then wait for the other process before renaming it into place."""
    import os

    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith(".mel.npy"):
            barrier.wait(timeout=60)  # both processes have written their temporary files
        real_replace(src, dst)

    os.replace = replace  # this child process only
    try:
        c = load_cached(song, CFG, cache_dir)
        results.put(("ok", np.asarray(c.mel).tobytes()))
    except Exception as exc:  # reported to the parent
        results.put(("error", repr(exc)))


def test_two_processes_filling_a_cold_cache_at_once(song, tmp_path):
    """What two DDP ranks do on their first epoch: both miss, both write, both rename."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_fill_cache_in_lockstep, args=(song, tmp_path / "cache", barrier, results))
             for _ in range(2)]
    for p in procs:
        p.start()
    got = [results.get(timeout=90) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert [status for status, _ in got] == ["ok", "ok"], got
    assert got[0][1] == got[1][1]
    assert len(entries(tmp_path / "cache")) == 2  # no temporary files left behind
    hit = load_cached(song, CFG, tmp_path / "cache")
    assert np.asarray(hit.mel).tobytes() == got[0][1]


def test_speed_variant_audio_matches_its_shifted_notes(song, tmp_path):
    """A +2 semitone tape-speed copy: its features match audio synthesised directly at the moved
    notes (pitch + 2, times / speed), and its labels follow the moved notes."""
    up = speed_variant(song, 2.0)
    assert up.speed == pytest.approx(2 ** (2 / 12), rel=1e-4) and up.id == "s@+2st"
    np.testing.assert_allclose(up.notes, NOTES * [1 / up.speed, 1 / up.speed, 1] + [0, 0, 12 * np.log2(up.speed)])
    got = load_cached(up, CFG, tmp_path / "cache")
    direct = Song("d", write_wav(tmp_path / "d.wav", harmonic_tones(up.notes, 1.0 / up.speed)), up.notes)
    want = load_cached(direct, CFG, tmp_path / "cache")
    voiced = want.labels["pitch"] > 0
    assert abs(len(got.mel) - len(want.mel)) <= 1 and voiced.sum() > 20
    n = min(len(got.mel), len(want.mel))
    np.testing.assert_array_equal(got.labels["onset"][:n], want.labels["onset"][:n])
    # the loudest mel bin of each voiced frame (the fundamental) is where direct synthesis puts it
    peak_got, peak_want = (np.asarray(m[:n][voiced[:n]], np.float32).argmax(1) for m in (got.mel, want.mel))
    assert np.mean(np.abs(peak_got - peak_want) <= 1) > 0.9
    orig = load_cached(song, CFG, tmp_path / "cache")
    assert np.mean(np.asarray(orig.mel[:n][voiced[:n]], np.float32).argmax(1) == peak_want) < 0.5
    assert len(entries(tmp_path / "cache")) == 6  # the copy has its own entry beside the original's
