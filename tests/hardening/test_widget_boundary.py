"""Validation at the widget boundary: bad trait values from Python raise a clear error; bad
values from the browser (an ``update`` message) are refused without an exception reaching the
kernel, the widget keeps its last good value and the browser is sent that value back."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import traitlets

import linlens_widgets as ll
from tests.widgets.conftest import FakeRun, make_trajectory

BAD = (traitlets.TraitError, ValueError, TypeError)


@pytest.fixture
def run() -> FakeRun:
    return FakeRun()


@pytest.fixture
def view(run: FakeRun) -> ll.EmbeddingView:
    return ll.EmbeddingView(make_trajectory(run), run=run)


@pytest.fixture
def compare(run: FakeRun) -> ll.WeightCompare:
    return ll.WeightCompare(run)


@pytest.fixture
def scrubber(run: FakeRun) -> ll.CheckpointScrubber:
    return ll.CheckpointScrubber(run)


# ---------------------------------------------------------------------------- from Python
@pytest.mark.parametrize("height", [-1, 0, 10**7, 2**40])
def test_height_out_of_range_is_a_trait_error(view, height):
    with pytest.raises(traitlets.TraitError, match="height"):
        view.height = height
    assert view.height == 420


@pytest.mark.parametrize("height", [1.5, "tall", None, [400]])
def test_height_of_the_wrong_type_is_a_trait_error(view, height):
    with pytest.raises(traitlets.TraitError):
        view.height = height
    assert view.height == 420


@pytest.mark.parametrize("size", [-1.0, -1e-9, float("nan"), float("inf"), 1e6])
def test_point_size_out_of_range_is_a_trait_error(view, size):
    with pytest.raises(traitlets.TraitError, match="point_size"):
        view.point_size = size
    assert view.point_size == 0.0


def test_good_sizes_and_heights_are_kept(view):
    view.point_size = 3.5
    view.height = 800
    assert (view.point_size, view.height) == (3.5, 800)


@pytest.mark.parametrize("hidden", [[3], [-1], [0, 99], [10**12]])
def test_hidden_class_out_of_range_is_a_trait_error(view, hidden):
    with pytest.raises(traitlets.TraitError, match="hidden_classes"):
        view.hidden_classes = hidden
    assert view.hidden_classes == []


@pytest.mark.parametrize("hidden", [[1.5], ["0"], "0", 0, {0: 1}, None])
def test_hidden_classes_of_the_wrong_type_are_refused(view, hidden):
    with pytest.raises(BAD):
        view.hidden_classes = hidden
    assert view.hidden_classes == []


@pytest.mark.parametrize("selection", [[1.5], 1.5, "abc", 3, {0: 1}, None, [True], [10**9]])
def test_selections_that_are_not_lists_of_sample_indices_are_refused(view, selection):
    with pytest.raises(BAD):
        view.selection = selection
    assert view.selection == []


@pytest.mark.parametrize("sample", [1.5, -1, 10**9, True, "3"])
def test_compare_sample_indices(compare, sample):
    for operand in ("a", "b"):
        before = getattr(compare, operand)
        with pytest.raises(BAD):
            setattr(compare, operand, [sample])
        assert getattr(compare, operand) == before


@pytest.mark.parametrize("classes", [[3], [-1], [0.5], "0"])
def test_compare_class_ids(compare, classes):
    with pytest.raises(BAD):
        compare.classes = classes
    assert compare.classes == []


@pytest.mark.parametrize(
    ("name", "value"),
    [("checkpoint", 2.5), ("checkpoint", 99), ("speed", -1.0), ("speed", float("nan"))],
)
def test_scrubber_values(scrubber, name, value):
    before = getattr(scrubber, name)
    with pytest.raises(BAD):
        setattr(scrubber, name, value)
    assert getattr(scrubber, name) == before


# ---------------------------------------------------------------------------- from the browser
def update(widget: Any, state: dict[str, Any]) -> None:
    """Deliver ``state`` as the front end does: a comm ``update`` message to ``_handle_msg``."""
    msg = {
        "content": {"data": {"method": "update", "state": state, "buffer_paths": []}},
        "buffers": [],
    }
    widget._handle_msg(msg)


class Sync:
    """Records what the widget sends back to the browser (state updates and custom messages)."""

    def __init__(self, widget: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[dict[str, Any]] = []
        monkeypatch.setattr(widget, "_send", lambda msg, buffers=None: self.sent.append(msg))

    def states(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for msg in self.sent:
            if msg.get("method") == "update":
                merged.update(msg["state"])
        return merged


@pytest.fixture
def raising_log(monkeypatch):
    """Make ipywidgets' catch-all for handler exceptions fail the test instead of logging."""
    import ipywidgets.widgets.widget as widget_module

    def shown(*_a: Any, **_k: Any) -> None:
        raise AssertionError("an exception escaped the widget's message handler")

    monkeypatch.setattr(
        widget_module, "get_ipython", lambda: type("IP", (), {"showtraceback": shown})()
    )


