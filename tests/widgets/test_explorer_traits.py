"""What the explorer sends to the browser stays as recorded: every synced trait of every child.

``LensExplorer`` is built on two small runs (the test double and a real recorded MLP on digits,
each with a hand-made trajectory, so no embedding is computed) and every trait its scrubber,
scatter and comparison sync to the front end is compared with the values recorded in
``data/explorer_traits/`` (``<name>.json`` for plain values, ``<name>.npz`` for arrays, read with
``allow_pickle=False``). The metrics panel's per-checkpoint data and cursor positions are
compared too. Arrays compare by shape and dtype exactly and by value within a float tolerance;
everything else compares exactly.

Traits owned by the front-end bundle (``_esm``, ``_css``), by anywidget (``_anywidget_id``) and
by ipywidgets itself (model and view names, layout references) are left out: they say nothing of
the run.

To record again after an intended change of what the widgets send::

    LINLENS_RECORD_TRAITS=1 uv run pytest tests/widgets/test_explorer_traits.py
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import pytest
import torch

import linlens_widgets as ll
from tests.widgets.conftest import FakeRun, FakeTrajectory, make_trajectory

DATA = Path(__file__).parent / "data" / "explorer_traits"
RECORD = os.environ.get("LINLENS_RECORD_TRAITS") == "1"
BASE_TRAITS = frozenset(anywidget.AnyWidget.class_trait_names(sync=True)) | {
    "_esm",
    "_css",
    "_anywidget_id",
}
CHILDREN = ("scrubber", "embedding", "compare")


def _real_run() -> ll.Run:
    """A real run: a seeded MLP on digits, one full-batch SGD step between two checkpoints."""
    torch.manual_seed(0)
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [8], data.n_classes, bias=True)
    recorder = ll.Recorder(model, data, probe=20)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for step in range(3):
        recorder.snapshot(epoch=float(step), step=step)
        loss = torch.nn.functional.cross_entropy(model(data.x_train[:256]), data.y_train[:256])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return recorder.run


def _real_trajectory(run: ll.Run) -> FakeTrajectory:
    """Hand-made positions over the run's last two checkpoints (a trajectory of a subset)."""
    n = len(run.probe_labels)
    rng = np.random.default_rng(1)
    return FakeTrajectory(
        positions=rng.uniform(-1, 1, (2, n, 2)).astype(np.float32),
        epochs=np.array([1.0, 2.0]),
        steps=np.array([1, 2]),
        checkpoint_ids=np.array([1, 2]),
        labels=np.asarray(run.probe_labels),
    )


def _shown(explorer: ll.LensExplorer) -> ll.LensExplorer:
    """The explorer as a notebook saves it: its front end has asked for the network."""
    explorer.compare._on_message(explorer.compare, {"type": "fetch_network"}, [])
    return explorer


def _fake_explorer() -> ll.LensExplorer:
    run = FakeRun()
    return _shown(
        ll.LensExplorer(run, trajectory=make_trajectory(run), panel=False, class_means=True)
    )


def _real_explorer() -> ll.LensExplorer:
    run = _real_run()
    return _shown(ll.LensExplorer(run, trajectory=_real_trajectory(run), a=[2, 3], checkpoint=0))


EXPLORERS: dict[str, Callable[[], ll.LensExplorer]] = {
    "fake": _fake_explorer,
    "real": _real_explorer,
}


def _flatten(value: Any, path: str, plain: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Split a synced state into plain values and arrays, keyed by their path in the state."""
    if isinstance(value, dict) and isinstance(value.get("view"), (memoryview, bytes)):
        data = np.frombuffer(bytes(value["view"]), dtype=value["dtype"])
        arrays[path] = data.reshape(value["shape"])
    elif isinstance(value, dict):
        for key in sorted(value):
            _flatten(value[key], f"{path}.{key}", plain, arrays)
    elif isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list)) for v in value):
        for i, item in enumerate(value):
            _flatten(item, f"{path}.{i}", plain, arrays)
    else:
        plain[path] = value


def synced_traits(explorer: ll.LensExplorer) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Every synced trait of the explorer's children, and its panel's data, as recorded."""
    plain: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for name in CHILDREN:
        state = getattr(explorer, name).get_state()
        for key in sorted(set(state) - BASE_TRAITS):
            _flatten(state[key], f"{name}.{key}", plain, arrays)
    fig = explorer.panel_figure
    if fig is not None:
        source = fig.select_one({"name": "checkpoints"})
        for column in sorted(source.data):
            values = np.asarray(source.data[column])
            arrays[f"panel.{column}"] = values.astype(np.float64)
        plain["panel.cursor"] = [float(x) for x in explorer._cursor_xs]
    return json.loads(json.dumps(plain)), arrays


def _record(name: str, plain: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / f"{name}.json").write_text(json.dumps(plain, indent=1, sort_keys=True) + "\n")
    np.savez_compressed(DATA / f"{name}.npz", **arrays)


def _recorded(name: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    plain = json.loads((DATA / f"{name}.json").read_text())
    with np.load(DATA / f"{name}.npz", allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    return plain, arrays


@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_the_explorer_sends_what_was_recorded(name: str) -> None:
    plain, arrays = synced_traits(EXPLORERS[name]())
    if RECORD:
        _record(name, plain, arrays)
    want_plain, want_arrays = _recorded(name)
    assert sorted(plain) == sorted(want_plain)
    for key, want in want_plain.items():
        assert plain[key] == want, key
    assert sorted(arrays) == sorted(want_arrays)
    for key, want in want_arrays.items():
        got = arrays[key]
        assert (got.shape, got.dtype) == (want.shape, want.dtype), key
        if got.dtype.kind == "f":
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=key)
        else:
            np.testing.assert_array_equal(got, want, err_msg=key)


def test_the_record_covers_every_child_and_the_live_network() -> None:
    # The guard is only as good as what it records: each child's run-derived traits, the
    # network the real run's comparison computes with in the browser, and the panel.
    plain, arrays = _recorded("real")
    keys = set(plain) | set(arrays)
    for key in (
        "scrubber._frames",
        "embedding._checkpoint_labels",
        "embedding._classes",
        "embedding._labels",
        "embedding._predictions",
        "embedding._thumbnails",
        "compare._display.mean",
        "compare._input_shape",
        "compare._checkpoint_labels",
        "panel.cursor",
    ):
        assert any(k == key or k.startswith(f"{key}.") for k in keys), key
    assert any(k.startswith("compare._network.") for k in arrays)
    fake, _ = _recorded("fake")
    assert fake["compare._network"] is None  # the test double has no model: kernel only
