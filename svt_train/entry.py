"""``svt-train``'s console-script entry: :func:`svt_train.cli.main` behind :func:`svt_live.entry.guarded`."""
from svt_live.entry import guarded


def main() -> int:
    return guarded("svt-train", "svt_train.cli")
