import math

import numpy as np
import pytest
import torch
from torch import nn

from linlens_widgets.analysis.phenomena import effective_rank, neuron_alignment


def _pairwise_reference(w: torch.Tensor, weighting: str) -> float:
    """Mean (or norm-weighted mean) of cos² over ordered pairs i != j, by explicit loops."""
    w = w.double()
    num = den = 0.0
    for i in range(w.shape[0]):
        for j in range(w.shape[0]):
            if i == j:
                continue
            ni, nj = w[i].norm(), w[j].norm()
            cos2 = float((w[i] @ w[j]) ** 2 / (ni * nj) ** 2)
            pair = 1.0 if weighting == "uniform" else float(ni**2 * nj**2)
            num += pair * cos2
            den += pair
    return num / den


def test_identical_directions_up_to_sign_and_scale_give_one() -> None:
    direction = torch.randn(1, 40)
    scales = torch.tensor([1.0, -3.0, 0.5, -0.1, 7.0])[:, None]
    w = direction * scales
    assert neuron_alignment(w) == pytest.approx(1.0, abs=1e-12)
    assert neuron_alignment(w, weighting="norm") == pytest.approx(1.0, abs=1e-12)


def test_random_gaussian_neurons_in_high_dimension_are_near_zero() -> None:
    d = 1000
    value = neuron_alignment(torch.randn(200, d))
    assert value < 0.01
    assert value == pytest.approx(1 / d, rel=0.2)  # E[cos²] = 1/d for independent directions


def test_two_orthogonal_groups_give_the_pair_fraction() -> None:
    m = 6
    e1, e2 = torch.eye(10)[:2]
    w = torch.cat([e1.repeat(m, 1) * torch.rand(m, 1), e2.repeat(m, 1) * -torch.rand(m, 1)])
    # Same-group ordered pairs have cos² = 1: 2 m (m - 1) of the 2m (2m - 1) pairs.
    assert neuron_alignment(w) == pytest.approx((m - 1) / (2 * m - 1), abs=1e-12)


@pytest.mark.parametrize("weighting", ["uniform", "norm"])
def test_matches_explicit_pairwise_cosines(weighting: str) -> None:
    w = torch.randn(9, 5) * torch.rand(9, 1)
    assert neuron_alignment(w, weighting=weighting) == pytest.approx(
        _pairwise_reference(w, weighting), rel=1e-10
    )


def test_norm_weighting_discounts_neurons_that_never_grew() -> None:
    grown = torch.randn(1, 100).repeat(5, 1) * 3.0
    dormant = torch.randn(60, 100) * 1e-3
    w = torch.cat([grown, dormant])
    assert neuron_alignment(w) < 0.2
    assert neuron_alignment(w, weighting="norm") > 0.99


def test_module_uses_its_first_linear_layer_and_accepts_numpy() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 7), nn.ReLU(), nn.Linear(7, 3))
    expected = neuron_alignment(model[1].weight)
    assert neuron_alignment(model) == expected
    assert neuron_alignment(model[1].weight.detach().numpy()) == pytest.approx(expected)


def test_module_with_a_convolution_first_uses_its_kernels() -> None:
    model = nn.Sequential(
        nn.Unflatten(1, (1, 4, 4)), nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(24, 2)
    )
    assert neuron_alignment(model) == pytest.approx(neuron_alignment(model[1].weight.reshape(6, 9)))
    assert effective_rank(model) == pytest.approx(effective_rank(model[1].weight.reshape(6, 9)))


def test_zero_rows_are_ignored_and_too_few_neurons_are_reported() -> None:
    direction = torch.randn(1, 8)
    w = torch.cat([direction, torch.zeros(3, 8), -direction])
    assert neuron_alignment(w) == pytest.approx(1.0)
    assert math.isnan(neuron_alignment(torch.cat([direction, torch.zeros(2, 8)])))
    with pytest.raises(ValueError, match="at least two neurons"):
        neuron_alignment(torch.randn(1, 8))
    with pytest.raises(ValueError, match=r"weight matrix \(h, d\)"):
        neuron_alignment(torch.randn(8))
    with pytest.raises(ValueError, match=r"no nn\.Linear or convolution"):
        neuron_alignment(nn.Sequential(nn.ReLU()))
    with pytest.raises(ValueError, match="weighting"):
        neuron_alignment(torch.randn(3, 3), weighting="cosine")  # type: ignore[arg-type]


def test_effective_rank_of_rank_one_and_identity() -> None:
    assert effective_rank(torch.outer(torch.randn(20), torch.randn(30))) == pytest.approx(1.0)
    assert effective_rank(torch.eye(6)) == pytest.approx(6.0)
    assert effective_rank(np.diag([1.0, 1.0, 0.0])) == pytest.approx(2.0)
    assert math.isnan(effective_rank(torch.zeros(3, 4)))
