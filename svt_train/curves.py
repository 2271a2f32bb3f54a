"""Training curves: ``curves.png`` beside ``history.json``, redrawn after every epoch."""
from __future__ import annotations

from pathlib import Path


def plot_history(history: list[dict], path: str | Path, measure: str = "COnP", title: str = "",
                 average: tuple | None = None) -> None:
    """Save a PNG of a run's ``history`` (``fit``'s per-epoch records).

    Left: train and valid total loss per epoch. Right: valid note F1
    (``measure``, after the per-epoch decoding search, in %) with the best
    epoch marked. ``average``: ``(first epoch, last epoch, F1 in [0, 1])`` of
    the weight average (``swa_from``), drawn as a dashed line over its epochs.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from svt_live.io.outputs import atomic_write

    epochs = [h["epoch"] for h in history]
    f1 = [100 * h["valid"][f"val_{measure}_f1"] for h in history]
    fig, (ax_loss, ax_f1) = plt.subplots(1, 2, figsize=(11, 3.6))
    ax_loss.plot(epochs, [h["train"]["total_loss"] for h in history], "o-", label="train")
    ax_loss.plot(epochs, [h["valid"]["total_loss"] for h in history], "o-", label="valid")
    ax_loss.set(xlabel="epoch", ylabel="total loss", title="loss")
    ax_loss.legend()
    best = max(range(len(f1)), key=f1.__getitem__)
    ax_f1.plot(epochs, f1, "o-", color="#2ca02c")
    ax_f1.plot(epochs[best], f1[best], "*", ms=14, color="#d62728",
               label=f"best: epoch {epochs[best]}, {f1[best]:.1f} %")
    if average:
        first, last, f = average
        ax_f1.plot([first, last], [100 * f] * 2, "--", color="#9467bd",
                   label=f"average of epochs {first}-{last}: {100 * f:.1f} %")
    ax_f1.set(xlabel="epoch", ylabel=f"{measure} F1 (%)", title=f"valid {measure} F1, mean per song")
    ax_f1.legend()
    for ax in (ax_loss, ax_f1):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
