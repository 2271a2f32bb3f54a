"""Piano-roll plots: predicted notes over reference notes, frame posteriors below."""
from __future__ import annotations

import numpy as np


def plot_transcription(path, notes: np.ndarray, reference: np.ndarray | None = None, posteriors: dict | None = None,
                       frame_seconds: float = 0.02, span: tuple | None = None, title: str = "") -> None:
    """Save a PNG piano roll.

    ``notes``/``reference``: ``[n, 3]`` (onset s, offset s, MIDI). ``posteriors``:
    frame curves ``[T]`` (onset, offset, voiced, pitch) drawn under the roll.
    ``span``: (start s, end s) to show; default the first 20 s with notes.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .annotations import atomic_write

    allnotes = [a for a in (notes, reference) if a is not None and len(a)]
    if span is None:
        t0 = min((a[0, 0] for a in allnotes), default=0.0)
        span = (max(0.0, t0 - 0.5), max(0.0, t0 - 0.5) + 20.0)
    rows = 2 if posteriors is not None else 1
    fig, axes = plt.subplots(rows, 1, figsize=(14, 6 if rows == 2 else 4), sharex=True, squeeze=False,
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
    ax.set_xlim(*span)
    ax.set_ylabel("MIDI pitch")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
