"""The explorer works out a run's facts once and hands them to its children."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

import linlens_widgets as ll
from linlens_widgets.widgets import _sources
from tests.widgets.conftest import FakeRun, make_trajectory

FACTS = ("frames", "labels_of", "class_names", "input_shape", "display", "select_checkpoints")
"""What each child widget used to work out again from the run."""


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count the calls of each fact's function while the test runs."""
    counted: Counter[str] = Counter()
    for name in FACTS:
        original = getattr(_sources, name)

        def counting(*args: Any, _name: str = name, _f: Any = original, **kwargs: Any) -> Any:
            counted[_name] += 1
            return _f(*args, **kwargs)

        monkeypatch.setattr(_sources, name, counting)
    return counted


def test_the_explorer_works_out_each_fact_once(calls: Counter[str]) -> None:
    run = FakeRun()
    ll.LensExplorer(run, trajectory=make_trajectory(run), panel=False)
    assert calls["frames"] == 1
    assert calls["labels_of"] == 1
    assert calls["class_names"] == 1
    assert calls["input_shape"] == 1
    assert calls["display"] == 1
    assert calls["select_checkpoints"] <= 1
