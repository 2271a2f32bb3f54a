"""``svt-gui``'s console-script entry: :func:`gui.app.main` behind :func:`svt_live.entry.guarded`."""
from svt_live.entry import guarded


def main() -> int:
    return guarded("svt-gui", "gui.app")
