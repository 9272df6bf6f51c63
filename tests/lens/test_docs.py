"""The ``>>>`` examples in the lens docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "linlens_widgets.lens",
    "linlens_widgets.lens.effective",
    "linlens_widgets.lens.layers",
    "linlens_widgets.lens.patterns",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
