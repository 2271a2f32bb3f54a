"""``svt-gui``'s console-script entry: :func:`gui.app.main` behind :func:`svt_live.commands.entry.guarded`."""
from svt_live.commands.entry import guarded


def main() -> int:
    return guarded("svt-gui", "gui.app")
