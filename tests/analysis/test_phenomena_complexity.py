import itertools

import pytest
import torch
from torch import nn

from linlens_widgets.analysis.phenomena import (
    boundary_points,
    cross_polytope,
    default_radius,
    local_complexity,
    random_directions,
)
from linlens_widgets.lens.layers import UnsupportedLayerError


def _neuron(weight: list[float], bias: float) -> nn.Sequential:
    """One ReLU neuron ``relu(w·x + b)`` with the given hyperplane."""
    model = nn.Sequential(nn.Linear(len(weight), 1), nn.ReLU())
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([weight]))
        model[0].bias.fill_(bias)
    return model


def test_single_neuron_in_one_dimension_counts_boundaries_within_radius() -> None:
    model = _neuron([1.0], -0.5)  # boundary at x = 0.5
    x = torch.tensor([[0.45], [0.35], [0.29], [0.71], [0.9]])
    assert local_complexity(model, x, radius=0.2).tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("seed", range(5))
def test_single_neuron_in_the_plane_distance_below_and_above_radius(seed: int) -> None:
    # Hyperplane x0 + x1 = 0 (unit normal (1, 1)/√2); points at distance 0.5 r and 1.5 r from it.
    # With k = D = 2 the cross-polytope reaches at least r/√2 along every direction.
    model = _neuron([1.0, 1.0], 0.0)
    r = 0.3
    normal = torch.tensor([1.0, 1.0]) / 2**0.5
    x = torch.stack([0.5 * r * normal, -0.5 * r * normal, 1.5 * r * normal, -1.5 * r * normal])
    counts = local_complexity(model, x, radius=r, n_directions=2, seed=seed)
    assert counts.tolist() == [1.0, 1.0, 0.0, 0.0]


def test_network_without_nonlinearity_has_no_boundaries() -> None:
    linear = nn.Sequential(nn.Linear(6, 5), nn.Linear(5, 3))
    x = torch.randn(10, 6)
    assert torch.equal(local_complexity(linear, x, radius=10.0), torch.zeros(10))
    assert local_complexity(linear, x, radius=10.0, by_layer=True).shape == (10, 0)


def test_first_layer_count_equals_hyperplanes_meeting_the_polytope() -> None:
    torch.manual_seed(1)
    d, h, k, r = 20, 40, 5, 0.7
    model = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, 3))
    x = torch.randn(30, d)
    counts = local_complexity(model, x, radius=r, n_directions=k, seed=3)
    q = random_directions(30, d, k, seed=3).double()  # the same neighbourhoods
    w, b = model[0].weight.double(), model[0].bias.double()
    margin = (x.double() @ w.T + b).abs()  # (N, h)
    reach = r * torch.einsum("hd,ndk->nhk", w, q).abs().amax(-1)  # r ||Qᵀ w||_∞
    expected = (margin < reach).sum(1).float()
    assert torch.equal(counts, expected)
    assert counts.sum() > 0


def test_deep_network_counts_are_bounded_and_sum_over_layers() -> None:
    model = nn.Sequential(
        nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 12), nn.LeakyReLU(0.1), nn.Linear(12, 2)
    )
    x = torch.randn(25, 8)
    per_layer = local_complexity(model, x, radius=0.5, by_layer=True)
    assert per_layer.shape == (25, 2)
    assert (per_layer[:, 0] <= 16).all() and (per_layer[:, 1] <= 12).all()
    assert (per_layer >= 0).all() and per_layer.sum() > 0
    assert torch.equal(per_layer.sum(1), local_complexity(model, x, radius=0.5))


def test_first_layer_count_grows_with_radius() -> None:
    model = nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 2))
    x = torch.randn(40, 10)
    radii = [0.05, 0.2, 0.8, 3.2]
    first = [local_complexity(model, x, radius=r, by_layer=True)[:, 0] for r in radii]
    for small, large in itertools.pairwise(first):
        assert (small <= large).all()
    assert first[-1].mean() > first[0].mean()


def test_batching_seed_and_mode_do_not_change_or_leak() -> None:
    model = nn.Sequential(nn.Linear(5, 20), nn.BatchNorm1d(20), nn.ReLU(), nn.Linear(20, 2))
    model.train()
    x = torch.randn(17, 5)
    a = local_complexity(model, x, radius=0.4, batch_size=4)
    b = local_complexity(model, x, radius=0.4, batch_size=256)
    assert torch.equal(a, b)  # eval-mode BatchNorm: each point's pattern is its own
    assert model.training  # training flag restored
    assert not local_complexity(model, x, radius=0.4).requires_grad


