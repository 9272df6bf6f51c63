from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from torch import nn

from linlens_widgets.analysis.phenomena import (
    PHENOMENA,
    local_complexity,
    neuron_alignment,
    phenomena_over_run,
    weight_variation,
)
from linlens_widgets.analysis.store import AnalysisStore
from linlens_widgets.analysis.weights import run_weights
from linlens_widgets.runs.indexing import CheckpointIndexError


@dataclass(frozen=True)
class _Checkpoint:
    index: int
    epoch: float
    step: int


@dataclass
class _Weights:
    weight: torch.Tensor


@dataclass
class _Run:
    """The part of the Run interface the phenomena read: checkpoints, models, probe, W_eff."""

    states: list[dict[str, torch.Tensor]]
    probe_inputs: torch.Tensor
    checkpoints: list[_Checkpoint] = field(init=False)

    def __post_init__(self) -> None:
        self.checkpoints = [_Checkpoint(i, i / 2, 10 * i) for i in range(len(self.states))]

    def model_at(self, i: int) -> nn.Module:
        model = _mlp()
        model.load_state_dict(self.states[i])
        return model.eval()

    def effective_weights(self, i: int) -> _Weights:
        x = self.probe_inputs.clone().requires_grad_(True)
        y = self.model_at(i)(x)
        rows = [torch.autograd.grad(y[:, c].sum(), x, retain_graph=True)[0] for c in range(3)]
        return _Weights(torch.stack(rows, 1).detach())


def _mlp() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(6, 16, bias=False), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3)
    )


def _run(n_checkpoints: int = 3) -> _Run:
    states = []
    for _ in range(n_checkpoints):
        states.append({k: v.clone() for k, v in _mlp().state_dict().items()})
    return _Run(states, torch.randn(12, 6))


def test_per_checkpoint_values_equal_the_single_checkpoint_metrics() -> None:
    run = _run()
    out = phenomena_over_run(run, PHENOMENA, radius=0.3, progress=False)
    assert out["checkpoint"].tolist() == [0, 1, 2]
    assert out["epoch"].tolist() == [0.0, 0.5, 1.0]
    assert out["step"].tolist() == [0, 10, 20]
    for i in range(3):
        model = run.model_at(i)
        assert out["alignment"][i] == pytest.approx(neuron_alignment(model))
        assert out["weight_variation"][i] == pytest.approx(
            weight_variation(run.effective_weights(i))
        )
        lc = local_complexity(model, run.probe_inputs, radius=0.3)
        assert out["local_complexity"][i] == pytest.approx(float(lc.mean()))
        np.testing.assert_array_equal(out["local_complexity_per_sample"][i], lc.numpy())
    assert out["local_complexity_by_layer"].shape == (3, 2)
    np.testing.assert_allclose(
        out["local_complexity_by_layer"].sum(1), out["local_complexity"], rtol=1e-6
    )
    assert out["effective_rank"].shape == (3,)
    assert float(out["radius"]) == 0.3


def test_selected_metrics_checkpoints_and_default_radius() -> None:
    run = _run(4)
    out = phenomena_over_run(run, ("local_complexity",), checkpoints=[1, 3], progress=False)
    assert set(out) == {
        "checkpoint",
        "epoch",
        "step",
        "local_complexity",
        "local_complexity_per_sample",
        "local_complexity_by_layer",
        "radius",
    }
    assert out["checkpoint"].tolist() == [1, 3]
    assert float(out["radius"]) > 0
    with pytest.raises(ValueError, match="unknown phenomena"):
        phenomena_over_run(run, ("curvature",), progress=False)


def test_phenomena_of_a_recorded_run(monkeypatch: pytest.MonkeyPatch) -> None:
    import linlens_widgets as ll

    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(200, 16, generator=g), torch.randint(0, 3, (200,), generator=g)
    data = ll.Dataset.from_tensors(x, y)
    model = ll.models.mlp(data.n_features, [16], data.n_classes, bias=True, seed=0)
    recorder = ll.Recorder(model, data, probe=40)
    for step in range(3):  # three checkpoints of a model whose first layer turns and grows
        recorder.snapshot(epoch=step, step=step)
        with torch.no_grad():
            model[0].weight.add_(model[0].weight[:1].clone()).mul_(1.5)
    run = recorder.run
    out = phenomena_over_run(run, PHENOMENA, n_directions=4, progress=False)
    assert out["step"].tolist() == [c.step for c in run.checkpoints]
    assert out["local_complexity_per_sample"].shape == (3, 40)
    assert out["local_complexity_by_layer"].shape == (3, 1)
    assert np.all((out["alignment"] >= 0) & (out["alignment"] <= 1))
    assert out["alignment"][0] < out["alignment"][1] < out["alignment"][2]  # rows turned to row 0
    assert np.all((out["weight_variation"] > 0) & (out["weight_variation"] < 1))
    assert out["weight_variation"][-1] == weight_variation(run_weights(run).effective_weights(2))
    assert AnalysisStore(run).names == ["phenomena"]  # stored with the run

    calls = []
    model_at = run.model_at
    monkeypatch.setattr(run, "model_at", lambda i: calls.append(i) or model_at(i))
    again = phenomena_over_run(
        run, ("alignment", "local_complexity"), n_directions=4, progress=False
    )
    assert calls == []  # reused: same settings, subset of the stored metrics
    np.testing.assert_array_equal(again["local_complexity"], out["local_complexity"])
    assert "weight_variation" not in again
    phenomena_over_run(run, ("local_complexity",), n_directions=2, progress=False)
    assert calls == [0, 1, 2]  # other settings: computed afresh
    phenomena_over_run(run, ("alignment",), progress=False, recompute=True)
    assert calls == [0, 1, 2, 0, 1, 2]

    from linlens_widgets.analysis.metrics import over_run

    series = over_run(run, weight_variation, source="weights", progress=False)
    np.testing.assert_allclose(list(series), out["weight_variation"])


def test_checkpoint_positions_are_checked_and_normalised() -> None:
    run = _run()
    out = phenomena_over_run(run, ("alignment",), checkpoints=[-1, 0], progress=False)
    assert out["checkpoint"].tolist() == [2, 0]
    with pytest.raises(CheckpointIndexError, match="out of range: the run has 3 checkpoints"):
        phenomena_over_run(run, ("alignment",), checkpoints=[3], progress=False)
    with pytest.raises(CheckpointIndexError, match="not an epoch"):
        phenomena_over_run(run, ("alignment",), checkpoints=[0.5], progress=False)
    with pytest.raises(CheckpointIndexError, match="no checkpoints given"):
        phenomena_over_run(run, ("alignment",), checkpoints=[], progress=False)
