"""Which modules are piecewise-linear, and the errors raised for those that are not.

A ReLU network is, at every input, an affine map. That holds exactly only when every layer is
piecewise-linear: linear maps (Linear, convolutions, average pools, eval-mode BatchNorm, reshapes),
and piecewise-linear activations (ReLU, LeakyReLU, PReLU, max-pool). This module names those layer
kinds once, so that the fast engine path, the general path and the activation patterns agree, and
raises errors that name the offending layer by its module path (``"1: GELU"``).

>>> import torch.nn as nn
>>> describe_module("1", nn.GELU())
'1: GELU'
>>> is_unit_layer(nn.ReLU()), is_unit_layer(nn.Linear(2, 2))
(True, False)
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

__all__ = [
    "LINEAR_LAYERS",
    "MAXPOOL_LAYERS",
    "SMOOTH_LAYERS",
    "UNIT_LAYERS",
    "TrainingModeError",
    "UnsupportedLayerError",
    "check_eval_mode",
    "describe_module",
    "has_bias",
    "is_unit_layer",
    "iter_leaves",
    "unit_slope",
]


class UnsupportedLayerError(TypeError):
    """A layer (or an operation inside a custom module) is not piecewise-linear.

    The message starts with the module path and type, e.g. ``"1: GELU ..."``, so the user knows
    which layer to replace, or to pass ``linearize=True`` for the local linearization instead.
    """


class TrainingModeError(UnsupportedLayerError):
    """The model is in training mode and contains Dropout or BatchNorm.

    In training mode these layers are random (Dropout) or mix the samples of a batch (BatchNorm),
    so there is no per-sample affine map to compute. The engine never switches modes itself: call
    ``model.eval()`` first.
    """


#: Piecewise-linear activations whose on/off state per unit forms the activation pattern.
UNIT_LAYERS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.LeakyReLU, nn.PReLU)

#: Max-pools: piecewise-linear selections (one argmax per output).
MAXPOOL_LAYERS: tuple[type[nn.Module], ...] = (nn.MaxPool1d, nn.MaxPool2d)

#: Layers that are linear (or affine) maps of their input, in eval mode.
LINEAR_LAYERS: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.Flatten,
    nn.Unflatten,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.AlphaDropout,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.Identity,
)

#: Well-known smooth layers, refused by type before any computation.
SMOOTH_LAYERS: tuple[type[nn.Module], ...] = (
    nn.GELU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softmax,
    nn.LogSoftmax,
    nn.Softplus,
    nn.SiLU,
    nn.Mish,
    nn.ELU,
    nn.CELU,
    nn.SELU,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.Tanhshrink,
    nn.Softsign,
    nn.LogSigmoid,
)

_DROPOUT_LAYERS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
_BATCHNORM_LAYERS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def describe_module(path: str, module: nn.Module) -> str:
    """Name a module as ``"<path>: <Type>"``, the form every engine error uses.

    Parameters
    ----------
    path : str
        Dotted module path as in ``model.named_modules()``; ``""`` (the model itself) is shown as
        ``"(model)"``.
    module : nn.Module
        The module.

    Returns
    -------
    str

    >>> describe_module("", nn.Tanh())
    '(model): Tanh'
    """
    return f"{path or '(model)'}: {type(module).__name__}"


def is_unit_layer(module: nn.Module) -> bool:
    """Whether ``module`` is a piecewise-linear activation with an on/off state per unit.

    >>> is_unit_layer(nn.LeakyReLU(0.1))
    True
    """
    return isinstance(module, UNIT_LAYERS)


def unit_slope(module: nn.Module, pre: torch.Tensor) -> torch.Tensor:
    """Return the slope of a unit layer at pre-activation ``pre``: a tensor broadcastable to it.

    The slope is 1 where ``pre > 0`` and the negative-side slope elsewhere (ReLU: 0, LeakyReLU:
    ``negative_slope``, PReLU: its learned weight per channel). This matches autograd, which uses
    the negative-side slope at exactly 0, and ``module(pre) == pre * slope``.

    >>> unit_slope(nn.LeakyReLU(0.5), torch.tensor([-1.0, 2.0]))
    tensor([0.5000, 1.0000])
    >>> unit_slope(nn.ReLU(), torch.tensor([-1.0, 2.0]))
    tensor([0., 1.])
    """
    if isinstance(module, nn.ReLU):
        return torch.gt(pre, 0, out=torch.empty_like(pre))
    one = torch.ones((), dtype=pre.dtype, device=pre.device)
    if isinstance(module, nn.LeakyReLU):
        neg = torch.full((), module.negative_slope, dtype=pre.dtype, device=pre.device)
        return torch.where(pre > 0, one, neg)
    if isinstance(module, nn.PReLU):
        weight = module.weight.detach().to(pre.dtype)
        if weight.numel() > 1:
            shape = [1] * pre.dim()
            shape[1] = weight.numel()
            weight = weight.view(shape)
        else:
            weight = weight.reshape(())
        return torch.where(pre > 0, one, weight)
    raise TypeError(f"{type(module).__name__} is not a unit layer")


def iter_leaves(module: nn.Module, prefix: str = "") -> Iterator[tuple[str, nn.Module]]:
    """Yield ``(path, module)`` for the leaves of nested plain ``nn.Sequential`` containers.

    A container that is an ``nn.Sequential`` whose ``forward`` is the stock one is expanded;
    anything else (including a Sequential subclass with its own forward) is yielded as a leaf.

    >>> [p for p, _ in iter_leaves(nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU())))]
    ['0', '1.0']
    """
    if _is_plain_sequential(module):
        for name, child in module.named_children():
            yield from iter_leaves(child, f"{prefix}.{name}" if prefix else name)
    else:
        yield prefix, module


def _is_plain_sequential(module: nn.Module) -> bool:
    return isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward


def check_eval_mode(model: nn.Module) -> None:
    """Raise `TrainingModeError` if a Dropout or BatchNorm of ``model`` is in training mode.

    Never switches the mode itself: a silent ``eval()`` would change the user's model. A
    BatchNorm without running statistics is refused in any mode (`UnsupportedLayerError`).

    >>> check_eval_mode(nn.Sequential(nn.Linear(2, 2), nn.Dropout()).eval())
    """
    for path, module in model.named_modules():
        if isinstance(module, _BATCHNORM_LAYERS) and module.running_var is None:
            raise UnsupportedLayerError(
                f"{describe_module(path, module)} has no running statistics "
                "(track_running_stats=False), so it normalises with batch statistics even in "
                "eval mode and is not a per-sample affine map"
            )
        if not module.training:
            continue
        if isinstance(module, _DROPOUT_LAYERS) and module.p > 0:
            what = "drops units at random"
        elif isinstance(module, _BATCHNORM_LAYERS):
            what = "normalises with batch statistics"
        else:
            continue
        raise TrainingModeError(
            f"{describe_module(path, module)} is in training mode and {what}, so the network is "
            "not a fixed per-sample affine map; call model.eval() before computing effective "
            "weights"
        )


def has_bias(module: nn.Module) -> bool:
    """Whether a known leaf layer adds an offset (Linear/Conv bias, or any BatchNorm).

    >>> has_bias(nn.Linear(3, 2, bias=False)), has_bias(nn.BatchNorm1d(3))
    (False, True)
    """
    if isinstance(module, _BATCHNORM_LAYERS):
        return True
    bias = getattr(module, "bias", None)
    return isinstance(bias, torch.Tensor)
