"""Activation patterns: which piecewise-linear units are on, per sample, and distances between them.

A ReLU network is affine on each *linear region* of input space; the region is named by the
activation pattern, the on/off state of every unit. Two samples with the same pattern share the
same effective weights (up to the max-pool choices). This module records patterns with forward
hooks (forward only, no gradients) and compares them.

Conventions
-----------
* One boolean tensor ``(N, units)`` per unit layer (ReLU, LeakyReLU, PReLU), in the order the
  layers run, units flattened (a conv feature map ``(c, h, w)`` gives ``c*h*w`` units). A unit is
  *active* when its pre-activation is ``> 0`` (for LeakyReLU/PReLU: on the slope-1 side). A module
  called twice (a shared ReLU in a residual block) contributes one tensor per call.
* Max-pools are skipped by default; with ``maxpool=True`` each contributes an ``int64`` tensor
  ``(N, outputs)`` with the argmax position (into the flattened input window's feature map) of
  every output, so the helpers below count a differing argmax as one differing unit.
* Activations written with ``torch.nn.functional`` inside a custom ``forward`` are not modules and
  are not recorded.

>>> import torch, torch.nn as nn
>>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
>>> pats = activation_patterns(net, torch.randn(5, 2))
>>> [tuple(p.shape) for p in pats]
[(5, 3)]
>>> hamming(pats, pats).tolist()
[0, 0, 0, 0, 0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from linlens_widgets.lens.layers import MAXPOOL_LAYERS, UNIT_LAYERS

__all__ = [
    "activation_patterns",
    "count_regions",
    "hamming",
    "pairwise_hamming",
    "pattern_codes",
    "pattern_matrix",
]

Patterns = Sequence[torch.Tensor]


def activation_patterns(
    model: nn.Module,
    x: torch.Tensor,
    *,
    batch_size: int | None = None,
    maxpool: bool = False,
) -> list[torch.Tensor]:
    """Activation patterns of ``model`` at the inputs ``x`` (forward passes only).

    Parameters
    ----------
    model : nn.Module
        Any model; its unit layers (``nn.ReLU``, ``nn.LeakyReLU``, ``nn.PReLU``) are recorded.
        The model's mode is left as it is (call ``model.eval()`` for Dropout/BatchNorm).
    x : torch.Tensor
        Inputs ``(N, *input_shape)``; moved to the model's device chunk by chunk.
    batch_size : int, optional
        Samples per forward pass (default: all at once up to 4096).
    maxpool : bool, default False
        Also record max-pool argmax indices (``int64``), see the module docstring.

    Returns
    -------
    list[torch.Tensor]
        One ``(N, units)`` tensor per recorded layer call, on ``x``'s device, in call order.

    >>> import torch, torch.nn as nn
    >>> net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 4), nn.LeakyReLU())
    >>> [p.dtype for p in activation_patterns(net, torch.randn(3, 2))]
    [torch.bool, torch.bool]
    """
    device = _model_device(model, x)
    size = batch_size or 4096
    chunks: list[list[torch.Tensor]] = []
    for start in range(0, x.shape[0], size):
        part = x[start : start + size].to(device)
        chunks.append([p.to(x.device) for p in record_patterns(model, part, maxpool=maxpool)[0]])
    if not chunks:
        return []
    return [torch.cat(layer) for layer in zip(*chunks, strict=True)]


def record_patterns(
    model: nn.Module, x: torch.Tensor, *, maxpool: bool = False
) -> tuple[list[torch.Tensor], Any]:
    """One forward pass of ``x`` that records the patterns; returns ``(patterns, output)``.

    >>> import torch, torch.nn as nn
    >>> pats, out = record_patterns(nn.ReLU(), torch.tensor([[1.0, -1.0]]))
    >>> pats[0].tolist(), out.tolist()
    ([[True, False]], [[1.0, 0.0]])
    """
    recorded: list[torch.Tensor] = []
    handles = []
    for module in model.modules():
        if isinstance(module, UNIT_LAYERS):
            handles.append(module.register_forward_pre_hook(_unit_hook(recorded)))
        elif maxpool and isinstance(module, MAXPOOL_LAYERS):
            handles.append(module.register_forward_pre_hook(_maxpool_hook(recorded)))
    try:
        with torch.no_grad():
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    return recorded, output


def _unit_hook(recorded: list[torch.Tensor]) -> Any:
    def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
        pre = args[0]
        recorded.append((pre > 0).reshape(pre.shape[0], -1))

    return hook


def _maxpool_hook(recorded: list[torch.Tensor]) -> Any:
    def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
        pre = args[0]
        pool = F.max_pool1d if isinstance(module, nn.MaxPool1d) else F.max_pool2d
        _, indices = pool(
            pre,
            module.kernel_size,
            module.stride,
            module.padding,
            module.dilation,
            ceil_mode=module.ceil_mode,
            return_indices=True,
        )
        recorded.append(indices.reshape(pre.shape[0], -1))

    return hook


def _model_device(model: nn.Module, x: torch.Tensor) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return x.device


def pattern_matrix(patterns: Patterns) -> torch.Tensor:
    """Concatenate per-layer patterns into one ``(N, total_units)`` tensor.

    Boolean layers stay boolean; if any layer holds max-pool indices the result is ``int64``.

    >>> pattern_matrix([torch.tensor([[True]]), torch.tensor([[False, True]])]).tolist()
    [[True, False, True]]
    """
    if not patterns:
        raise ValueError("no patterns given (the model has no recorded unit layers)")
    if all(p.dtype == torch.bool for p in patterns):
        return torch.cat(list(patterns), dim=1)
    return torch.cat([p.to(torch.int64) for p in patterns], dim=1)


def hamming(patterns_a: Patterns, patterns_b: Patterns) -> torch.Tensor:
    """Count the units whose state differs, per sample: ``(N,)`` int64.

    ``patterns_b`` may hold a single sample (N=1); it is then compared with every sample of
    ``patterns_a``.

    >>> a = [torch.tensor([[True, False], [True, True]])]
    >>> b = [torch.tensor([[True, True]])]
    >>> hamming(a, b).tolist()
    [1, 0]
    """
    _check_layers(patterns_a, patterns_b)
    total = None
    for pa, pb in zip(patterns_a, patterns_b, strict=True):
        diff = (pa != pb).sum(dim=1)
        total = diff if total is None else total + diff
    if total is None:
        raise ValueError("no patterns given (the model has no recorded unit layers)")
    return total


def pairwise_hamming(patterns_a: Patterns, patterns_b: Patterns | None = None) -> torch.Tensor:
    """All pairwise Hamming distances ``(N_a, N_b)`` between boolean patterns (float matmul).

    >>> a = [torch.tensor([[True, False], [False, False]])]
    >>> pairwise_hamming(a).tolist()
    [[0, 1], [1, 0]]
    """
    a = pattern_matrix(patterns_a)
    b = a if patterns_b is None else pattern_matrix(patterns_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"patterns have {a.shape[1]} and {b.shape[1]} units; they must match")
    if a.dtype != torch.bool or b.dtype != torch.bool:
        return (a[:, None, :] != b[None, :, :]).sum(dim=2)
    fa, fb = a.to(torch.float64), b.to(torch.float64)
    dist = fa @ (1 - fb).T + (1 - fa) @ fb.T
    return dist.round().to(torch.int64)


def pattern_codes(patterns: Patterns) -> torch.Tensor:
    """Region id per sample: ``(N,)`` int64, equal ids exactly when the whole patterns are equal.

    Ids are ``0..R-1`` in the order of the sorted unique patterns (no hashing, no collisions).

    >>> pats = [torch.tensor([[True, False], [False, True], [True, False]])]
    >>> pattern_codes(pats).tolist()
    [1, 0, 1]
    """
    matrix = pattern_matrix(patterns)
    _, inverse = torch.unique(matrix.to(torch.int64), dim=0, return_inverse=True)
    return inverse


def count_regions(patterns: Patterns) -> int:
    """Count the distinct linear regions among the samples.

    >>> count_regions([torch.tensor([[True], [True], [False]])])
    2
    """
    return int(pattern_codes(patterns).max().item()) + 1 if len(patterns[0]) else 0


def _check_layers(patterns_a: Patterns, patterns_b: Patterns) -> None:
    if len(patterns_a) != len(patterns_b):
        raise ValueError(
            f"patterns have {len(patterns_a)} and {len(patterns_b)} layers; they must match"
        )
    for i, (pa, pb) in enumerate(zip(patterns_a, patterns_b, strict=True)):
        if pa.shape[1:] != pb.shape[1:]:
            raise ValueError(
                f"layer {i}: patterns have {pa.shape[1]} and {pb.shape[1]} units; they must match"
            )
