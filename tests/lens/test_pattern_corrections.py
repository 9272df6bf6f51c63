"""Pinned ReLU states keep a float16-stored MLP's W_eff at float16 accuracy."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import linlens_widgets as ll
from linlens_widgets.lens.pattern_corrections import corrections, supports
from linlens_widgets.lens.portable import portable_network
from linlens_widgets.lens.portable_module import to_module


def _flipping_mlp() -> nn.Sequential:
    """Unit 0's pre-activation for x = [1, 1] is +1e-4 in float32 and 0 after float16 rounding."""
    model = nn.Sequential(nn.Linear(2, 2, bias=False), nn.ReLU(), nn.Linear(2, 1, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, -0.9999], [0.5, 0.25]]))
        model[2].weight.copy_(torch.tensor([[1.0, 1.0]]))
    return model.eval()


def _rel(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got.double() - want.double()).norm() / want.double().norm())


def test_a_unit_that_rounding_switches_off_is_pinned_to_its_float32_state() -> None:
    model = _flipping_mlp()
    x = torch.ones(1, 2)
    exact = ll.effective_weights(model, x)
    rounded = ll.effective_weights(to_module(portable_network(model), "float16"), x)
    assert _rel(rounded.weight, exact.weight) > 0.5  # the flip: a whole unit lost
    fixed = corrections(portable_network(model), x, "float16")
    assert (fixed.sample.tolist(), fixed.op.tolist(), fixed.unit.tolist()) == ([0], [1], [0])
    assert fixed.active.tolist() == [1]
    assert _rel(fixed.weight.reshape(exact.weight.shape), exact.weight) < 1e-3
    assert _rel(fixed.output.reshape(exact.output.shape), exact.output) < 1e-3


@pytest.mark.parametrize("bias", [False, True])
def test_trained_mlp_stored_as_float16_matches_the_engine_within_tolerance(bias: bool) -> None:
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [64, 64], data.n_classes, bias=bias, seed=0)
    run = ll.train(model, data, epochs=1, checkpoints=2, seed=0, progress=False)
    x = run.probe_inputs.float().reshape(len(run.probe_labels), -1)
    net = portable_network(run.model_at(-1))
    assert supports(net)
    exact = ll.effective_weights(run.model_at(-1), x)
    fixed = corrections(net, x, "float16")
    per_sample = (fixed.weight - exact.weight.double().reshape(fixed.weight.shape)).flatten(1).norm(
        dim=1
    ) / exact.weight.double().flatten(1).norm(dim=1)
    assert float(per_sample.max()) < 2e-3
    same = corrections(net, x, "float32")
    assert _rel(same.weight.reshape(exact.weight.shape), exact.weight) < 1e-5


def test_convolutional_stacks_are_not_covered() -> None:
    net = portable_network(ll.models.cnn((8, 8), 10, channels=(2, 2), seed=0).eval())
    assert not supports(net)
    with pytest.raises(ValueError, match="linear/relu/affine"):
        corrections(net, torch.zeros(1, 64), "float16")


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_a_portable_network_rebuilt_as_a_module_computes_the_same_function(kind: str) -> None:
    torch.manual_seed(0)
    if kind == "mlp":
        model = nn.Sequential(
            nn.Linear(6, 5), nn.BatchNorm1d(5), nn.LeakyReLU(0.1), nn.Linear(5, 3)
        )
        x = torch.randn(4, 6)
    else:
        model = ll.models.cnn((8, 8), 10, channels=(2, 2), seed=0)
        x = torch.randn(4, 64)
    model.eval()
    rebuilt = to_module(portable_network(model, tuple(x.shape[1:])))
    assert torch.allclose(rebuilt(x), model(x).reshape(len(x), -1), atol=1e-5)
