"""General engine path: per-sample Jacobians with ``torch.func`` for any module structure.

Residual blocks and custom modules cannot be walked as a chain, but a piecewise-linear model's
Jacobian is still its effective weight. The Jacobian of a chunk is ``vmap(jacrev(f))`` when the
output is no larger than the input (C <= D: C vector-Jacobian products per sample) and
``vmap(jacfwd(f))`` otherwise (D Jacobian-vector products). Models that ``vmap`` cannot batch
(data-dependent Python control flow, in-place tricks), or that contain ops whose batching rule
is unreliable (``_prelu_kernel``: torch's vmap of PReLU's backward raises or, worse, silently
returns wrong values), use one batched backward pass per output unit instead, never a loop over
samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.func import jacfwd, jacrev, vmap

#: aten ops for which vmap(jacrev/jacfwd) is not trusted.
UNBATCHABLE_OPS = frozenset(["_prelu_kernel", "prelu"])


def jacobian_chunk(
    model: nn.Module, x: torch.Tensor, *, use_vmap: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Jacobians and outputs of a chunk of inputs.

    Parameters
    ----------
    model : nn.Module
        A model in the mode it should be evaluated in (eval for Dropout/BatchNorm).
    x : torch.Tensor
        ``(n, *input_shape)`` on the model's device.
    use_vmap : bool, default True
        False forces the per-output autograd route (see `UNBATCHABLE_OPS`).

    Returns
    -------
    tuple[torch.Tensor, torch.Tensor]
        Jacobian ``(n, C, *input_shape)`` and output ``(n, C)``.
    """
    if not use_vmap:
        return _per_output(model, x)
    try:
        return _vmapped(model, x)
    except (RuntimeError, ValueError, NotImplementedError):
        return _per_output(model, x)


def _single(model: nn.Module) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    def f(xi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = model(xi.unsqueeze(0)).reshape(-1)
        return out, out

    return f


def _vmapped(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    f = _single(model)
    n_in = math.prod(x.shape[1:])
    with torch.no_grad():
        n_out = model(x[:1]).numel()
        jac_fn = jacrev if n_out <= n_in else jacfwd
        jac, out = vmap(jac_fn(f, has_aux=True))(x)
    return jac.reshape(x.shape[0], n_out, *x.shape[1:]), out


def _per_output(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One backward pass per output unit over the whole chunk (samples are independent)."""
    with torch.enable_grad():
        xg = x.detach().clone().requires_grad_(True)
        out = model(xg).reshape(x.shape[0], -1)
        n_out = out.shape[1]
        jac = torch.empty((x.shape[0], n_out, *x.shape[1:]), dtype=x.dtype, device=x.device)
        for c in range(n_out):
            (grad,) = torch.autograd.grad(
                out[:, c].sum(), xg, retain_graph=c < n_out - 1, allow_unused=True
            )
            jac[:, c] = 0 if grad is None else grad
    return jac, out.detach()


def check_per_sample(model: nn.Module, x: torch.Tensor) -> None:
    """Refuse a module whose output for one sample depends on the other samples of its batch.

    The engine takes each sample's Jacobian alone; a module that mixes the batch (a mean or sum
    over dim 0, batch statistics) would give Jacobians that silently differ from its batched
    forward pass. One cheap check: each of two different samples' output alone must equal its output
    when both form one batch.

    Parameters
    ----------
    model : nn.Module
        The model, in the mode it is evaluated in.
    x : torch.Tensor
        One or two samples ``(n, *input_shape)``; a second one is made up when only one is given.

    Raises
    ------
    ValueError
        If the outputs differ (beyond floating-point noise).
    """
    first = x[:1]
    other = x[1:2] if x.shape[0] > 1 else first
    if torch.equal(other, first):
        other = first * -0.5 + 1.0 if not torch.equal(first * -0.5 + 1.0, first) else first + 1.0
    with torch.no_grad():
        alone = torch.stack([model(first).reshape(-1), model(other).reshape(-1)])
        together = model(torch.cat([first, other])).reshape(2, -1)
    # loose enough for batch-size-dependent kernels (TF32 convolutions on GPUs), far below
    # what mixing two different samples does to an output
    scale = float(alone.abs().max()) if alone.numel() else 0.0
    if alone.shape != together.shape or not torch.allclose(
        alone, together, rtol=1e-3, atol=1e-3 * max(1e-3, scale)
    ):
        raise ValueError(
            f"{type(model).__name__} mixes samples across the batch: a sample's output alone "
            "differs from its output next to another sample (a mean, sum or statistic over "
            "dim 0?); effective weights are per-sample Jacobians, so every sample must be "
            "computed independently"
        )
