"""Fast engine path: the masked right-to-left chain for (nested) ``nn.Sequential`` stacks.

For a stack of known piecewise-linear leaves the Jacobian is a product of per-layer factors,
``W_eff = W_L D_{L-1} W_{L-1} ... D_1 W_1``. The chain starts from the output side with a matrix
``G`` that is shared by all samples (the identity, then the last layer's weight) and becomes
per-sample, shape ``(n*C, *layer_shape)``, at the first mask. Each layer then applies its adjoint
(vector-Jacobian product) to all ``n*C`` rows at once:

* Linear: one GEMM ``G @ W`` (into a reused buffer, or straight into the result);
* ReLU / LeakyReLU / PReLU: an in-place elementwise product with the saved slope;
* Conv1d/2d: the input gradient of the convolution (a transposed convolution);
* MaxPool: a scatter-add through the saved argmax indices;
* BatchNorm (eval): a per-channel scale; AvgPool / AdaptiveAvgPool: their linear adjoint;
* Flatten / Unflatten: a reshape; Dropout (eval) / Identity: nothing.

There is no per-sample Python loop; memory is bounded by the chunk size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from linlens_widgets.lens.layers import (
    LINEAR_LAYERS,
    MAXPOOL_LAYERS,
    UNIT_LAYERS,
    has_bias,
    iter_leaves,
    unit_slope,
)

_RESHAPE = (nn.Flatten, nn.Unflatten)
_PASS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout, nn.Identity)
_BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d)
_POOL_ADJOINT = (nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)
_CONV_INPUT = {1: torch.nn.grad.conv1d_input, 2: torch.nn.grad.conv2d_input}


class NotFastError(Exception):
    """The stack cannot be evaluated by the fast path (the general path takes over)."""


@dataclass
class Plan:
    """The leaves of a sequential stack, checked to be handled by the fast chain."""

    leaves: list[tuple[str, nn.Module]]
    has_bias: bool

    @property
    def first_linear(self) -> int | None:
        """Index of the first Linear leaf if only reshapes/pass-throughs precede it."""
        for i, (_, module) in enumerate(self.leaves):
            if isinstance(module, nn.Linear):
                return i
            if not isinstance(module, (*_RESHAPE, *_PASS)):
                return None
        return None


@dataclass
class Trace:
    """What a forward pass of one chunk saves for the chain."""

    n: int
    in_shapes: list[torch.Size] = field(default_factory=list)
    saved: list[Any] = field(default_factory=list)
    patterns: list[torch.Tensor] = field(default_factory=list)
    output: torch.Tensor | None = None


def make_plan(model: nn.Module) -> Plan | None:
    """Return a fast-path plan for ``model``, or None when the general path must be used.

    The fast path takes plain (nested) ``nn.Sequential`` stacks whose leaves are all known
    piecewise-linear layers with settings the chain supports (zero-padded convolutions with
    numeric padding, BatchNorm with running statistics, reshapes that keep the batch dimension).
    """
    if not isinstance(model, nn.Sequential):
        return None
    leaves = list(iter_leaves(model))
    if not leaves or not all(_supported(module) for _, module in leaves):
        return None
    return Plan(leaves, any(has_bias(module) for _, module in leaves))


def _supported(module: nn.Module) -> bool:
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        return module.padding_mode == "zeros" and not isinstance(module.padding, str)
    if isinstance(module, _BATCHNORM):
        return module.running_mean is not None and module.running_var is not None
    if isinstance(module, nn.Flatten):
        return module.start_dim > 0
    if isinstance(module, nn.Unflatten):
        return isinstance(module.dim, int) and module.dim > 0
    return isinstance(module, (*LINEAR_LAYERS, *UNIT_LAYERS, *MAXPOOL_LAYERS))


def forward(plan: Plan, x: torch.Tensor, *, patterns: bool) -> Trace:
    """Run one chunk forward, saving masks, pooling indices and input shapes.

    Parameters
    ----------
    plan : Plan
        From `make_plan`.
    x : torch.Tensor
        Chunk of inputs ``(n, *input_shape)`` on the computation device.
    patterns : bool
        Also keep the boolean activation masks ``(n, units)`` of the unit layers.

    Returns
    -------
    Trace
    """
    trace = Trace(n=x.shape[0])
    h = x
    for _, module in plan.leaves:
        trace.in_shapes.append(h.shape)
        saved: Any = None
        if isinstance(module, UNIT_LAYERS):
            # the activation is its slope times its input: one product instead of the module
            slope = unit_slope(module, h)
            if patterns:
                trace.patterns.append((h > 0).reshape(h.shape[0], -1))
            trace.saved.append(slope)
            h = h * slope
            continue
        elif isinstance(module, MAXPOOL_LAYERS):
            h, saved = _maxpool(module, h)
            trace.saved.append(saved)
            continue
        elif isinstance(module, nn.Linear) and h.dim() != 2:
            raise NotFastError("Linear on a tensor with more than one feature dimension")
        h = module(h)
        trace.saved.append(saved)
    trace.output = h
    return trace


@dataclass
class _Tiled:
    """Argmax of a max-pool whose windows tile its input: a one-hot mask ``(n, c, *window grid)``.

    With ``kernel == stride``, no padding or dilation and sizes divisible by the kernel, the
    pool is "select by mask, then sum each window", so its adjoint is one broadcast product of
    the upsampled cotangent with the mask: no zero fill and no scatter.
    """

    onehot: torch.Tensor


def _maxpool(module: nn.Module, h: torch.Tensor) -> tuple[torch.Tensor, Any]:
    pool = F.max_pool1d if isinstance(module, nn.MaxPool1d) else F.max_pool2d
    out, indices = pool(
        h,
        module.kernel_size,
        module.stride,
        module.padding,
        module.dilation,
        ceil_mode=module.ceil_mode,
        return_indices=True,
    )
    kernel = _tiling_kernel(module, h)
    if kernel is None:
        return out, indices
    n, c = h.shape[:2]
    onehot = torch.zeros((n, c, math.prod(h.shape[2:])), dtype=h.dtype, device=h.device)
    onehot.scatter_(2, indices.reshape(n, c, -1), 1.0)
    grid: list[int] = []
    for size, k in zip(h.shape[2:], kernel, strict=True):
        grid += [size // k, k]
    return out, _Tiled(onehot.view(n, c, *grid))


def _tiling_kernel(module: nn.Module, h: torch.Tensor) -> tuple[int, ...] | None:
    dims = h.dim() - 2

    def tup(value: Any) -> tuple[int, ...]:
        return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims

    kernel, stride = tup(module.kernel_size), tup(module.stride or module.kernel_size)
    if kernel != stride or any(tup(module.padding)) or any(d != 1 for d in tup(module.dilation)):
        return None
    if any(size % k for size, k in zip(h.shape[2:], kernel, strict=True)):
        return None
    return kernel


class Buffers:
    """One reusable output buffer per chain step, sized for the largest chunk."""

    def __init__(self) -> None:
        self._store: dict[int, torch.Tensor] = {}
        self.constants: dict[int, torch.Tensor] = {}  # per-call products of weights

    def get(self, key: int, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        buf = self._store.get(key)
        numel = math.prod(shape)
        if buf is None or buf.numel() < numel or buf.dtype != like.dtype:
            buf = torch.empty(numel, dtype=like.dtype, device=like.device)
            self._store[key] = buf
        return buf[:numel].view(shape)


@dataclass
class _G:
    """The chain state: a matrix shared by all samples, or one per (sample, output) row."""

    value: torch.Tensor
    shared: bool
    identity: bool = False


def chain(
    plan: Plan,
    trace: Trace,
    n_out: int,
    buffers: Buffers,
    *,
    stop: int = 0,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply the layer adjoints right to left, from the output down to leaf ``stop``.

    Parameters
    ----------
    plan, trace : Plan, Trace
        The stack and the forward pass of this chunk.
    n_out : int
        Number of outputs C (flattened output size).
    buffers : Buffers
        Reused per-step buffers.
    stop : int, default 0
        Index of the last leaf to apply (0: all the way to the input).
    out : torch.Tensor, optional
        Contiguous tensor ``(n*C, *in_shape of leaf stop)`` to write the result into when the
        last step allows it (a Linear writes its GEMM straight into it).

    Returns
    -------
    torch.Tensor
        ``(n*C, *in_shape of leaf stop)``: the Jacobian of the output with respect to the input
        of leaf ``stop``, one row per (sample, output).
    """
    n = trace.n
    out_shape = tuple(trace.output.shape[1:])
    eye = torch.eye(n_out, dtype=trace.output.dtype, device=trace.output.device)
    g = _G(eye.view(n_out, *out_shape), shared=True, identity=True)
    i = len(plan.leaves) - 1
    while i >= stop:
        module = plan.leaves[i][1]
        in_shape = tuple(trace.in_shapes[i][1:])
        if _can_fuse(plan, trace, g, i, stop, n_out):
            target = out if _only_reshapes_until(plan, stop, i - 1) else None
            g = _fused_unit_linear(plan.leaves[i - 1][1], g, trace.saved[i], n, buffers, i, target)
            i -= 2
            continue
        target = out if i == stop or _only_reshapes_until(plan, stop, i) else None
        g = _adjoint(module, g, trace.saved[i], in_shape, n, n_out, buffers, i, target)
        i -= 1
    return _per_sample(g, n, out)


