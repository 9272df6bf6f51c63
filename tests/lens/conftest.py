"""Random piecewise-linear architectures and an independent Jacobian reference for lens tests."""

from __future__ import annotations

import random
from collections.abc import Callable
from types import SimpleNamespace

import pytest
import torch
from torch import nn

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


def reference_jacobian(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Per-sample ``torch.autograd.functional.jacobian``: ``(N, C, *input_shape)``."""

    def f(xi: torch.Tensor) -> torch.Tensor:
        return model(xi.unsqueeze(0)).reshape(-1)

    return torch.stack([torch.autograd.functional.jacobian(f, xi) for xi in x])


def rel_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """Norm-wise relative error ``||a - b|| / ||b||`` (0 when both are zero)."""
    denom = b.norm().item()
    diff = (a - b).norm().item()
    return diff / denom if denom > 0 else diff


class Wrapped(nn.Module):
    """Hide a model behind a custom module so that the engine takes its general path."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


def _randomize_bn(bn: nn.Module, rng: random.Random) -> None:
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        if bn.weight is not None:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)


def _activation(rng: random.Random, channels: int) -> nn.Module:
    kind = rng.choice(["relu", "leaky", "prelu"])
    if kind == "relu":
        return nn.ReLU(inplace=rng.random() < 0.3)
    if kind == "leaky":
        return nn.LeakyReLU(rng.uniform(0.01, 0.3))
    prelu = nn.PReLU(rng.choice([1, channels]))
    with torch.no_grad():
        prelu.weight.uniform_(-0.3, 0.5)
    return prelu


def _out_shape(layers: list[nn.Module], in_shape: tuple[int, ...]) -> tuple[int, ...]:
    with torch.no_grad():
        return tuple(nn.Sequential(*layers).eval()(torch.zeros(2, *in_shape)).shape[1:])


def random_mlp(rng: random.Random, bias: bool | None = None) -> tuple[nn.Sequential, int]:
    """A random MLP stack: Linear / BN1d / activation / Dropout blocks, sometimes nested."""
    d_in = rng.randint(4, 12)
    width = d_in
    blocks: list[nn.Module] = []
    for _ in range(rng.randint(1, 4)):
        out = rng.randint(3, 16)
        use_bias = rng.random() < 0.5 if bias is None else bias
        block: list[nn.Module] = [nn.Linear(width, out, bias=use_bias)]
        if bias is not False and rng.random() < 0.3:
            bn = nn.BatchNorm1d(out, affine=rng.random() < 0.7)
            _randomize_bn(bn, rng)
            block.append(bn)
        block.append(_activation(rng, out))
        if rng.random() < 0.3:
            block.append(nn.Dropout(0.5))
        if rng.random() < 0.2:
            block.append(nn.Identity())
        if rng.random() < 0.4:
            blocks.append(nn.Sequential(*block))
        else:
            blocks.extend(block)
        width = out
    use_bias = rng.random() < 0.5 if bias is None else bias
    blocks.append(nn.Linear(width, rng.randint(1, 6), bias=use_bias))
    return nn.Sequential(*blocks).eval(), d_in


