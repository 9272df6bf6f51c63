"""Exactness of effective_weights on random architectures, against independent references."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn
from torch.func import jacrev, vmap

from linlens_widgets.lens import _fast
from linlens_widgets.lens.effective import (
    EffectiveWeights,
    effective_weights,
    iter_effective_weights,
)

TOL = 1e-5


def _vmap_jacrev(model: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    """vmap(jacrev) reference, or None for models with PReLU: torch's batching rule for the
    PReLU backward raises or returns wrong values (the engine avoids vmap there too)."""
    if any(isinstance(m, nn.PReLU) for m in model.modules()):
        return None

    def f(xi: torch.Tensor) -> torch.Tensor:
        return model(xi.unsqueeze(0)).reshape(-1)

    return vmap(jacrev(f))(x)


def _check_exact(ew: EffectiveWeights, model: nn.Module, x: torch.Tensor, tools) -> None:
    ref = tools.reference_jacobian(model, x)
    assert ew.weight.shape == ref.shape
    assert tools.rel_error(ew.weight, ref) < TOL
    batched = _vmap_jacrev(model, x)
    if batched is not None:
        assert tools.rel_error(ew.weight, batched) < TOL
    with torch.no_grad():
        out = model(x).reshape(len(x), -1)
    assert tools.rel_error(ew.output, out) < TOL
    # f(x) = W_eff(x) x + b_eff(x)
    assert tools.rel_error(ew.apply(x), out) < TOL
    assert ew.exact


@pytest.mark.parametrize("seed", range(10))
def test_random_mlps_fast_path_is_exact(seed: int, lens_tools) -> None:
    model, d_in = lens_tools.random_mlp(random.Random(seed))
    assert _fast.make_plan(model) is not None
    x = torch.randn(6, d_in)
    _check_exact(effective_weights(model, x, batch_size=4), model, x, lens_tools)


@pytest.mark.parametrize("seed", range(10))
def test_random_cnns_fast_path_is_exact(seed: int, lens_tools) -> None:
    model, d_in = lens_tools.random_cnn(random.Random(100 + seed))
    assert _fast.make_plan(model) is not None, model
    x = torch.randn(5, d_in)
    _check_exact(effective_weights(model, x, batch_size=3), model, x, lens_tools)


@pytest.mark.parametrize("seed", range(6))
def test_random_residual_nets_general_path_is_exact(seed: int, lens_tools) -> None:
    model, d_in = lens_tools.random_residual(random.Random(200 + seed))
    assert _fast.make_plan(model) is None
    x = torch.randn(5, d_in)
    _check_exact(effective_weights(model, x, batch_size=2), model, x, lens_tools)


@pytest.mark.parametrize("seed", range(6))
def test_fast_and_general_paths_agree(seed: int, lens_tools) -> None:
    rng = random.Random(300 + seed)
    model, d_in = (lens_tools.random_cnn if seed % 2 else lens_tools.random_mlp)(rng)
    x = torch.randn(7, d_in)
    fast = effective_weights(model, x, return_patterns=True)
    general = effective_weights(lens_tools.Wrapped(model), x, return_patterns=True)
    assert lens_tools.rel_error(fast.weight, general.weight) < TOL
    assert lens_tools.rel_error(fast.output, general.output) < TOL
    assert (fast.bias is None) == (general.bias is None)
    if fast.bias is not None:
        assert torch.allclose(fast.bias, general.bias, atol=1e-5, rtol=1e-4)
    assert len(fast.patterns) == len(general.patterns)
    for a, b in zip(fast.patterns, general.patterns, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("builder", ["random_mlp", "random_cnn", "random_residual"])
def test_bias_is_none_exactly_when_the_net_has_no_offset(builder: str, lens_tools) -> None:
    build = getattr(lens_tools, builder)
    free, d_in = build(random.Random(7), bias=False)
    x = torch.randn(4, d_in)
    ew = effective_weights(free, x)
    assert ew.bias is None
    # bias-free ReLU nets are positively homogeneous: f(x) = W_eff(x) x
    assert lens_tools.rel_error(ew.apply(x), ew.output) < TOL
    with_bias, d_in = build(random.Random(7), bias=True)
    ew = effective_weights(with_bias, torch.randn(4, d_in))
    assert ew.bias is not None and ew.bias.shape == ew.output.shape
    assert ew.bias.abs().max() > 0


def test_batchnorm_in_eval_mode_gives_a_bias_even_without_linear_biases(lens_tools) -> None:
    model = nn.Sequential(nn.Linear(5, 4, bias=False), nn.BatchNorm1d(4), nn.ReLU()).eval()
    with torch.no_grad():
        model[1].running_mean.fill_(0.3)
    x = torch.randn(6, 5)
    ew = effective_weights(model, x)
    assert ew.bias is not None
    assert lens_tools.rel_error(ew.apply(x), model(x)) < TOL
    assert effective_weights(lens_tools.Wrapped(model), x).bias is not None


def test_custom_module_offsets_are_detected(lens_tools) -> None:
    class Shift(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(x - 0.5) * 2.0

    class Scale(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.maximum(x, torch.zeros_like(x)) * 2.0 + x

    x = torch.randn(5, 3)
    assert effective_weights(Shift(), x).bias is not None
    ew = effective_weights(Scale(), x)
    assert ew.bias is None
    assert lens_tools.rel_error(ew.weight, lens_tools.reference_jacobian(Scale(), x)) < TOL


def test_chunking_does_not_change_results() -> None:
    model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
    x = torch.randn(23, 10)
    whole = effective_weights(model, x, return_patterns=True)
    for batch_size in (1, 5, 100):
        part = effective_weights(model, x, batch_size=batch_size, return_patterns=True)
        assert torch.allclose(part.weight, whole.weight, atol=1e-6)
        assert torch.allclose(part.bias, whole.bias, atol=1e-6)
        assert all(torch.equal(a, b) for a, b in zip(part.patterns, whole.patterns, strict=True))


def test_linear_only_and_single_layer_models(lens_tools) -> None:
    x = torch.randn(4, 6)
    linear = nn.Linear(6, 3)
    ew = effective_weights(linear, x)  # a bare module: general path
    assert torch.allclose(ew.weight, linear.weight.expand(4, 3, 6))
    seq = nn.Sequential(nn.Linear(6, 5), nn.Linear(5, 2, bias=False))
    ew = effective_weights(seq, x)
    assert torch.allclose(ew.weight[0], seq[1].weight @ seq[0].weight, atol=1e-6)
    relu_only = nn.Sequential(nn.ReLU())
    ew = effective_weights(relu_only, x)
    assert torch.equal(ew.weight, torch.diag_embed((x > 0).float()))
    assert ew.bias is None


def test_multidimensional_output_is_flattened(lens_tools) -> None:
    model = nn.Sequential(nn.Unflatten(1, (1, 6, 6)), nn.Conv2d(1, 2, 3), nn.ReLU()).eval()
    x = torch.randn(3, 36)
    ew = effective_weights(model, x)
    assert ew.weight.shape == (3, 2 * 4 * 4, 36)
    assert ew.output.shape == (3, 32)
    assert lens_tools.rel_error(ew.weight, lens_tools.reference_jacobian(model, x)) < TOL


def test_image_inputs_keep_their_shape(lens_tools) -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(32, 4)).eval()
    x = torch.randn(3, 1, 6, 6)
    ew = effective_weights(model, x)
    assert ew.weight.shape == (3, 4, 1, 6, 6)
    assert ew.flat().shape == (3, 4 * 36)
    assert ew.reshape_images((6, 6)).shape == (3, 4, 6, 6)
    assert lens_tools.rel_error(ew.weight, lens_tools.reference_jacobian(model, x)) < TOL


def test_patterns_returned_only_on_request() -> None:
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 6), nn.PReLU(), nn.Linear(6, 2))
    x = torch.randn(9, 4)
    assert effective_weights(model, x).patterns is None
    pats = effective_weights(model, x, return_patterns=True).patterns
    with torch.no_grad():
        pre1 = model[0](x)
        pre2 = model[2](model[1](pre1))
    assert [p.dtype for p in pats] == [torch.bool, torch.bool]
    assert torch.equal(pats[0], pre1 > 0) and torch.equal(pats[1], pre2 > 0)


def test_model_is_left_untouched() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    effective_weights(model, torch.randn(5, 4))
    effective_weights(model, torch.randn(5, 4), linearize=True)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not model.training
    assert all(p.grad is None for p in model.parameters())


def test_getitem_selects_samples() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = torch.randn(6, 3)
    ew = effective_weights(model, x, return_patterns=True)
    sub = ew[torch.tensor([1, 4])]
    assert torch.equal(sub.weight, ew.weight[[1, 4]]) and torch.equal(sub.bias, ew.bias[[1, 4]])
    assert len(ew[-1]) == 1 and torch.equal(ew[-1].weight, ew.weight[-1:])


@pytest.mark.parametrize("device", ["cpu", *(["cuda"] if torch.cuda.is_available() else [])])
def test_device_results_follow_x(device: str, lens_tools) -> None:
    model, d_in = lens_tools.random_cnn(random.Random(5))
    model = model.to(device)
    x = torch.randn(4, d_in)
    ew = effective_weights(model, x, device=device)
    assert ew.weight.device == x.device
    ref = lens_tools.reference_jacobian(model.cpu(), x)
    assert lens_tools.rel_error(ew.weight, ref) < TOL


def test_float64_models_are_computed_in_float64(lens_tools) -> None:
    model = nn.Sequential(nn.Linear(5, 7), nn.LeakyReLU(), nn.Linear(7, 2)).double()
    x = torch.randn(4, 5)
    ew = effective_weights(model, x)
    assert ew.weight.dtype == torch.float64
    assert lens_tools.rel_error(ew.weight, lens_tools.reference_jacobian(model, x.double())) < 1e-12


def test_wide_outputs_use_forward_mode_and_stay_exact(lens_tools) -> None:
    model = lens_tools.Wrapped(nn.Sequential(nn.Linear(3, 12), nn.ReLU(), nn.Linear(12, 9)))
    x = torch.randn(5, 3)  # C = 9 > D = 3: jacfwd
    ew = effective_weights(model, x)
    assert lens_tools.rel_error(ew.weight, lens_tools.reference_jacobian(model, x)) < TOL


def test_iter_effective_weights_streams_chunks() -> None:
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    x = torch.randn(11, 6)
    whole = effective_weights(model, x)
    chunks = list(iter_effective_weights(model, x, batch_size=4))
    assert [len(c) for c in chunks] == [4, 4, 3]
    assert torch.allclose(torch.cat([c.weight for c in chunks]), whole.weight)


def test_empty_input_is_refused() -> None:
    with pytest.raises(ValueError, match="no samples"):
        effective_weights(nn.Linear(3, 2), torch.empty(0, 3))


@pytest.mark.parametrize(
    ("pool", "side"),
    [
        (nn.MaxPool2d(2), 6),  # windows tile the input: one-hot mask adjoint
        (nn.MaxPool2d(2), 7),  # remainder: scatter adjoint
        (nn.MaxPool2d(3, stride=1, padding=1), 6),  # overlapping windows
        (nn.MaxPool2d(2, ceil_mode=True), 7),
        (nn.MaxPool2d((2, 3)), 6),
    ],
)
def test_maxpool_variants_after_relu_ties(pool: nn.Module, side: int, lens_tools) -> None:
    model = nn.Sequential(
        nn.Unflatten(1, (1, side, side)),
        nn.Conv2d(1, 3, 3, padding=1),
        nn.ReLU(),  # zeros make whole windows tie
        pool,
        nn.Flatten(),
    ).eval()
    features = model(torch.zeros(1, side * side)).shape[1]
    model.append(nn.Linear(features, 3))
    x = torch.randn(5, side * side)
    ew = effective_weights(model, x)
    assert lens_tools.rel_error(ew.weight, lens_tools.reference_jacobian(model, x)) < TOL
    general = effective_weights(lens_tools.Wrapped(model), x)
    assert lens_tools.rel_error(ew.weight, general.weight) < TOL


def test_maxpool1d_tiled(lens_tools) -> None:
    model = nn.Sequential(
        nn.Unflatten(1, (2, 8)), nn.Conv1d(2, 3, 3, padding=1), nn.MaxPool1d(2), nn.Flatten()
    ).eval()
    x = torch.randn(4, 16)
    ew = effective_weights(model, x)
    assert lens_tools.rel_error(ew.weight, lens_tools.reference_jacobian(model, x)) < TOL