_FUSE_LIMIT = 1 << 24


def _can_fuse(plan: Plan, trace: Trace, g: _G, i: int, stop: int, n_out: int) -> bool:
    """Tell whether leaf i is a unit layer met by a shared G, after a Linear on 2-D inputs."""
    if not g.shared or i - 1 < stop or not isinstance(plan.leaves[i][1], UNIT_LAYERS):
        return False
    linear = plan.leaves[i - 1][1]
    if not isinstance(linear, nn.Linear) or len(trace.in_shapes[i - 1]) != 2:
        return False
    units, inputs = linear.weight.shape
    return units * n_out * inputs <= _FUSE_LIMIT and trace.saved[i].shape == (trace.n, units)


def _fused_unit_linear(
    linear: nn.Linear,
    g: _G,
    slope: torch.Tensor,
    n: int,
    buffers: Buffers,
    key: int,
    out: torch.Tensor | None,
) -> _G:
    """``(G diag(s_i)) W`` for all samples i as one GEMM: ``S @ P``, ``P[k] = G[:, k] W[k, :]``.

    The first mask met from the output side multiplies a matrix shared by all samples, so the
    mask product and the next Linear fold into a single ``(n x U) @ (U x C*V)`` GEMM with no
    elementwise pass over the per-sample rows.
    """
    weight = linear.weight
    units, inputs = weight.shape
    n_out = g.value.shape[0]
    shared = g.value.reshape(n_out, units)
    outer = buffers.constants.get(key)
    if outer is None:
        outer = (shared.T.unsqueeze(2) * weight.unsqueeze(1)).reshape(units, n_out * inputs)
        buffers.constants[key] = outer
    rows = n * n_out
    if out is not None and out.is_contiguous() and out.numel() == rows * inputs:
        target = out.view(n, n_out * inputs)
    else:
        target = buffers.get(key, (n, n_out * inputs), shared)
    torch.mm(slope, outer, out=target)
    return _G(target.view(rows, inputs), shared=False)


