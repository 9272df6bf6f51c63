"""Silent wrong results: inputs and stored data that would give finite-looking but wrong answers
are refused (or marked missing), never used as they are."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

import linlens_widgets as ll
from linlens_widgets import plots
from linlens_widgets.analysis import metrics
from linlens_widgets.analysis.embed import embed
from linlens_widgets.analysis.store import AnalysisStore
from linlens_widgets.lens.effective import effective_weights, weight_features
from linlens_widgets.runs.store import RunFormatError


class Residual(nn.Module):
    """Not a chain: the general (torch.func) path."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(6, 6), nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.relu(self.a(x)) + x)


def fast_model() -> nn.Module:
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))


# ----------------------------------------------------------------------------- non-finite inputs


@pytest.mark.parametrize("make", [fast_model, Residual], ids=["fast", "general"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_inputs_are_refused_naming_the_rows(make, bad: float) -> None:
    torch.manual_seed(0)
    model = make().eval()
    x = torch.rand(12, 6)
    x[3, 1] = bad
    x[7, 5] = bad
    for compute in (effective_weights, weight_features):
        with pytest.raises(ValueError, match=r"rows 3, 7"):
            compute(model, x)
    assert effective_weights(model, x[:3]).weight.isfinite().all()


# ----------------------------------------------------------------------------- batch mixing


class CentreBatch(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x - x.mean(dim=0, keepdim=True))


class SumBatch(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(torch.relu(x) + x.sum(dim=0))


class MaxOverBatch(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x) + x.amax(dim=0)[:3]


@pytest.mark.parametrize("module", [CentreBatch, SumBatch, MaxOverBatch])
@pytest.mark.parametrize("n", [1, 5])
def test_a_module_that_mixes_the_batch_is_refused(module: type[nn.Module], n: int) -> None:
    torch.manual_seed(0)
    with pytest.raises(ValueError, match="mixes samples across the batch"):
        effective_weights(module().eval(), torch.rand(n, 6))


def test_a_per_sample_module_is_still_accepted() -> None:
    torch.manual_seed(0)
    model, x = Residual().eval(), torch.rand(9, 6)
    jac = torch.autograd.functional.jacobian(lambda v: model(v.unsqueeze(0))[0], x[4])
    assert torch.allclose(effective_weights(model, x).weight[4], jac, atol=1e-5)


# ----------------------------------------------------------------------------- Run.load checks


def _edit_tensor(file: Path, key: str, edit) -> None:
    tensors = load_file(str(file))
    tensors[key] = edit(tensors[key])
    save_file(tensors, str(file), {"format": "damaged"})


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.index_fill(0, torch.tensor([4]), math.nan), r"rows 4\b"),
        (lambda t: t.index_fill(0, torch.tensor([2, 9]), math.inf), r"rows 2, 9"),
    ],
)
def test_probe_inputs_must_be_finite(run_dir: Path, edit, message: str) -> None:
    _edit_tensor(run_dir / "probe.safetensors", "inputs", edit)
    with pytest.raises(RunFormatError, match=rf"probe\.safetensors.*{message}"):
        ll.Run.load(run_dir)


@pytest.mark.parametrize("edit", [lambda t: t * 255, lambda t: t - 1])
def test_probe_inputs_in_the_networks_own_units_load_unchanged(run_dir: Path, edit) -> None:
    """Inputs are stored as the network sees them: any finite range loads, nothing rescaled."""
    file = run_dir / "probe.safetensors"
    _edit_tensor(file, "inputs", edit)
    expected = load_file(str(file))["inputs"]
    assert torch.equal(ll.Run.load(run_dir).probe_inputs, expected)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.double(), "float64, but manifest.json declares float32"),
        (lambda t: t.half(), "float16, but manifest.json declares float32"),
        (lambda t: t.index_fill(0, torch.tensor([0]), math.nan), "NaN or infinite"),
    ],
)
def test_checkpoint_tensors_have_the_declared_dtype_and_finite_values(
    run_dir: Path, edit, message: str
) -> None:
    file = run_dir / "checkpoints" / "0002.safetensors"
    key = next(iter(load_file(str(file))))
    _edit_tensor(file, key, edit)
    with pytest.raises(RunFormatError, match=rf"checkpoints/0002\.safetensors.*{message}"):
        ll.Run.load(run_dir)


