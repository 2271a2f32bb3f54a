"""``python -m svt_live``: the same as the ``svt-live`` command."""
import sys

from svt_live.commands.entry import main

sys.exit(main())