def test_module_called_twice_contributes_both_calls() -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b, self.act = nn.Linear(3, 4), nn.Linear(4, 5), nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.act(self.b(self.act(self.a(x))))

    model = Twice()
    counts = local_complexity(model, torch.randn(6, 3), radius=5.0, by_layer=True)
    assert counts.shape == (6, 2)  # one column per call
    assert (counts[:, 0] <= 4).all() and (counts[:, 1] <= 5).all()


def test_errors_name_the_problem() -> None:
    x = torch.randn(4, 3)
    with pytest.raises(UnsupportedLayerError, match="1: GELU"):
        local_complexity(nn.Sequential(nn.Linear(3, 3), nn.GELU()), x, radius=0.1)
    with pytest.raises(ValueError, match="radius"):
        local_complexity(_neuron([1.0, 0.0, 0.0], 0.0), x, radius=0.0)
    with pytest.raises(ValueError, match="batch"):
        local_complexity(_neuron([1.0, 0.0, 0.0], 0.0), torch.randn(3), radius=0.1)


def test_precomputed_directions_give_the_same_counts() -> None:
    model = nn.Sequential(nn.Linear(6, 30), nn.ReLU(), nn.Linear(30, 2))
    x = torch.randn(9, 6)
    q = random_directions(9, 6, 3, seed=4)
    expected = local_complexity(model, x, radius=0.5, n_directions=3, seed=4)
    assert torch.equal(local_complexity(model, x, radius=0.5, directions=q), expected)
    with pytest.raises(ValueError, match=r"directions must be \(N, D, k\)"):
        local_complexity(model, x, radius=0.5, directions=q[:5])


def test_max_pool_counts_outputs_whose_argmax_varies() -> None:
    model = nn.Sequential(nn.Unflatten(1, (1, 1, 2)), nn.MaxPool2d((1, 2)), nn.Flatten())
    # max(x0, x1): the boundary is x0 = x1, at distance |x0 - x1| / √2.
    x = torch.tensor([[0.0, 0.05], [0.0, 1.0]])
    assert local_complexity(model, x, radius=0.2, n_directions=2).tolist() == [1.0, 0.0]


def test_cross_polytope_vertices_are_at_radius_in_orthonormal_directions() -> None:
    q = random_directions(4, 9, 3, seed=0)
    assert torch.allclose(q.transpose(1, 2) @ q, torch.eye(3).expand(4, 3, 3), atol=1e-5)
    x = torch.randn(4, 3, 3)  # non-flat inputs keep their shape
    points = cross_polytope(x, q, 0.25)
    assert points.shape == (4, 7, 3, 3)
    assert torch.equal(points[:, 0], x)
    offsets = (points[:, 1:] - x[:, None]).flatten(2).norm(dim=-1)
    assert torch.allclose(offsets, torch.full((4, 6), 0.25), atol=1e-5)
    assert random_directions(2, 3, 8).shape == (2, 3, 3)  # capped at the input dimension


def test_default_radius_is_a_fraction_of_the_median_neighbour_gap() -> None:
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [3.0, 5.0], [10.0, 0.0]])
    # nearest gaps: 5, 1, 1, sqrt(49 + 16) -> median (1 + 5) / 2 = 3
    assert default_radius(x, fraction=0.5) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="coincide"):
        default_radius(torch.zeros(3, 2))


def test_boundary_points_lie_on_the_decision_boundary() -> None:
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    a, b = torch.randn(50, 4), torch.randn(50, 4)
    points = boundary_points(model, a, b, n_steps=40)
    with torch.no_grad():
        differ = model(a).argmax(1) != model(b).argmax(1)
        scores = model(points)
    assert len(points) == int(differ.sum()) > 0
    top2 = scores.topk(2, dim=1).values
    assert torch.allclose(top2[:, 0], top2[:, 1], atol=1e-4)  # two classes tie on the boundary
    assert boundary_points(model, a[:0], b[:0]).shape == (0, 4)
    with pytest.raises(ValueError, match="same shape"):
        boundary_points(model, a, b[:3])
