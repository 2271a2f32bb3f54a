"""The command modules behind ``svt-live`` and ``python -m svt_live``: thin layers over the library.

Nothing in the library or in svt-gui imports from here (``tests/test_layers.py``).
"""