# ----------------------------------------------------------------------------- class means


@pytest.mark.parametrize("missing", [0, 2, 4])
def test_class_means_keep_one_row_per_class(missing: int) -> None:
    rng = np.random.default_rng(0)
    labels = np.array([c for c in range(5) if c != missing] * 3)
    w = torch.from_numpy(rng.random((len(labels), 2, 3)).astype(np.float32))
    means = metrics.class_mean_weights(w, labels, n_classes=5)
    assert means.shape == (5, 2, 3)
    assert torch.isnan(means[missing]).all()
    for c in set(range(5)) - {missing}:
        assert torch.allclose(means[c], w[torch.from_numpy(labels == c)].mean(0))


def test_class_means_default_to_one_row_per_label_value() -> None:
    w = torch.arange(6.0).reshape(3, 1, 2)
    means = metrics.class_mean_weights(w, [0, 2, 2])  # class 1 absent
    assert means.shape == (3, 1, 2) and torch.isnan(means[1]).all()
    assert means[2, 0].tolist() == [3.0, 4.0]
    with pytest.raises(ValueError, match=r"label 3.*n_classes=3"):
        metrics.class_mean_weights(w, [0, 3, 1], n_classes=3)


# ----------------------------------------------------------------------------- plot columns


@pytest.mark.parametrize("name", ["epoch", "step", "x"])
def test_a_metric_cannot_overwrite_the_x_column(tiny_run: ll.Run, run_dir: Path, name: str) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for i, entry in enumerate(manifest["checkpoints"]):
        entry["metrics"][name] = 1000.0 + i
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    run = ll.Run.load(run_dir)
    table = plots.dynamics_table(run, lens=(), progress=False)
    assert table["epoch"].tolist() == [c.epoch for c in tiny_run.checkpoints]
    assert table["step"].tolist() == [c.step for c in tiny_run.checkpoints]
    assert table[f"metric.{name}"].tolist() == [1000.0, 1001.0, 1002.0]
    fig = plots.metric_panel(run, [f"metric.{name}"], progress=False)
    source = fig.select_one({"name": "checkpoints"})
    assert source.data["x"] != [1000.0, 1001.0, 1002.0]
    assert source.data["epoch"] == table["epoch"].tolist()


# ----------------------------------------------------------------------------- cached trajectory


def _damage_positions(arrays: dict[str, np.ndarray]) -> None:
    arrays["positions"][1, 3] = np.nan


def _damage_ids(arrays: dict[str, np.ndarray]) -> None:
    arrays["checkpoint_ids"][:] = arrays["checkpoint_ids"][::-1]


def _damage_n(arrays: dict[str, np.ndarray]) -> None:
    arrays["positions"] = arrays["positions"][:, :-2]
    arrays["labels"] = arrays["labels"][:-2]


def _damage_labels(arrays: dict[str, np.ndarray]) -> None:
    arrays["labels"] = (arrays["labels"] + 1) % 10


@pytest.mark.parametrize("damage", [_damage_positions, _damage_ids, _damage_n, _damage_labels])
def test_a_damaged_cached_trajectory_is_recomputed(run_dir: Path, damage) -> None:
    run = ll.Run.load(run_dir)
    good = embed(run, method="pca", progress=False)
    store = AnalysisStore(run)
    arrays, meta = store.get("trajectory")
    damage(arrays)
    store.put("trajectory", arrays, meta)
    reloaded = ll.Run.load(run_dir)  # the damage was written to the folder too
    with pytest.warns(UserWarning, match="cached trajectory.*recomput"):
        again = embed(reloaded, method="pca", progress=False)
    assert np.isfinite(again.positions).all()
    np.testing.assert_array_equal(again.checkpoint_ids, good.checkpoint_ids)
    np.testing.assert_allclose(again.positions, good.positions, atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        embed(reloaded, method="pca", progress=False)  # the repaired cache is used silently
