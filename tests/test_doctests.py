"""The Examples sections of the public modules' docstrings run as doctests."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["svt_live.api", "svt_live.console", "svt_live.engine.batch", "svt_live.engine.decode",
           "svt_live.engine.device", "svt_live.engine.driver", "svt_live.engine.early", "svt_live.engine.f0",
           "svt_live.engine.playaids", "svt_live.engine.streaming", "svt_live.io.annotations", "svt_live.io.bends",
           "svt_live.io.blocks", "svt_live.io.export", "svt_live.io.midifile",
           "svt_live.io.midiport", "svt_live.io.outputs", "svt_live.sight.check",
           "svt_live.sight.report", "svt_live.theory.grid", "svt_live.theory.key",
           "svt_live.theory.leadsheet", "svt_live.theory.rhythm", "svt_live.theory.scale", "svt_live.theory.tuning"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
