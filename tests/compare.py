"""What "the same notes" means when two paths compute them in a different order.

Two paths over the same audio (streaming and offline, live take and file mode,
the GUI's take and the engine, one worker and several) run the network on
chunks of different sizes, and float32 sums taken in another order differ in
the last bits. So "equal" is stated here once:

- the same number of notes;
- onsets and offsets on the same frames (times within ``TIME_TOL_S``, far less
  than one 20 ms frame: a float rounding, never a frame off);
- pitches within ``PITCH_TOL`` semitones (a thousandth of a semitone, a tenth
  of a cent: far below anything audible or any 50-cent scoring tolerance).

Where bit-identity is the promise (the same computation run twice), tests keep
``np.testing.assert_array_equal``.
"""
from __future__ import annotations

import numpy as np

TIME_TOL_S = 1e-6
PITCH_TOL = 1e-3


def assert_same_notes(actual, expected, *, time_tol_s: float = TIME_TOL_S, pitch_tol: float = PITCH_TOL) -> None:
    """Assert two ``[n, 3]`` note arrays (onset s, offset s, MIDI) are the same notes (module docstring)."""
    a = np.asarray(actual, dtype=np.float64).reshape(-1, 3)
    b = np.asarray(expected, dtype=np.float64).reshape(-1, 3)
    assert a.shape == b.shape, f"{len(a)} notes against {len(b)}:\n{a}\n{b}"
    np.testing.assert_allclose(a[:, :2], b[:, :2], rtol=0, atol=time_tol_s, err_msg="onsets/offsets differ")
    np.testing.assert_allclose(a[:, 2], b[:, 2], rtol=0, atol=pitch_tol, err_msg="pitches differ")

# Notes read back from JSON files: they keep 0.1 ms and 0.01 semitone, so a rounding tie may fall
# either way between two paths.
JSON_TOL = {"time_tol_s": 1e-4, "pitch_tol": 0.0101}
