"""weight_features: exact isometry with the flattened effective weights, folded or not."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from linlens_widgets.lens import effective as effective_module
from linlens_widgets.lens.effective import effective_weights, weight_features


def _assert_isometric(features: torch.Tensor, weights: torch.Tensor) -> None:
    gram_f = features.double() @ features.double().T
    gram_w = weights.double() @ weights.double().T
    assert torch.allclose(gram_f, gram_w, rtol=1e-4, atol=1e-5 * gram_w.abs().max().item())
    dist_f = torch.cdist(features.double(), features.double())
    dist_w = torch.cdist(weights.double(), weights.double())
    assert torch.allclose(dist_f, dist_w, rtol=1e-3, atol=1e-4 * dist_w.max().item())


@pytest.mark.parametrize("bias", [False, True])
def test_folded_features_are_isometric_and_small(bias: bool) -> None:
    model = nn.Sequential(
        nn.Linear(40, 12, bias=bias),
        nn.ReLU(),
        nn.Linear(12, 9, bias=bias),
        nn.LeakyReLU(0.1),
        nn.Linear(9, 4, bias=bias),
    ).eval()
    x = torch.randn(30, 40)
    features = weight_features(model, x, batch_size=7)
    assert features.shape == (30, 4 * 12)
    _assert_isometric(features, effective_weights(model, x).flat())


def test_folding_after_flatten_keeps_image_inputs() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 8), nn.ReLU(), nn.Linear(8, 3))
    x = torch.randn(10, 1, 6, 6)
    features = weight_features(model, x)
    assert features.shape == (10, 3 * 8)
    _assert_isometric(features, effective_weights(model, x).flat())


@pytest.mark.parametrize(
    "model",
    [
        nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 3)),  # h1 >= D: no fold
        nn.Sequential(nn.ReLU(), nn.Linear(6, 3)),  # starts with an activation
    ],
)
def test_unfoldable_stacks_fall_back_to_flat_weights(model: nn.Module) -> None:
    x = torch.randn(8, 6)
    features = weight_features(model, x, batch_size=3)
    assert torch.allclose(features, effective_weights(model, x).flat())


def test_general_path_models_fall_back_to_flat_weights(lens_tools) -> None:
    model, d_in = lens_tools.random_residual(random.Random(3))
    x = torch.randn(6, d_in)
    features = weight_features(model, x)
    assert torch.allclose(features, effective_weights(model, x).flat(), atol=1e-6)


def test_rank_deficient_first_layer_uses_a_stable_factor() -> None:
    model = nn.Sequential(nn.Linear(20, 6, bias=False), nn.ReLU(), nn.Linear(6, 3, bias=False))
    with torch.no_grad():
        model[0].weight[3:] = model[0].weight[:3] * 2.0  # rank 3 < 6: Cholesky breaks down
    factor = effective_module._gram_factor(model[0].weight.detach())
    gram = model[0].weight.detach().double() @ model[0].weight.detach().double().T
    assert torch.allclose(factor @ factor.T, gram, atol=1e-10)
    x = torch.randn(12, 20)
    _assert_isometric(weight_features(model, x), effective_weights(model, x).flat())


def test_chunked_features_match_unchunked() -> None:
    model = nn.Sequential(nn.Linear(30, 8), nn.ReLU(), nn.Linear(8, 5)).eval()
    x = torch.randn(17, 30)
    whole = weight_features(model, x)
    for batch_size in (1, 4, 50):
        assert torch.allclose(weight_features(model, x, batch_size=batch_size), whole, atol=1e-6)
