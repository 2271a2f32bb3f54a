"""svt-gui: the svt-live window (``svt-gui``, :mod:`gui.app`)."""