def _only_reshapes_until(plan: Plan, stop: int, i: int) -> bool:
    return all(isinstance(m, (*_RESHAPE, *_PASS)) for _, m in plan.leaves[stop:i])


def _per_sample(g: _G, n: int, out: torch.Tensor | None) -> torch.Tensor:
    value = g.value
    if g.shared:
        value = value.unsqueeze(0).expand(n, *value.shape).reshape(-1, *value.shape[1:])
    if out is not None and value.data_ptr() != out.data_ptr():
        out.copy_(value.reshape(out.shape))
        return out
    return value


def _adjoint(
    module: nn.Module,
    g: _G,
    saved: Any,
    in_shape: tuple[int, ...],
    n: int,
    n_out: int,
    buffers: Buffers,
    key: int,
    out: torch.Tensor | None,
) -> _G:
    rows = n_out if g.shared else n * n_out
    if isinstance(module, nn.Linear):
        return _linear(module, g, rows, buffers, key, out)
    if isinstance(module, UNIT_LAYERS):
        return _unit(g, saved, n, n_out, buffers, key, out)
    if isinstance(module, MAXPOOL_LAYERS):
        return _maxpool_adjoint(g, saved, in_shape, n, n_out)
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        conv_input = _CONV_INPUT[len(in_shape) - 1]
        value = conv_input(
            (rows, *in_shape),
            module.weight,
            g.value,
            module.stride,
            module.padding,
            module.dilation,
            module.groups,
        )
        return _G(value, g.shared)
    if isinstance(module, _BATCHNORM):
        scale = _bn_scale(module, g.value)
        view = g.value.view(rows, scale.numel(), -1)
        value = view.mul_(scale[:, None]) if not g.shared else view * scale[:, None]
        return _G(value.view(rows, *in_shape), g.shared)
    if isinstance(module, _POOL_ADJOINT):
        return _G(_linear_adjoint(module, g.value, (rows, *in_shape)), g.shared)
    if isinstance(module, _RESHAPE):
        return _G(g.value.reshape(rows, *in_shape), g.shared, g.identity)
    return g  # Dropout in eval mode, Identity


