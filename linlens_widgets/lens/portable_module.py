"""Rebuild a torch module from a portable network, optionally at the precision a page stores.

A saved page may store its layer arrays as float16. Whether that is good enough is a measurement,
not an assumption: rounding can flip a ReLU or a max-pool choice and change W_eff by more than the
rounding itself. `to_module(net, "float16")` gives the network the page's engine will run (its
tensors rounded to float16 and widened back), so ``ll.effective_weights`` on it measures exactly
what the page will show.

>>> import torch
>>> from torch import nn
>>> from linlens_widgets.lens.portable import portable_network
>>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).eval()
>>> x = torch.randn(5, 4)
>>> torch.allclose(to_module(portable_network(model))(x), model(x))
True
"""

from __future__ import annotations

import math

import torch
from torch import nn

from linlens_widgets.lens.portable import PortableNetwork, PortableOp

__all__ = ["to_module"]

_ROUND = {"float32": torch.float32, "float16": torch.float16}


def _stored(t: torch.Tensor, precision: str) -> torch.Tensor:
    """``t`` as the page holds it: rounded to ``precision``, widened back to float32."""
    return t.to(_ROUND[precision]).to(torch.float32)


def _linear(op: PortableOp, precision: str) -> nn.Module:
    weight = op.tensors["weight"]
    bias = op.tensors.get("bias")
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    layer.weight.data = _stored(weight, precision)
    if bias is not None:
        layer.bias.data = _stored(bias, precision)
    return layer


def _conv(op: PortableOp, precision: str) -> nn.Module:
    weight = op.tensors["weight"]
    bias = op.tensors.get("bias")
    p = op.params
    layer = nn.Conv2d(
        weight.shape[1],
        weight.shape[0],
        tuple(weight.shape[2:]),
        stride=tuple(p["stride"]),
        padding=tuple(p["padding"]),
        dilation=tuple(p["dilation"]),
        bias=bias is not None,
    )
    layer.weight.data = _stored(weight, precision)
    if bias is not None:
        layer.bias.data = _stored(bias, precision)
    return layer


def _affine(op: PortableOp, precision: str) -> nn.Module:
    """Build a per-channel ``scale * x + shift`` as an eval BatchNorm with unit statistics."""
    scale = _stored(op.tensors["scale"], precision)
    norm = nn.BatchNorm1d if len(op.in_shape) == 1 else nn.BatchNorm2d
    layer = norm(scale.numel(), eps=0.0)
    layer.weight.data = scale
    layer.bias.data = _stored(op.tensors["shift"], precision)
    return layer.eval()


def _layer(op: PortableOp, precision: str) -> nn.Module:
    p = op.params
    if op.kind == "linear":
        return _linear(op, precision)
    if op.kind == "conv2d":
        return _conv(op, precision)
    if op.kind == "relu":
        slope = float(p.get("negative_slope", 0.0))
        return nn.LeakyReLU(slope) if slope else nn.ReLU()
    if op.kind == "maxpool2d":
        return nn.MaxPool2d(
            tuple(p["kernel"]), tuple(p["stride"]), tuple(p["padding"]), tuple(p["dilation"])
        )
    if op.kind == "avgpool2d":
        return nn.AvgPool2d(
            tuple(p["kernel"]),
            tuple(p["stride"]),
            tuple(p["padding"]),
            count_include_pad=bool(p["count_include_pad"]),
        )
    if op.kind == "adaptive_avgpool2d":
        return nn.AdaptiveAvgPool2d(tuple(op.out_shape[-2:]))
    if op.kind == "affine":
        return _affine(op, precision)
    raise ValueError(f"unknown portable op kind {op.kind!r}")


def _reshape(current: tuple[int, ...], wanted: tuple[int, ...]) -> list[nn.Module]:
    """Modules that turn per-sample shape ``current`` into ``wanted`` (same number of values)."""
    if current == wanted:
        return []
    steps: list[nn.Module] = [nn.Flatten()] if len(current) > 1 else []
    if len(wanted) > 1:
        steps.append(nn.Unflatten(1, wanted))
    return steps


def to_module(net: PortableNetwork, precision: str = "float32") -> nn.Sequential:
    """Return an eval-mode ``nn.Sequential`` computing ``net`` with tensors stored at ``precision``.

    Parameters
    ----------
    net : PortableNetwork
        From `linlens_widgets.lens.portable.portable_network`.
    precision : {"float32", "float16"}
        The precision the tensors are rounded to (the module computes in float32 either way).

    Returns
    -------
    nn.Sequential
        Takes inputs of shape ``(N, *net.input_shape)`` and returns ``(N, net.n_outputs)``.
    """
    if precision not in _ROUND:
        raise ValueError(f"precision must be one of {sorted(_ROUND)}, got {precision!r}")
    layers: list[nn.Module] = []
    shape = tuple(net.input_shape)
    for op in net.ops:
        layers += _reshape(shape, tuple(op.in_shape))
        layers.append(_layer(op, precision))
        shape = tuple(op.out_shape)
    layers += _reshape(shape, (math.prod(shape),))
    return nn.Sequential(*layers).eval()
