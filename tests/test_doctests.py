"""The Examples sections of the public modules' docstrings run as doctests."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["svt_live.annotations", "svt_live.api", "svt_live.batch", "svt_live.bends", "svt_live.decode",
           "svt_live.console", "svt_live.device", "svt_live.driver", "svt_live.early", "svt_live.engine", "svt_live.export",
           "svt_live.f0", "svt_live.grid", "svt_live.key", "svt_live.leadsheet", "svt_live.outputs", "svt_live.playaids",
           "svt_live.rhythm", "svt_live.scale", "svt_live.score", "svt_live.sightreport", "svt_live.sightsing", "svt_live.tuning"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
