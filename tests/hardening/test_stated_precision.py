"""Stated precision is measured precision: a page never stores weights its precision cannot hold.

The float16 check measures how far the rounded network's W_eff and outputs move; a NaN or an
infinity anywhere (a weight that overflows float16, an error that is not a number) fails it
(``not error <= tol``), so float16 is never chosen for such a network and the page never states an
error it did not measure. The hostile case is a ReLU net rescaled layer by layer (first layer
×1e7, second ×1e-7): the same function with finite float32 weights, but float16 cannot hold the
first layer.
"""

from __future__ import annotations

import copy
import html
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import linlens_widgets as ll
from linlens_widgets.widgets import _network
from linlens_widgets.widgets import compare as compare_module
from linlens_widgets.widgets.run_facts import RunFacts
from tests.widgets.conftest import make_trajectory


def rescaled(run: ll.Run, first: float, second: float) -> ll.Run:
    """The same run with layer 1 (weight and bias) times ``first`` and layer 2 times ``second``."""
    out = copy.copy(run)
    states = []
    for i in range(len(run.checkpoints)):
        s = run.state_dict_at(i)
        s["0.weight"] *= first
        s["0.bias"] *= first
        s["2.weight"] *= second
        states.append(s)
    out._states = states
    out.analysis_entries = {}
    out.path = None
    return out


@pytest.fixture(scope="module")
def huge(tiny_run: ll.Run) -> ll.Run:
    return rescaled(tiny_run, 1e7, 1e-7)


def ids_nets(run: ll.Run) -> tuple[list[int], list]:
    ids = list(range(len(run.checkpoints)))
    return ids, _network.networks(run, ids, progress=False)


def test_the_rescaled_net_computes_the_same_function(tiny_run: ll.Run, huge: ll.Run) -> None:
    x = tiny_run.probe_inputs.float()
    want = tiny_run.model_at(-1)(x)
    got = huge.model_at(-1)(x)
    assert torch.allclose(got, want, rtol=1e-3, atol=1e-4)
    assert all(torch.isfinite(t).all() for t in huge.state_dict_at(-1).values())


def test_a_float16_overflow_fails_the_check(huge: ll.Run) -> None:
    ids, nets = ids_nets(huge)
    error, _ = _network.stored_precision(huge, ids, nets, "float16", progress=False)
    assert not error <= _network.FLOAT16_TOLERANCE
    assert math.isinf(error)


def test_float32_of_the_rescaled_net_is_measured_and_small(huge: ll.Run) -> None:
    ids, nets = ids_nets(huge)
    error, _ = _network.stored_precision(huge, ids, nets, "float32", progress=False)
    assert 0 <= error <= _network.FLOAT16_TOLERANCE


def test_a_nan_weight_fails_the_check_at_any_precision(tiny_run: ll.Run) -> None:
    run = copy.copy(tiny_run)
    states = [tiny_run.state_dict_at(i) for i in range(len(tiny_run.checkpoints))]
    states[1]["2.weight"][0, 0] = float("nan")
    run._states, run.analysis_entries, run.path = states, {}, None
    ids, nets = ids_nets(run)
    for precision in ("float32", "float16"):
        error, _ = _network.stored_precision(run, ids, nets, precision, progress=False)
        assert not error <= _network.FLOAT16_TOLERANCE, precision


def test_a_nan_error_is_never_the_largest_error_ignored(monkeypatch, tiny_run: ll.Run) -> None:
    """One NaN among finite errors (``max(0.1, nan) == 0.1`` in Python) still fails the check."""
    ids, nets = ids_nets(tiny_run)
    real = _network._relative
    calls = iter(range(1000))

    def nan_once(got, want):
        return float("nan") if next(calls) == 3 else real(got, want)

    monkeypatch.setattr(_network, "_relative", nan_once)
    error, _ = _network.stored_precision(tiny_run, ids, nets, "float32", progress=False)
    assert not error <= _network.FLOAT16_TOLERANCE


@pytest.mark.parametrize("row", [3, 700])
def test_the_relative_error_keeps_a_nan_in_any_block_of_rows(row: int) -> None:
    """The error is measured a block of rows at a time; a NaN in a later block is not dropped."""
    rng = np.random.default_rng(0)
    want = torch.as_tensor(rng.normal(size=(900, 3, 7)).astype(np.float32))
    got = want + 1e-5 * torch.as_tensor(rng.normal(size=(900, 3, 7)).astype(np.float32))
    expected = ((got.double() - want.double()).flatten(1).norm(dim=1)) / want.double().flatten(
        1
    ).norm(dim=1)
    assert _network._relative(got, want) == pytest.approx(float(expected.max()), rel=1e-12)
    got[row, 1, 2] = float("nan")
    assert not _network._relative(got, want) <= _network.FLOAT16_TOLERANCE


def page_of(run: ll.Run, path: Path, monkeypatch, **kwargs) -> str:
    monkeypatch.setattr(
        ll.WeightCompare,
        "class_means",
        lambda self, checkpoint=None: np.zeros((10, 1, 64), np.float32),
    )
    explorer = ll.LensExplorer(run, trajectory=make_trajectory_of(run), panel=False)
    explorer.save_html(path, **kwargs)
    return html.unescape(path.read_text(encoding="utf-8"))


def make_trajectory_of(run: ll.Run):
    class Shape:
        n = len(run.probe_labels)
        checkpoints = run.checkpoints
        classes = run.classes

    traj = make_trajectory(Shape)
    traj.labels[:] = run.probe_labels.numpy()
    return traj


def stated(page: str) -> tuple[str, float]:
    m = re.search(
        r"(float16|float32) weights, compressed without loss; every probe sample's "
        r"W_eff is within ([0-9.e+-]+)",
        page,
    )
    assert m, "the page states its precision"
    return m.group(1), float(m.group(2))


def test_auto_precision_of_the_rescaled_net_stores_float32(huge, tmp_path, monkeypatch) -> None:
    dtype, error = stated(page_of(huge, tmp_path / "p.html", monkeypatch))
    assert dtype == "float32"
    ids, nets = ids_nets(huge)
    measured, _ = _network.stored_precision(huge, ids, nets, "float32", progress=False)
    assert error == pytest.approx(measured, rel=0.06)  # printed with two significant digits


def test_explicit_float16_of_the_rescaled_net_is_refused(huge, tmp_path, monkeypatch) -> None:
    path = tmp_path / "p.html"
    with pytest.raises(ValueError, match="float16") as err:
        page_of(huge, path, monkeypatch, precision="float16")
    assert "float32" in str(err.value)
    assert not path.exists()


def test_a_moderate_rescale_that_float16_holds_still_gets_float16(tiny_run, tmp_path, monkeypatch):
    run = rescaled(tiny_run, 4.0, 0.25)
    dtype, error = stated(page_of(run, tmp_path / "p.html", monkeypatch))
    assert dtype == "float16"
    assert 0 < error <= _network.FLOAT16_TOLERANCE


def test_the_live_widget_never_sends_overflowed_float16_weights(huge, monkeypatch) -> None:
    ids, nets = ids_nets(huge)
    only_float16 = _network.weights_bytes(nets[0], len(ids), "float16") + 64 * 40
    monkeypatch.setattr(compare_module, "LIVE_NETWORK_MAX_BYTES", only_float16)
    display = RunFacts.of_run(huge).display
    payload = compare_module._live_network(huge, ids, display)
    if payload is not None:
        for row in payload["weights"]:
            for array in row:
                values = np.frombuffer(array["view"], array["dtype"])
                assert np.isfinite(values).all()