BROWSER_VIEW = [
    {"height": -5},
    {"height": 10**9},
    {"height": "tall"},
    {"point_size": -2},
    {"checkpoint": 99},
    {"checkpoint": 1.5},
    {"selection": "abc"},
    {"selection": [1.5]},
    {"selection": [999]},
    {"hidden_classes": [7]},
    {"color": "rainbow"},
]


@pytest.mark.parametrize("state", BROWSER_VIEW)
def test_bad_update_from_the_browser_keeps_the_last_good_value(
    view, state, monkeypatch, raising_log, caplog
):
    view.checkpoint, view.selection, view.height = 2, [1, 2], 500
    before = view.get_state(list(state))
    sync = Sync(view, monkeypatch)
    with caplog.at_level(logging.WARNING):
        update(view, state)
    assert view.get_state(list(state)) == before
    (name,) = state
    assert any(name in r.getMessage() for r in caplog.records), "the refusal is logged"
    # the browser is told the kept value (it showed the bad one)
    assert sync.states().get(name) == before[name]


def test_a_mixed_update_applies_the_good_values_and_refuses_the_bad(
    view, monkeypatch, raising_log, caplog
):
    sync = Sync(view, monkeypatch)
    with caplog.at_level(logging.WARNING):
        update(view, {"checkpoint": 1, "selection": [999], "height": 600})
    assert (view.checkpoint, view.selection, view.height) == (1, [], 600)
    assert sync.states().get("selection") == []


@pytest.mark.parametrize(
    "state",
    [
        {"a": [1.5]},
        {"b": [-3]},
        {"a": [10**9]},
        {"a": 4},
        {"similarity": "cosh"},
        {"k": 0},
        {"classes": [9]},
        {"checkpoint": "x"},
    ],
)
def test_compare_survives_bad_updates(compare, state, monkeypatch, raising_log):
    before = compare.get_state(list(state))
    Sync(compare, monkeypatch)
    update(compare, state)
    assert compare.get_state(list(state)) == before


@pytest.mark.parametrize(
    "state", [{"checkpoint": 2.5}, {"checkpoint": -99}, {"speed": 0.3}, {"playing": "yes"}]
)
def test_scrubber_survives_bad_updates(scrubber, state, monkeypatch, raising_log):
    before = scrubber.get_state(list(state))
    Sync(scrubber, monkeypatch)
    update(scrubber, state)
    assert scrubber.get_state(list(state)) == before


def test_explorer_layout_survives_a_bad_model_reference(run, monkeypatch, raising_log):
    ex = ll.LensExplorer(run, trajectory=make_trajectory(run), panel=False)
    layout = next(c for c in ex.children if hasattr(c, "embedding"))
    before = layout.embedding
    Sync(layout, monkeypatch)
    update(layout, {"embedding": "IPY_MODEL_does-not-exist"})
    assert layout.embedding is before


def test_good_updates_from_the_browser_still_apply(view, compare, scrubber, raising_log):
    update(view, {"checkpoint": 3, "selection": [4, 2], "height": 300, "point_size": 2})
    update(compare, {"a": [5], "checkpoint": 1})
    update(scrubber, {"checkpoint": 2, "speed": 2.0})
    assert (view.checkpoint, view.selection, view.height, view.point_size) == (3, [2, 4], 300, 2.0)
    assert (compare.a, compare.checkpoint) == ([5], 1)
    assert (scrubber.checkpoint, scrubber.speed) == (2, 2.0)
