"""The explorer works out a run's facts once and hands them to its children."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

import linlens_widgets as ll
from linlens_widgets.widgets import run_facts
from tests.widgets.conftest import FakeRun, make_trajectory

FACTS = ("frames", "labels_of", "class_names", "input_shape", "display", "select_checkpoints")
"""What each child widget used to work out again from the run."""


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count the calls of each fact's function while the test runs."""
    counted: Counter[str] = Counter()
    for name in FACTS:
        original = getattr(run_facts, name)

        def counting(*args: Any, _name: str = name, _f: Any = original, **kwargs: Any) -> Any:
            counted[_name] += 1
            return _f(*args, **kwargs)

        monkeypatch.setattr(run_facts, name, counting)
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


def test_each_widget_on_its_own_shows_what_it_shows_in_the_explorer() -> None:
    run = FakeRun()
    traj = make_trajectory(run)
    ex = ll.LensExplorer(run, trajectory=traj, panel=False)
    ids = list(ex.facts.checkpoint_ids)
    scrubber = ll.CheckpointScrubber(run, checkpoints=ids)
    view = ll.EmbeddingView(traj, run=run)
    compare = ll.WeightCompare(run, ex.compare.a, ex.compare.b, checkpoints=ids)
    assert scrubber._frames == ex.scrubber._frames and scrubber._series == ex.scrubber._series
    for name in ("_classes", "_checkpoint_labels"):
        assert getattr(view, name) == getattr(ex.embedding, name)
    for name in ("_labels", "_predictions", "_thumbnails"):
        assert (getattr(view, name) == getattr(ex.embedding, name)).all()
    for name in ("_classes", "_input_shape", "_display", "_checkpoint_labels", "_n_samples"):
        assert getattr(compare, name) == getattr(ex.compare, name)


def test_the_explorer_hands_one_set_of_facts_that_nobody_can_change() -> None:
    run = FakeRun()
    ex = ll.LensExplorer(run, trajectory=make_trajectory(run), panel=False)
    facts = ex.facts
    assert ex.scrubber.checkpoint_ids is ex.compare.checkpoint_ids is facts.checkpoint_ids
    assert ex.embedding.checkpoint_ids is facts.checkpoint_ids
    assert ex.embedding._labels is facts.labels
    with pytest.raises(ValueError, match="read-only"):
        facts.labels[0] = 1
    with pytest.raises(AttributeError):
        facts.classes = ("a",)  # type: ignore[misc]


def test_a_trajectory_alone_has_facts_without_a_run() -> None:
    run = FakeRun()
    traj = make_trajectory(run)
    facts = run_facts.RunFacts.of_trajectory(traj)
    assert facts.run is None and facts.source is None and facts.input_shape is None
    assert facts.frame_labels[1] == "epoch 1 · step 10"
    assert facts.classes == ("0", "1", "2") and facts.n_samples == run.n


def test_what_is_no_run_is_refused_by_its_type() -> None:
    with pytest.raises(TypeError, match="expected a Run or a RunSource, got list"):
        ll.WeightCompare([1, 2, 3])
    with pytest.raises(TypeError, match="expected a Run or a RunSource, got str"):
        ll.LensExplorer("run", trajectory=make_trajectory(FakeRun()))
    with pytest.raises(TypeError, match="expected a Run or a RunSource, got str"):
        ll.LensExplorer("run")
