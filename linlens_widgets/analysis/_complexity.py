"""Local complexity: how many linear-region boundaries pass close to each input.

A ReLU network cuts its input space into linear regions; a region boundary is where one neuron's
pre-activation changes sign. Following the seed (Humayun et al., "Training dynamics of deep network
linear regions"), the local complexity (LC) around a sample ``x`` counts the neurons whose
pre-activation is not of one sign over a small neighbourhood of ``x``: the vertices of a random
``k``-dimensional cross-polytope of radius ``r`` centred on ``x`` (``x ± r q_i`` for ``k``
orthonormal random directions ``q_i``) plus ``x`` itself. All ``N (2k + 1)`` points go through the
network in a few batched forwards.

For the first hidden layer this count is exact: the pre-activation is affine on the polytope, so its
sign is constant on it if and only if it is constant on the vertices; the neuron is counted exactly
when its hyperplane meets the polytope, i.e. ``|w·x + b| ≤ r ||Qᵀ w||_∞``. For deeper layers, as
in the seed, the sign is checked at the vertices only, which can miss a boundary that enters and
leaves the polytope between vertices (LC is then a lower bound). A boundary farther than ``r`` from
``x`` is never counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from linlens_widgets.lens.layers import SMOOTH_LAYERS, UnsupportedLayerError, describe_module
from linlens_widgets.lens.patterns import record_patterns


def local_complexity(
    model: nn.Module,
    x: torch.Tensor,
    *,
    radius: float,
    n_directions: int = 8,
    seed: int = 0,
    batch_size: int = 256,
    by_layer: bool = False,
    directions: torch.Tensor | None = None,
) -> torch.Tensor:
    """Count the region boundaries (neurons changing sign) within ``radius`` of each sample.

    Parameters
    ----------
    model : nn.Module
        A piecewise-linear network. Its units are those of the engine's activation patterns
        (:func:`linlens_widgets.lens.patterns.activation_patterns`): every ``nn.ReLU``,
        ``nn.LeakyReLU`` and ``nn.PReLU`` call (a unit counts when its pre-activation sign varies)
        and every max-pool output (counts when its argmax varies). Functional calls such as
        ``torch.relu`` inside ``forward`` are not seen. It runs in eval mode under
        ``torch.no_grad``; its training flag is restored.
    x : Tensor
        Samples ``(N, *input_shape)`` around which to count.
    radius : float
        Radius ``r`` of the neighbourhood, in input units.
    n_directions : int, default 8
        Dimension ``k`` of the random cross-polytope (``2k`` vertices plus the centre). Capped at
        the input dimension. Larger ``k`` finds more boundaries and costs proportionally more.
    seed : int, default 0
        Seed of the random directions (drawn per sample, on the CPU); the same seed gives the same
        neighbourhoods, so counts are comparable across checkpoints.
    batch_size : int, default 256
        Samples per forward pass (each brings ``2k + 1`` points), bounding memory.
    by_layer : bool, default False
        Return the counts per recorded layer call ``(N, L)`` instead of their sum ``(N,)``.
    directions : Tensor, optional
        Precomputed ``random_directions(N, D, n_directions, seed=seed)`` ``(N, D, k)``, to reuse
        the same neighbourhoods across many models (e.g. checkpoints) without drawing them again;
        ``n_directions`` and ``seed`` are then ignored.

    Returns
    -------
    Tensor
        float32 counts, ``(N,)`` (or ``(N, L)``), on ``x``'s device. All zeros for a network
        without non-linearities (``(N, 0)`` with ``by_layer=True``).

    Raises
    ------
    UnsupportedLayerError
        The model has a smooth layer (GELU, Tanh, ...), so it has no linear regions.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> relu = nn.Sequential(nn.Linear(1, 1), nn.ReLU())
    >>> with torch.no_grad():
    ...     _ = relu[0].weight.fill_(1.0), relu[0].bias.fill_(-0.5)  # boundary at x = 0.5
    >>> local_complexity(relu, torch.tensor([[0.4], [0.0]]), radius=0.2).tolist()
    [1.0, 0.0]
    """
    if radius <= 0:
        raise ValueError(f"radius must be positive, got {radius}")
    if n_directions < 1:
        raise ValueError(f"n_directions must be at least 1, got {n_directions}")
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty batch (N, *input_shape), got {tuple(x.shape)}")
    _refuse_smooth(model)
    device, dtype = _param_placement(model, x)
    if directions is None:
        directions = random_directions(x.shape[0], x[0].numel(), n_directions, seed=seed)
    elif directions.ndim != 3 or directions.shape[:2] != (x.shape[0], x[0].numel()):
        raise ValueError(
            f"directions must be (N, D, k) = ({x.shape[0]}, {x[0].numel()}, k) for x of shape "
            f"{tuple(x.shape)}, got {tuple(directions.shape)}"
        )
    counts = []
    with _eval_mode(model), torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            chunk = x[start : start + batch_size].to(device, dtype)
            points = cross_polytope(chunk, directions[start : start + batch_size], radius)
            counts.append(_sign_changes(model, points))
    result = torch.cat(counts).to(x.device)
    return result if by_layer else result.sum(1)


def boundary_points(
    model: nn.Module, a: torch.Tensor, b: torch.Tensor, *, n_steps: int = 30
) -> torch.Tensor:
    """Points on the decision boundary between pairs of samples the model classifies differently.

    For each pair ``(a_i, b_i)`` whose predicted classes (argmax of the outputs) differ, bisect the
    segment between them ``n_steps`` times and return the point where the prediction switches from
    ``a_i``'s class. Local complexity at these points, compared with that at the data, shows whether
    linear regions gather near the decision boundary (the seed's final training phase).

    Parameters
    ----------
    model : nn.Module
        A classifier mapping ``(N, *input_shape)`` to scores ``(N, C)``; run in eval mode without
        gradients (its training flag is restored).
    a, b : Tensor
        Paired samples ``(N, *input_shape)``.
    n_steps : int, default 30
        Bisection steps; the point is within ``||b_i − a_i|| / 2**n_steps`` of the boundary.

    Returns
    -------
    Tensor
        ``(M, *input_shape)`` boundary points, one per pair with differing predictions
        (``M`` may be 0).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Linear(1, 2)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.tensor([[1.0], [-1.0]])), net.bias.zero_()
    >>> boundary_points(net, torch.tensor([[-1.0], [2.0]]), torch.tensor([[3.0], [5.0]])).tolist()
    [[0.0]]
    """
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    with _eval_mode(model), torch.no_grad():
        label_a = model(a).argmax(1)
        differ = label_a != model(b).argmax(1)
        a, b, label_a = a[differ], b[differ], label_a[differ]
        shape = (-1,) + (1,) * (a.ndim - 1)
        lo = torch.zeros(len(a), dtype=a.dtype, device=a.device)
        hi = torch.ones_like(lo)
        for _ in range(n_steps):
            mid = (lo + hi) / 2
            same = model(a + mid.reshape(shape) * (b - a)).argmax(1) == label_a
            lo, hi = torch.where(same, mid, lo), torch.where(same, hi, mid)
        return a + ((lo + hi) / 2).reshape(shape) * (b - a)


def random_directions(n: int, dim: int, k: int, *, seed: int = 0) -> torch.Tensor:
    """Draw ``n`` independent sets of ``min(k, dim)`` orthonormal directions in ``R^dim``.

    Returns
    -------
    Tensor
        float32 ``(n, dim, k)``: each ``[i]`` has orthonormal columns (Haar-random subspace).
    """
    k = min(k, dim)
    generator = torch.Generator().manual_seed(seed)
    gaussian = torch.randn(n, dim, k, generator=generator)
    q, r = torch.linalg.qr(gaussian)
    # Fix the column signs so that the distribution is uniform (QR's sign convention is not).
    return q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)


def cross_polytope(x: torch.Tensor, directions: torch.Tensor, radius: float) -> torch.Tensor:
    """Vertices ``x ± r q_i`` and the centre ``x`` of each sample's neighbourhood.

    Parameters
    ----------
    x : Tensor
        ``(n, *input_shape)`` centres.
    directions : Tensor
        ``(n, D, k)`` orthonormal directions, ``D = prod(input_shape)``.
    radius : float
        Distance of each vertex from its centre.

    Returns
    -------
    Tensor
        ``(n, 2k + 1, *input_shape)``; index 0 is the centre.
    """
    n, shape = x.shape[0], x.shape[1:]
    flat = x.reshape(n, 1, -1)
    steps = radius * directions.to(flat).transpose(1, 2)  # (n, k, D)
    points = torch.cat([flat, flat + steps, flat - steps], dim=1)
    return points.reshape(n, points.shape[1], *shape)


def _sign_changes(model: nn.Module, points: torch.Tensor) -> torch.Tensor:
    """Count, per sample and unit layer, the units whose state varies over ``points``.

    ``points`` is ``(n, m, *input_shape)``; the states are the engine's activation patterns (ReLU
    family: pre-activation ``> 0``; max-pool: the argmax), one layer call per column.
    """
    n, m = points.shape[:2]
    patterns, _ = record_patterns(model, points.reshape(n * m, *points.shape[2:]), maxpool=True)
    if not patterns:
        return torch.zeros(n, 0)
    per_layer = []
    for states in patterns:
        states = states.reshape(n, m, -1)
        per_layer.append((states != states[:, :1]).any(1).sum(1))
    return torch.stack(per_layer, 1).float().cpu()


def _refuse_smooth(model: nn.Module) -> None:
    """Raise when the model has a smooth layer: it has no linear regions to count."""
    for name, module in model.named_modules():
        if isinstance(module, SMOOTH_LAYERS):
            raise UnsupportedLayerError(
                f"{describe_module(name, module)} is smooth: local complexity counts "
                "linear-region boundaries, which only piecewise-linear networks have"
            )


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Put ``model`` in eval mode for the duration, then restore its training flag."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _param_placement(model: nn.Module, x: torch.Tensor) -> tuple[torch.device, torch.dtype]:
    """Device and floating dtype of the model's first parameter (inputs are moved to them)."""
    param = next(model.parameters(), None)
    if param is None or not param.is_floating_point():
        return x.device, x.dtype if x.is_floating_point() else torch.float32
    return param.device, param.dtype
