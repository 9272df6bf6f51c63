"""Refusals: non-piecewise-linear layers and ops, training mode, wrong input shapes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from linlens_widgets.lens.effective import effective_weights, weight_features
from linlens_widgets.lens.layers import TrainingModeError, UnsupportedLayerError


@pytest.mark.parametrize(
    ("layer", "name"),
    [
        (nn.GELU(), "GELU"),
        (nn.Sigmoid(), "Sigmoid"),
        (nn.Tanh(), "Tanh"),
        (nn.Softmax(dim=1), "Softmax"),
        (nn.LayerNorm(6), "LayerNorm"),
    ],
)
def test_smooth_layers_are_refused_with_their_path(layer: nn.Module, name: str) -> None:
    model = nn.Sequential(nn.Linear(4, 6), layer, nn.Linear(6, 2))
    with pytest.raises(UnsupportedLayerError, match=f"1: {name}"):
        effective_weights(model, torch.randn(3, 4))
    assert issubclass(UnsupportedLayerError, TypeError)


def test_nested_path_is_named() -> None:
    model = nn.Sequential(nn.Linear(4, 6), nn.Sequential(nn.ReLU(), nn.SiLU()), nn.Linear(6, 2))
    with pytest.raises(UnsupportedLayerError, match=r"1\.1: SiLU"):
        effective_weights(model, torch.randn(3, 4))


class TanhBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.tanh(self.fc(x))


class Squares(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * x


class Normalise(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / x.abs().sum(dim=1, keepdim=True)


class ManualRelu(nn.Module):
    """Piecewise-linear although written with a product: x * (x > 0)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (x > 0).float() + torch.sigmoid(torch.ones(1)) * 0.0


@pytest.mark.parametrize(
    ("module", "pattern"),
    [
        (TanhBlock(), r"block: TanhBlock calls aten\.tanh"),
        (Squares(), r"block: Squares calls aten\.mul, which multiplies two input-dependent"),
        (Normalise(), r"block: Normalise calls aten\.div, which divides by"),
    ],
)
def test_custom_modules_are_checked_op_by_op(module: nn.Module, pattern: str) -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = module
            self.head = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.block(x))

    with pytest.raises(UnsupportedLayerError, match=pattern):
        effective_weights(Net(), torch.randn(3, 4))


def test_piecewise_constant_factors_and_constant_smooth_ops_are_accepted(lens_tools) -> None:
    model = nn.Sequential(nn.Linear(4, 5), ManualRelu(), nn.Linear(5, 2))
    x = torch.randn(6, 4)
    ew = effective_weights(model, x)
    assert ew.exact
    assert lens_tools.rel_error(ew.weight, lens_tools.reference_jacobian(model, x)) < 1e-5


def test_linearize_returns_the_local_jacobian_marked_inexact(lens_tools) -> None:
    model = nn.Sequential(nn.Linear(4, 6), nn.GELU(), nn.LayerNorm(6), nn.Linear(6, 3))
    x = torch.randn(5, 4)
    ew = effective_weights(model, x, linearize=True)
    assert not ew.exact
    assert ew.bias is not None
    assert lens_tools.rel_error(ew.weight, lens_tools.reference_jacobian(model, x)) < 1e-5
    assert lens_tools.rel_error(ew.apply(x), model(x)) < 1e-5
    exact = effective_weights(nn.Sequential(nn.Linear(4, 2), nn.ReLU()), x, linearize=True)
    assert exact.exact


@pytest.mark.parametrize(
    "model",
    [
        nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.ReLU(), nn.Linear(4, 2)),
        nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)),
    ],
)
def test_training_mode_is_refused_without_switching(model: nn.Module) -> None:
    model.train()
    before = [b.clone() for b in model.buffers()]
    for linearize in (False, True):
        with pytest.raises(TrainingModeError, match=r"1: \w+ is in training mode.*model\.eval\(\)"):
            effective_weights(model, torch.randn(3, 4), linearize=linearize)
    assert model.training
    assert all(torch.equal(a, b) for a, b in zip(before, model.buffers(), strict=True))
    model.eval()
    assert effective_weights(model, torch.randn(3, 4)).exact


def test_training_mode_without_dropout_or_batchnorm_is_fine() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)).train()
    assert effective_weights(model, torch.randn(3, 4)).weight.shape == (3, 2, 4)


def test_random_ops_in_custom_modules_are_refused() -> None:
    class Noisy(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + torch.randn_like(x)

    with pytest.raises(UnsupportedLayerError, match=r"aten\.randn"):
        effective_weights(Noisy(), torch.randn(3, 4))


@pytest.mark.parametrize(
    ("model", "x", "pattern"),
    [
        (
            nn.Sequential(nn.Linear(784, 10)),
            torch.randn(2, 64),
            r"expects .*\(N, 784\).*got \(2, 64\)",
        ),
        (
            nn.Sequential(nn.Flatten(), nn.Linear(784, 10)),
            torch.randn(2, 8, 8),
            r"0: Linear|1: Linear",
        ),
        (
            nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()),
            torch.randn(2, 1, 8, 8),
            r"0: Conv2d expects inputs of shape \(N, 3, H, W\).*got \(2, 1, 8, 8\)",
        ),
        (
            nn.Sequential(nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 2, 3)),
            torch.randn(2, 64),
            r"0: Unflatten expects inputs of shape \(N, 784\).*got \(2, 64\)",
        ),
    ],
)
def test_wrong_input_shapes_name_expected_and_actual(
    model: nn.Module, x: torch.Tensor, pattern: str
) -> None:
    with pytest.raises(ValueError, match=pattern):
        effective_weights(model, x)


def test_general_path_shape_errors_are_value_errors() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(5, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x) + 1

    with pytest.raises(ValueError, match=r"input of shape \(3, 4\)"):
        effective_weights(Net(), torch.randn(3, 4))
    with pytest.raises(ValueError, match="batch of inputs"):
        effective_weights(Net(), torch.randn(5))


def test_weight_features_refuse_smooth_layers() -> None:
    with pytest.raises(UnsupportedLayerError, match="1: Tanh"):
        weight_features(nn.Sequential(nn.Linear(4, 3), nn.Tanh()), torch.randn(2, 4))


def test_batchnorm_without_running_statistics_is_refused() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3, track_running_stats=False)).eval()
    with pytest.raises(UnsupportedLayerError, match=r"1: BatchNorm1d has no running statistics"):
        effective_weights(model, torch.randn(5, 4))


def test_linear_ops_of_custom_modules_are_accepted(lens_tools) -> None:
    class Mixer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)
            self.head = nn.Linear(2 * 8 * 8 + 2, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.conv(x.view(-1, 1, 4, 4))
            h = torch.nn.functional.interpolate(h, scale_factor=2.0, mode="nearest")
            h = torch.nn.functional.relu6(h).flatten(1)
            pooled = h.view(-1, 2, 64).amax(dim=2)
            h = torch.cat([h, pooled.clamp(min=0.1)], dim=1)
            h.mul_(0.5)
            return self.head(h)

    model, x = Mixer(), torch.randn(4, 16)
    ew = effective_weights(model, x)
    assert ew.exact and ew.bias is not None
    assert lens_tools.rel_error(ew.weight, lens_tools.reference_jacobian(model, x)) < 1e-5


def test_device_must_hold_the_model() -> None:
    with pytest.raises(ValueError, match="model is on cpu"):
        effective_weights(nn.Linear(3, 2), torch.randn(2, 3), device="meta")
