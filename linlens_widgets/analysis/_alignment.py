"""Early neuron alignment: how concentrated the first-layer neurons' input directions are.

Small-initialisation training of two-layer ReLU networks starts with an *alignment phase*: the
neurons' norms barely change while their input-weight directions rotate towards a few data
directions (the positive or the negative class, depending on the sign of the neuron's output
weight); only then do the norms grow and the loss fall, leaving an approximately low-rank first
layer. The functions here measure that concentration from a weight matrix alone.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

Weighting = Literal["uniform", "norm"]

# Layers whose weight rows (output units) are neurons with input-weight directions.
_INPUT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def first_layer_weight(source: torch.Tensor | np.ndarray | nn.Module) -> torch.Tensor:
    """Return the input-weight matrix ``(h, d)`` of ``source`` as a float64 CPU tensor.

    Parameters
    ----------
    source : Tensor | ndarray | nn.Module
        A weight matrix ``(h, d)`` (one row per neuron; extra trailing dims, e.g. a conv kernel
        ``(out, in, kh, kw)``, are flattened), or a module whose first ``nn.Linear`` or
        convolution (in registration order) is used.

    Returns
    -------
    Tensor
        ``(h, d)`` float64, detached, on the CPU.
    """
    if isinstance(source, nn.Module):
        weight = _first_layer(source).weight
    else:
        weight = torch.as_tensor(source)
    if weight.ndim < 2:
        raise ValueError(f"expected a weight matrix (h, d), got shape {tuple(weight.shape)}")
    return weight.detach().to("cpu", torch.float64).reshape(weight.shape[0], -1)


def neuron_alignment(
    weight: torch.Tensor | np.ndarray | nn.Module, *, weighting: Weighting = "uniform"
) -> float:
    """Concentration of neurons' input-weight directions: mean squared cosine between neurons.

    Definition: with ``u_i = w_i / ||w_i||`` the direction of neuron ``i``'s input weights,

        alignment = mean over pairs i != j of cos²(w_i, w_j) = (||U Uᵀ||²_F − h) / (h (h − 1)).

    It is 1 exactly when all neurons' directions coincide up to sign, 1/d in expectation for
    independent random directions in ``d`` dimensions (so near 0 in high dimension), and about 1/m
    when the neurons split evenly between ``m`` mutually orthogonal directions. Squaring the cosine
    makes ``w`` and ``-w`` count as aligned, as the seed's neurons align with either the positive or
    the negative class.

    Parameters
    ----------
    weight : Tensor | ndarray | nn.Module
        Weight matrix ``(h, d)`` (rows = neurons), or a module whose first ``nn.Linear`` or
        convolution is used (a convolution's neurons are its output channels).
    weighting : {"uniform", "norm"}, default "uniform"
        ``"uniform"`` gives every neuron the same vote. ``"norm"`` weights each pair by
        ``||w_i||² ||w_j||²``, so neurons that never grew (e.g. inactive on all data) count less:
        ``(||Wᵀ W||²_F − Σ||w_i||⁴) / ((Σ||w_i||²)² − Σ||w_i||⁴)``.

    Returns
    -------
    float
        In ``[0, 1]``; ``nan`` when fewer than two neurons have non-zero weights.

    Examples
    --------
    >>> import torch
    >>> w = torch.randn(1, 50).repeat(8, 1) * torch.tensor([1.0, -2.0] * 4)[:, None]
    >>> round(neuron_alignment(w), 6)
    1.0
    >>> neuron_alignment(torch.randn(300, 2000)) < 0.01
    True
    """
    w = first_layer_weight(weight)
    if w.shape[0] < 2:
        raise ValueError(f"alignment needs at least two neurons, got weight shape {tuple(w.shape)}")
    sq_norms = (w * w).sum(1)
    w = w[sq_norms > 0]
    sq_norms = sq_norms[sq_norms > 0]
    h = w.shape[0]
    if h < 2:
        return float("nan")
    if weighting == "uniform":
        u = w / sq_norms.sqrt()[:, None]
        total = _gram_frobenius_sq(u)
        return _clip01((total - h) / (h * (h - 1)))
    if weighting == "norm":
        fourth = float((sq_norms * sq_norms).sum())
        total = _gram_frobenius_sq(w)
        denom = float(sq_norms.sum()) ** 2 - fourth
        return _clip01((total - fourth) / denom) if denom > 0 else float("nan")
    raise ValueError(f"weighting must be 'uniform' or 'norm', got {weighting!r}")


def effective_rank(weight: torch.Tensor | np.ndarray | nn.Module) -> float:
    """Effective rank of a weight matrix: ``exp`` of the entropy of its normalised singular values.

    Definition (Roy & Vetterli, 2007): with singular values ``σ_k`` and ``p_k = σ_k / Σσ``,
    ``erank = exp(−Σ p_k log p_k)``. It lies between 1 (rank one, e.g. after the seed's alignment
    phase the first layer is approximately low-rank) and ``min(h, d)`` (all directions equally
    strong).

    Parameters
    ----------
    weight : Tensor | ndarray | nn.Module
        Weight matrix ``(h, d)``, or a module whose first ``nn.Linear`` or convolution is used.

    Returns
    -------
    float
        The effective rank; ``nan`` for an all-zero matrix.

    Examples
    --------
    >>> import torch
    >>> round(effective_rank(torch.outer(torch.randn(20), torch.randn(30))), 4)
    1.0
    """
    w = first_layer_weight(weight)
    sigma = torch.linalg.svdvals(w)
    if sigma.numel() == 0 or sigma[0] <= 0:
        return float("nan")
    # Singular values below round-off of the stored precision count as zero (as in matrix_rank).
    eps = torch.finfo(_stored_dtype(weight)).eps
    sigma = sigma[sigma > sigma[0] * max(w.shape) * eps]
    p = sigma / sigma.sum()
    return float(torch.exp(-(p * p.log()).sum()))


def _first_layer(module: nn.Module) -> nn.Module:
    """Find the first ``nn.Linear`` or convolution of ``module`` (registration order)."""
    layer = next((m for m in module.modules() if isinstance(m, _INPUT_LAYERS)), None)
    if layer is None:
        raise ValueError(
            f"{type(module).__name__} has no nn.Linear or convolution to read input weights from; "
            "pass the weight matrix (h, d) instead"
        )
    return layer


def _stored_dtype(source: torch.Tensor | np.ndarray | nn.Module) -> torch.dtype:
    """Floating dtype the weights are stored in (float32 for integer input)."""
    if isinstance(source, nn.Module):
        source = _first_layer(source).weight
    dtype = torch.as_tensor(source).dtype
    return dtype if dtype.is_floating_point else torch.float32


def _gram_frobenius_sq(w: torch.Tensor) -> float:
    """``||W Wᵀ||²_F`` through the smaller of the two Gram matrices."""
    gram = w.T @ w if w.shape[1] < w.shape[0] else w @ w.T
    return float((gram * gram).sum())


def _clip01(value: float) -> float:
    """Clamp round-off (e.g. 1 + 1e-16) into ``[0, 1]``."""
    return min(1.0, max(0.0, value))
