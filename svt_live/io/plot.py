"""Piano-roll plots: predicted notes over reference notes, frame posteriors below.

Times are seconds, pitches fractional MIDI; the pitch axis is labelled with
note names (``C4`` = MIDI 60).
"""
from __future__ import annotations

import numpy as np

from svt_live.notes import note_name

SECONDS_PER_INCH = 8.0  # a long take gets a wider figure, up to MAX_WIDTH_INCHES
MIN_WIDTH_INCHES, MAX_WIDTH_INCHES = 14.0, 80.0


def whole_span(*note_arrays) -> tuple[float, float]:
    """(start s, end s) covering every note of the arrays ``[n, 3]``; ``(0, 1)`` without notes.

    Examples
    --------
    >>> whole_span(np.array([[1.0, 2.0, 60.0]]), np.array([[0.5, 4.0, 62.0]]))
    (0.0, 4.5)
    """
    notes = [a for a in note_arrays if a is not None and len(a)]
    if not notes:
        return (0.0, 1.0)
    start = min(float(a[:, 0].min()) for a in notes)
    end = max(float(a[:, 1].max()) for a in notes)
    return (max(0.0, start - 0.5), end + 0.5)


def excerpt_span(*note_arrays, seconds: float = 20.0) -> tuple[float, float]:
    """(start s, end s): the first ``seconds`` from half a second before the first note."""
    start = whole_span(*note_arrays)[0]
    return (start, start + seconds)


def pitch_ticks(lo: float, hi: float) -> list[int]:
    """MIDI numbers to label on a pitch axis from ``lo`` to ``hi``: natural notes, or only
    the Cs when the range spans more than three octaves.

    Examples
    --------
    >>> pitch_ticks(59.5, 65)
    [60, 62, 64, 65]
    """
    naturals = (0, 2, 4, 5, 7, 9, 11) if hi - lo <= 36 else (0,)
    return [m for m in range(int(np.ceil(lo)), int(np.floor(hi)) + 1) if m % 12 in naturals]


def plot_transcription(path, notes: np.ndarray, reference: np.ndarray | None = None, posteriors: dict | None = None,
                       frame_seconds: float = 0.02, span: tuple | None = None, title: str = "") -> None:
    """Save a PNG piano roll.

    ``notes``/``reference``: ``[n, 3]`` (onset s, offset s, MIDI). ``posteriors``:
    frame curves ``[T]`` (onset, offset, voiced, pitch) drawn under the roll.
    ``span``: (start s, end s) to show; default the whole take (:func:`whole_span`).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from svt_live.io.outputs import atomic_write

    allnotes = [a for a in (notes, reference) if a is not None]
    if span is None:
        span = whole_span(*allnotes)
    rows = 2 if posteriors is not None else 1
    width = float(np.clip((span[1] - span[0]) / SECONDS_PER_INCH, MIN_WIDTH_INCHES, MAX_WIDTH_INCHES))
    fig, axes = plt.subplots(rows, 1, figsize=(width, 6 if rows == 2 else 4), sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1][:rows]})
    ax = axes[0, 0]
    pitches = []
    for arr, colour, label, h in ((reference, "#bbbbbb", "reference", 0.8), (notes, "#d62728", "prediction", 0.4)):
        if arr is None or not len(arr):
            continue
        sel = arr[(arr[:, 1] >= span[0]) & (arr[:, 0] <= span[1])]
        pitches.extend(sel[:, 2])
        for i, (on, off, p) in enumerate(sel):
            ax.add_patch(plt.Rectangle((on, p - h / 2), off - on, h, color=colour, label=label if i == 0 else None))
    if posteriors is not None:
        t = np.arange(len(posteriors["pitch"])) * frame_seconds
        m = (t >= span[0]) & (t <= span[1]) & (posteriors["voiced"] >= 0.5)
        ax.plot(t[m], posteriors["pitch"][m], ".", ms=1.5, color="#1f77b4", label="frame pitch")
        pitches.extend(posteriors["pitch"][m])
        a2 = axes[1, 0]
        sel = (t >= span[0]) & (t <= span[1])
        for key, colour in (("onset", "#2ca02c"), ("offset", "#9467bd"), ("voiced", "#1f77b4")):
            a2.plot(t[sel], posteriors[key][sel], color=colour, lw=0.8, label=key)
        a2.set_ylim(0, 1.05)
        a2.set_ylabel("posterior")
        a2.legend(loc="upper right", fontsize=8, ncol=3)
    lo, hi = (min(pitches) - 2, max(pitches) + 2) if pitches else (48, 72)
    ax.set_ylim(lo, hi)
    ticks = pitch_ticks(lo, hi)
    ax.set_yticks(ticks, [note_name(m) for m in ticks])
    ax.set_xlim(*span)
    ax.set_ylabel("pitch")
    ax.set_title(title, parse_math=False)  # a file name is text: a "$" in it is not mathtext
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # no legend without notes
        ax.legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
