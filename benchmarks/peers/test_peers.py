"""Checks of the peers' pure-numpy post-processing (no peer packages needed).

Part of the test suite (pyproject's testpaths); skipped where scipy, which the pYIN
post-processing uses, is absent.
"""
import numpy as np
import pytest

pytest.importorskip("scipy")

from benchmarks.peers.basic_pitch_peer import monophonic  # noqa: E402
from benchmarks.peers.peer_store import notes_to_rows, rows_to_notes  # noqa: E402
from benchmarks.peers.pyin_peer import PyinParams, segment, split_run, voiced_runs  # noqa: E402


def test_monophonic_keeps_strongest_and_trims():
    # (onset s, offset s, MIDI, amplitude)
    notes = np.array([[0.0, 1.0, 60, 0.9],    # strong
                      [0.05, 0.9, 72, 0.4],   # octave ghost starting inside it: dropped
                      [0.8, 1.5, 62, 0.5],    # starts inside the strong note: dropped
                      [1.2, 2.0, 64, 0.3],    # free onset, kept whole
                      [1.9, 2.5, 65, 0.8]])   # strong, overlaps the previous one's tail
    out = monophonic(notes)
    assert out.shape == (3, 3)
    np.testing.assert_allclose(out, [[0.0, 1.0, 60], [1.2, 1.9, 64], [1.9, 2.5, 65]])


def test_monophonic_empty_and_min_duration():
    assert monophonic(np.zeros((0, 4))).shape == (0, 3)
    notes = np.array([[0.0, 1.0, 60, 0.9], [0.98, 1.5, 61, 0.2], [0.5, 1.01, 50, 0.1]])
    # the weak note at 0.5 starts inside the strong one: dropped; 0.98 starts inside too
    np.testing.assert_allclose(monophonic(notes), [[0.0, 1.0, 60]])


def test_voiced_runs_bridges_short_gaps():
    midi = np.array([np.nan, 60, 60, np.nan, 60, np.nan, np.nan, 62, 62])
    assert voiced_runs(midi, 0) == [(1, 3), (4, 5), (7, 9)]
    assert voiced_runs(midi, 1) == [(1, 5), (7, 9)]
    assert voiced_runs(midi, 2) == [(1, 9)]
    assert voiced_runs(np.full(4, np.nan)) == []


def test_split_run_needs_a_stable_jump():
    pitch = np.r_[np.full(20, 60.0), [62.0, 62.0], np.full(10, 60.0), np.full(20, 64.0)]
    # a 2-frame excursion does not split; the stable jump to 64 does, at its first frame
    assert split_run(pitch, 0.7, 4) == [(0, 32), (32, 52)]


def test_segment_notes_and_pitch():
    p = PyinParams(hop=160, sample_rate=16000, min_duration=0.08)
    midi = np.r_[np.full(5, np.nan), np.full(30, 60.2), np.full(30, 64.9), np.full(5, np.nan),
                 np.full(4, 70.0), np.full(5, np.nan)]   # last run is 40 ms: dropped
    notes = segment(midi, p)
    np.testing.assert_allclose(notes, [[0.05, 0.35, 60.2], [0.35, 0.65, 64.9]], atol=1e-9)


def test_rows_round_trip():
    notes = np.array([[1.0, 2.0, 60.5], [0.5, 0.7, 59.0]])
    back = rows_to_notes(notes_to_rows(notes))
    np.testing.assert_allclose(back, notes[[1, 0]])
    assert rows_to_notes([]).shape == (0, 3)
