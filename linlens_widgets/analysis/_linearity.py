"""Linearity of a network through the lens: how much its effective weights vary across inputs.

A linear network has one weight matrix for every input; a ReLU network has ``W_eff(x)``, which
changes from region to region. The seed (Zhang, Saxe & Latham, "When are bias-free ReLU networks
like linear networks?") shows that a bias-free two-layer ReLU network trained on data that is
symmetric under ``(x, y) -> (-x, -y)`` follows a linear network's dynamics: its even part
``½ W₂|W₁x|`` receives no useful gradient, and its neurons organise into antipodal pairs whose
effective weight is the same on both sides of their hyperplane. ``weight_variation`` measures how
far a network is from that: 0 for a linear network, growing as ``W_eff(x)`` depends on ``x``.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

import numpy as np
import torch

Normalisation = Literal["energy", "mean"]


@runtime_checkable
class _HasWeight(Protocol):
    weight: torch.Tensor


def weight_variation(
    weights: torch.Tensor | np.ndarray | _HasWeight,
    labels: object = None,
    *,
    normalise: Normalisation = "energy",
) -> float:
    """Relative variance of the effective weights across samples.

    Definition: with ``W̄ = mean_x W_eff(x)`` (Frobenius norms over all output rows and inputs),

        variation = E_x ||W_eff(x) − W̄||² / E_x ||W_eff(x)||²          (normalise="energy")
                  = E_x ||W_eff(x) − W̄||² / ||W̄||²                      (normalise="mean")

    The default is the fraction of the effective weights' energy that depends on the input: 0 for a
    linear network (one W for all inputs), 1 when the effective weights average out to zero, and in
    ``[0, 1]`` always. The ``"mean"`` form is the variance relative to the mean's size (unbounded);
    the two are related by ``mean = energy / (1 − energy)``.

    Parameters
    ----------
    weights : EffectiveWeights | Tensor | ndarray
        Effective weights ``(N, C, *input_shape)`` of ``N`` samples (anything with a ``.weight``
        tensor, such as ``EffectiveWeights``, or the tensor itself). Only the weights are used, not
        ``b_eff``.
    labels : optional
        Not used: the variation is taken over all samples. Accepted so that the function plugs
        into ``metrics.over_run(run, weight_variation)``, which calls ``fn(weights, labels)``.
    normalise : {"energy", "mean"}, default "energy"
        Which denominator to use (see above).

    Returns
    -------
    float
        The variation; ``nan`` when the denominator is zero (all-zero weights, or ``"mean"`` with
        a zero mean).

    Examples
    --------
    >>> import torch
    >>> w = torch.randn(3, 10)
    >>> weight_variation(w.expand(5, 3, 10))          # a linear network: one W for all inputs
    0.0
    >>> round(weight_variation(torch.stack([w, -w])), 6)  # W_eff averages out to zero
    1.0
    """
    w = weights.weight if isinstance(weights, _HasWeight) else torch.as_tensor(weights)
    if w.ndim < 2 or w.shape[0] == 0:
        raise ValueError(
            f"expected effective weights (N, C, *input_shape) with N >= 1, got {tuple(w.shape)}"
        )
    w = w.detach().reshape(w.shape[0], -1)
    if not w.is_floating_point() or w.element_size() < 4:
        w = w.float()
    # The variance is shift-invariant; centring on the first sample first makes it exactly 0 when
    # all samples share one W (a linear network), instead of round-off of the mean. Elementwise
    # work stays in the weights' precision; sums accumulate in float64.
    shifted = w - w[0]
    shift_mean = shifted.mean(0, dtype=torch.float64)
    spread = float(((shifted - shift_mean.to(w.dtype)) ** 2).sum(dtype=torch.float64)) / len(w)
    if normalise == "energy":
        denom = float((w * w).sum(dtype=torch.float64)) / len(w)
    elif normalise == "mean":
        denom = float(((w[0].double() + shift_mean) ** 2).sum())
    else:
        raise ValueError(f"normalise must be 'energy' or 'mean', got {normalise!r}")
    if denom <= 0:
        return float("nan")
    return spread / denom