def _linear(
    module: nn.Linear, g: _G, rows: int, buffers: Buffers, key: int, out: torch.Tensor | None
) -> _G:
    weight = module.weight
    if g.identity:
        return _G(weight, shared=True)
    if g.shared:
        return _G(g.value @ weight, shared=True)
    shape = (rows, weight.shape[1])
    if out is not None and out.is_contiguous() and out.numel() == rows * weight.shape[1]:
        target = out.view(shape)
    else:
        target = buffers.get(key, shape, g.value)
    torch.mm(g.value, weight, out=target)
    return _G(target, shared=False)


def _unit(
    g: _G,
    saved: torch.Tensor,
    n: int,
    n_out: int,
    buffers: Buffers,
    key: int,
    out: torch.Tensor | None,
) -> _G:
    factor = saved.reshape(n, 1, -1)
    shape = g.value.shape[1:]
    if g.shared:
        units = factor.shape[-1]
        full = (n, n_out, units)
        if out is not None and out.is_contiguous() and out.numel() == n * n_out * units:
            target = out.view(full)
        else:
            target = buffers.get(key, full, g.value)
        shared = g.value.reshape(1, n_out, units)
        torch.mul(shared, factor, out=target)
        return _G(target.view(n * n_out, *shape), shared=False)
    value = g.value if g.value.is_contiguous() else g.value.contiguous()
    value.view(n, n_out, -1).mul_(factor)
    return _G(value, shared=False)


def _maxpool_adjoint(g: _G, saved: Any, in_shape: tuple[int, ...], n: int, n_out: int) -> _G:
    if isinstance(saved, _Tiled):
        return _tiled_adjoint(g, saved.onehot, in_shape, n, n_out)
    indices = saved
    channels = in_shape[0]
    n_in = math.prod(in_shape[1:])
    src = g.value.reshape(-1 if not g.shared else n_out, channels, indices[0, 0].numel())
    src = src.unsqueeze(0).expand(n, *src.shape) if g.shared else src.view(n, n_out, channels, -1)
    index = indices.reshape(n, 1, channels, -1).expand(n, n_out, channels, src.shape[-1])
    result = torch.zeros((n, n_out, channels, n_in), dtype=src.dtype, device=src.device)
    result.scatter_add_(3, index, src)
    return _G(result.view(n * n_out, *in_shape), shared=False)


def _tiled_adjoint(
    g: _G, onehot: torch.Tensor, in_shape: tuple[int, ...], n: int, n_out: int
) -> _G:
    """Upsample the cotangent to the input grid and keep each window's argmax, in one product."""
    channels, grid = in_shape[0], onehot.shape[2:]
    spread = [size if i % 2 == 0 else 1 for i, size in enumerate(grid)]
    lead = (1, n_out) if g.shared else (n, n_out)
    cot = g.value.reshape(*lead, channels, *spread)
    result = cot * onehot.unsqueeze(1)
    return _G(result.view(n * n_out, *in_shape), shared=False)


def _bn_scale(module: nn.Module, like: torch.Tensor) -> torch.Tensor:
    scale = torch.rsqrt(module.running_var.to(like.dtype) + module.eps)
    if module.weight is not None:
        scale = scale * module.weight.to(like.dtype)
    return scale


def _linear_adjoint(module: nn.Module, cotangent: torch.Tensor, shape: tuple[int, ...]) -> Any:
    """Adjoint of a linear module applied to a batch of cotangents, via autograd."""
    with torch.enable_grad():
        z = torch.zeros(shape, dtype=cotangent.dtype, device=cotangent.device, requires_grad=True)
        y = module(z)
        (grad,) = torch.autograd.grad(y, z, cotangent.reshape(y.shape))
    return grad


def bias_of(
    weight: torch.Tensor, x: torch.Tensor, output: torch.Tensor, n_out: int
) -> torch.Tensor:
    """Offset ``f(x) - W_eff(x) x`` for a chunk: ``(n, C)``."""
    n = x.shape[0]
    linear_part = torch.bmm(weight.reshape(n, n_out, -1), x.reshape(n, -1, 1)).squeeze(-1)
    return output.reshape(n, n_out) - linear_part
