"""svt-gui: the svt-live window (``svt-gui``, :mod:`gui.app`)."""
from . import compat  # noqa: F401  - must run before any Qt slot does (see gui/compat.py)