def random_cnn(rng: random.Random, bias: bool | None = None) -> tuple[nn.Sequential, int]:
    """A random conv stack on flat inputs: Unflatten, Conv1d/2d, BN, activations, pools."""
    two_d = rng.random() < 0.7
    side = rng.randint(6, 9)
    c_in = rng.choice([1, 2])
    spatial = (side, side) if two_d else (side * 2,)
    d_in = c_in * side * (side if two_d else 2)
    layers: list[nn.Module] = [nn.Unflatten(1, (c_in, *spatial))]
    conv, bn_cls = (nn.Conv2d, nn.BatchNorm2d) if two_d else (nn.Conv1d, nn.BatchNorm1d)
    maxpool, avgpool = (nn.MaxPool2d, nn.AvgPool2d) if two_d else (nn.MaxPool1d, nn.AvgPool1d)
    adaptive = nn.AdaptiveAvgPool2d if two_d else nn.AdaptiveAvgPool1d
    channels = c_in
    for _ in range(rng.randint(1, 2)):
        out = rng.randint(2, 5)
        groups = 2 if channels % 2 == 0 and out % 2 == 0 and rng.random() < 0.3 else 1
        use_bias = rng.random() < 0.5 if bias is None else bias
        layers.append(
            conv(
                channels,
                out,
                kernel_size=rng.choice([1, 2, 3]),
                stride=rng.choice([1, 1, 2]),
                padding=rng.choice([0, 1]),
                groups=groups,
                bias=use_bias,
            )
        )
        if bias is not False and rng.random() < 0.4:
            bn = bn_cls(out)
            _randomize_bn(bn, rng)
            layers.append(bn)
        layers.append(_activation(rng, out))
        size = _out_shape(layers, (d_in,))[1]
        pool = rng.choice(["max", "maxoverlap", "avg", "none"])
        if size >= 3 and pool == "max":
            layers.append(maxpool(2))
        elif size >= 3 and pool == "maxoverlap":
            layers.append(maxpool(3, stride=1, padding=1))
        elif size >= 3 and pool == "avg":
            layers.append(avgpool(2))
        channels = out
    if rng.random() < 0.4:
        layers.append(adaptive(rng.choice([1, 2])))
    if rng.random() < 0.3:
        layers.append(nn.Dropout(0.2))
    layers.append(nn.Flatten())
    features = _out_shape(layers, (d_in,))[0]
    use_bias = rng.random() < 0.5 if bias is None else bias
    layers.append(nn.Linear(features, rng.randint(1, 5), bias=use_bias))
    return nn.Sequential(*layers).eval(), d_in


class ResidualBlock(nn.Module):
    """``x + Linear(act(Linear(x)))`` with an optional projection and functional ReLU."""

    def __init__(self, rng: random.Random, width: int, bias: bool) -> None:
        super().__init__()
        hidden = rng.randint(3, 12)
        self.fc1 = nn.Linear(width, hidden, bias=bias)
        self.act = _activation(rng, hidden)
        self.fc2 = nn.Linear(hidden, width, bias=bias)
        self.scale = rng.uniform(0.5, 1.5)
        self.functional_relu = rng.random() < 0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc2(self.act(self.fc1(x)))
        out = x + self.scale * h
        return torch.relu(out) if self.functional_relu else out


class ConvResidualBlock(nn.Module):
    """A small ResNet-style block: conv-BN-ReLU-conv plus the skip, then ReLU."""

    def __init__(self, channels: int, bias: bool, rng: random.Random) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=bias)
        self.bn = nn.BatchNorm2d(channels)
        _randomize_bn(self.bn, rng)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(x + self.conv2(self.relu(self.bn(self.conv1(x)))))


def random_residual(rng: random.Random, bias: bool | None = None) -> tuple[nn.Module, int]:
    """A random residual net (MLP or conv blocks) on flat inputs."""
    use_bias = rng.random() < 0.5 if bias is None else bias
    if rng.random() < 0.6:
        d_in = rng.randint(4, 10)
        width = rng.randint(4, 10)
        layers: list[nn.Module] = [nn.Linear(d_in, width, bias=use_bias)]
        layers += [ResidualBlock(rng, width, use_bias) for _ in range(rng.randint(1, 3))]
        layers.append(nn.Linear(width, rng.randint(1, 4), bias=use_bias))
        return nn.Sequential(*layers).eval(), d_in
    side, channels = rng.randint(4, 6), rng.randint(2, 3)
    layers = [
        nn.Unflatten(1, (1, side, side)),
        nn.Conv2d(1, channels, 3, padding=1, bias=use_bias),
        ConvResidualBlock(channels, use_bias, rng),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(channels * (side // 2) ** 2, rng.randint(1, 4), bias=use_bias),
    ]
    return nn.Sequential(*layers).eval(), side * side


Builder = Callable[..., tuple[nn.Module, int]]


@pytest.fixture
def lens_tools() -> SimpleNamespace:
    """Helpers shared by the lens tests (tests cannot import conftest under importlib mode)."""
    return SimpleNamespace(
        reference_jacobian=reference_jacobian,
        rel_error=rel_error,
        Wrapped=Wrapped,
        random_mlp=random_mlp,
        random_cnn=random_cnn,
        random_residual=random_residual,
        devices=DEVICES,
    )
