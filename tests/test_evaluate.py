"""svt_live.evaluate: scores agree with mir_eval; tolerances; per-song mean vs pooled."""
import warnings

import numpy as np
import pytest
from mir_eval import transcription

from svt_live.evaluate import evaluate_notes, evaluate_songs, format_table, match_counts, prf

REF = np.array([[0.50, 1.00, 60.0], [1.00, 1.50, 62.0], [2.00, 3.00, 64.0], [3.20, 3.40, 65.0],
                [4.00, 4.50, 67.0]])
EST = np.array([[0.52, 1.02, 60.2],   # all three measures
                [1.03, 1.20, 62.0],   # onset + pitch; offset 300 ms early -> not COnPOff
                [2.04, 3.00, 65.0],   # onset only: a semitone off
                [3.90, 4.40, 67.0],   # 100 ms early: no match at 50 ms
                [5.00, 5.50, 70.0]])  # spurious


def hz(midi):
    return 440.0 * 2 ** ((np.asarray(midi) - 69) / 12)


def mir_eval_scores(ref, est, tol=0.05):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        args = (ref[:, :2], hz(ref[:, 2]), est[:, :2], hz(est[:, 2]))
        off = transcription.precision_recall_f1_overlap(*args, onset_tolerance=tol, pitch_tolerance=50.0,
                                                        offset_ratio=0.2, offset_min_tolerance=0.05)[:3]
        onp = transcription.precision_recall_f1_overlap(*args, onset_tolerance=tol, pitch_tolerance=50.0,
                                                        offset_ratio=None)[:3]
        n_on = len(transcription.match_note_onsets(ref[:, :2], est[:, :2], onset_tolerance=tol)) if len(ref) and len(
            est) else 0
    con = prf(n_on, len(ref), len(est))
    return {"COnPOff": off, "COnP": onp, "COn": con}


@pytest.mark.parametrize("tol", [0.05, 0.1])
def test_score_agrees_with_mir_eval(tol):
    ours = evaluate_notes(REF, EST, tol)
    theirs = mir_eval_scores(REF, EST, tol)
    for m in ours:
        np.testing.assert_allclose(ours[m], theirs[m], atol=1e-12, err_msg=m)


def test_hand_counted_matches():
    c = match_counts(REF, EST)
    assert c == {"n_ref": 5, "n_est": 5, "COn": 3, "COnP": 2, "COnPOff": 1}
    assert match_counts(REF, EST, 0.1)["COn"] == 4  # the 100 ms early note now counts


def test_score_agrees_with_mir_eval_on_random_notes(rng):
    on = np.sort(rng.uniform(0, 20, 30))
    ref = np.stack([on, on + rng.uniform(0.1, 0.6, 30), rng.integers(50, 70, 30).astype(float)], 1)
    est = ref + np.stack([rng.normal(0, 0.04, 30), rng.normal(0, 0.08, 30), rng.normal(0, 0.3, 30)], 1)
    est[:, 1] = np.maximum(est[:, 1], est[:, 0] + 0.05)
    est = est[rng.permutation(30)[:25]]
    est = est[np.argsort(est[:, 0])]
    ours, theirs = evaluate_notes(ref, est), mir_eval_scores(ref, est)
    for m in ours:
        np.testing.assert_allclose(ours[m], theirs[m], atol=1e-12, err_msg=m)
    assert 0 < ours["COnPOff"][2] < ours["COnP"][2] <= ours["COn"][2] < 1


@pytest.mark.parametrize("ref, est", [(REF, np.zeros((0, 3))), (np.zeros((0, 3)), EST),
                                      (np.zeros((0, 3)), np.zeros((0, 3)))])
def test_empty_cases_score_zero_like_mir_eval(ref, est):
    ours = evaluate_notes(ref, est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = transcription.precision_recall_f1_overlap(ref[:, :2], hz(ref[:, 2]), est[:, :2], hz(est[:, 2]))[:3]
    assert ours["COnPOff"] == tuple(theirs) == (0.0, 0.0, 0.0)
    assert all(v == (0.0, 0.0, 0.0) for v in ours.values())


def test_onset_tolerance_50_vs_100_ms_on_a_note_70_ms_late():
    ref = np.array([[1.0, 1.5, 60.0]])
    est = np.array([[1.07, 1.5, 60.0]])
    assert evaluate_notes(ref, est, 0.05)["COn"] == (0.0, 0.0, 0.0)
    assert evaluate_notes(ref, est, 0.1)["COn"] == (1.0, 1.0, 1.0)
    assert evaluate_notes(ref, est, 0.1)["COnPOff"] == (1.0, 1.0, 1.0)


def test_pitch_tolerance_is_50_cents():
    ref = np.array([[1.0, 1.5, 60.0]])
    assert evaluate_notes(ref, np.array([[1.0, 1.5, 60.49]]))["COnP"][2] == 1.0
    assert evaluate_notes(ref, np.array([[1.0, 1.5, 60.51]]))["COnP"][2] == 0.0


def test_per_song_mean_and_pooled_differ():
    good = np.array([[0.5, 1.0, 60.0]])
    many = np.array([[i, i + 0.5, 62.0] for i in range(1, 10)])
    res = evaluate_songs({"a": (good, good), "b": (many, many + [0.2, 0.2, 0])})
    assert res["songs"]["a"]["COn"] == (1.0, 1.0, 1.0)
    assert res["songs"]["b"]["COn"] == (0.0, 0.0, 0.0)
    assert res["mean"]["COn"] == pytest.approx((0.5, 0.5, 0.5))   # each song weighs the same
    assert res["pooled"]["COn"] == pytest.approx((0.1, 0.1, 0.1))  # each note weighs the same


def test_evaluate_songs_with_one_song_equals_score_and_table_lists_it():
    res = evaluate_songs({"s1": (REF, EST)})
    assert res["mean"] == res["pooled"] == evaluate_notes(REF, EST)
    table = format_table(res, "title")
    assert table.splitlines()[0] == "title" and "s1" in table
    assert f"{100 * res['songs']['s1']['COn'][2]:.1f}" in table
