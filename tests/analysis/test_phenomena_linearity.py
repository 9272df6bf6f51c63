import math
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from linlens_widgets.analysis.phenomena import weight_variation


def _jacobian_weights(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Per-sample Jacobian df/dx (N, C, D): the effective weights, computed independently."""
    x = x.clone().requires_grad_(True)
    y = model(x)
    rows = [torch.autograd.grad(y[:, c].sum(), x, retain_graph=True)[0] for c in range(y.shape[1])]
    return torch.stack(rows, 1).detach()


@dataclass
class _Weights:
    weight: torch.Tensor


def test_linear_network_has_zero_variation() -> None:
    model = nn.Sequential(nn.Linear(7, 5, bias=False), nn.Linear(5, 3, bias=False))
    w = _jacobian_weights(model, torch.randn(20, 7))
    assert weight_variation(w) == 0.0
    assert weight_variation(_Weights(w), normalise="mean") == 0.0


def test_weights_that_average_out_to_zero_give_one() -> None:
    w = torch.randn(4, 6)
    assert weight_variation(torch.stack([w, -w])) == pytest.approx(1.0)
    assert math.isnan(weight_variation(torch.stack([w, -w]), normalise="mean"))


def test_two_regions_match_the_closed_form() -> None:
    a, b = torch.randn(3, 5).double(), torch.randn(3, 5).double()
    w = torch.stack([a, b, a, b])
    spread = float(((a - b) ** 2).sum()) / 4
    energy = float((a**2).sum() + (b**2).sum()) / 2
    mean_sq = float((((a + b) / 2) ** 2).sum())
    assert weight_variation(w) == pytest.approx(spread / energy, rel=1e-12)
    assert weight_variation(w, normalise="mean") == pytest.approx(spread / mean_sq, rel=1e-12)
    e = weight_variation(w)
    assert weight_variation(w, normalise="mean") == pytest.approx(e / (1 - e), rel=1e-12)


def test_relu_networks_vary_and_image_shaped_weights_are_flattened() -> None:
    relu = nn.Sequential(nn.Linear(10, 32, bias=False), nn.ReLU(), nn.Linear(32, 4, bias=False))
    w = _jacobian_weights(relu, torch.randn(50, 10))
    value = weight_variation(w)
    assert 0.05 < value < 1.0
    assert weight_variation(w.reshape(50, 4, 2, 5)) == pytest.approx(value, rel=1e-12)


def test_bias_free_relu_with_antipodal_neuron_pairs_is_linear() -> None:
    # Neurons (w, a) and (-w, -a): a relu(w·x) - a relu(-w·x) = a (w·x), the same W_eff everywhere.
    w1 = torch.randn(6, 8)
    a = torch.randn(3, 6)
    model = nn.Sequential(nn.Linear(8, 12, bias=False), nn.ReLU(), nn.Linear(12, 3, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.cat([w1, -w1]))
        model[2].weight.copy_(torch.cat([a, -a], dim=1))
    w = _jacobian_weights(model, torch.randn(40, 8))
    assert weight_variation(w) < 1e-12


def test_errors_name_the_shape() -> None:
    with pytest.raises(ValueError, match=r"\(N, C, \*input_shape\)"):
        weight_variation(torch.randn(5))
    with pytest.raises(ValueError, match="normalise"):
        weight_variation(torch.randn(3, 2, 2), normalise="max")  # type: ignore[arg-type]
    assert math.isnan(weight_variation(torch.zeros(3, 2, 2)))
