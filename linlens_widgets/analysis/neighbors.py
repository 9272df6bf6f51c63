"""Nearest neighbours and pairwise similarity in effective-weight space.

A 2-D embedding distorts distances; the neighbours a sample really has are those whose effective
weights are most similar in the original space. "Similar" means the one similarity the product uses
everywhere (``class_similarity``, the comparison panel, the saved page): the **centred cosine**,
the cosine between two flattened W_eff after subtracting the mean W_eff over the probe samples at
the same checkpoint. Raw cosine (nothing subtracted) is available as ``centered=False``.

Every function accepts effective weights ``(N, C, *input)`` or the engine's isometric features
``(N, k)`` (``weight_features``): the features keep inner products and means, so centred cosines
computed from them equal those of the flattened W_eff, at a fraction of the cost.

>>> import torch
>>> w = torch.tensor([[1.0, 0.0], [0.9, 0.2], [0.7, 0.2], [0.0, 1.0], [0.1, 0.9]])
>>> nb = neighbors(w, 0, k=3, labels=[0, 0, 0, 1, 1])
>>> nb.index.tolist(), nb.agreement
([1, 2, 3], 0.6666666666666666)
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = [
    "Neighbors",
    "centred_cosine",
    "checkpoint_neighbors",
    "neighbor_table",
    "neighbors",
    "probe_mean",
]

_CHUNK = 4096
_BLOCK = 1024
"""Rows of the N x N similarity a neighbour table holds at once (float64: 80 MB at N = 10,000)."""


@dataclass(frozen=True)
class Neighbors:
    """The ``k`` probe samples most similar to a query, most similar first.

    Attributes
    ----------
    query : np.ndarray
        ``(m,)`` the probe indices whose mean is the query (one index for a single sample).
    index : np.ndarray
        ``(k,)`` int64 probe indices of the neighbours (the query's own samples excluded).
    similarity : np.ndarray
        ``(k,)`` float64 similarity of each neighbour to the query (centred cosine by default).
    agreement : float or None
        Share of the ``k`` neighbours whose label equals the query's label (the majority label of
        a group query); ``None`` when no labels were given.
    centered : bool
        Whether the similarity is centred (the probe mean subtracted) or raw.
    """

    query: np.ndarray
    index: np.ndarray
    similarity: np.ndarray
    agreement: float | None
    centered: bool


def _flat(weights: Any) -> torch.Tensor:
    """Return ``(N, P)`` float64 rows from effective weights, features, a tensor or an array."""
    w = getattr(weights, "weight", weights)
    t = w if isinstance(w, torch.Tensor) else torch.as_tensor(np.asarray(w))
    if t.ndim < 2 or t.shape[0] == 0:
        raise ValueError(f"weights must have shape (N, ...) with N >= 1, got {tuple(t.shape)}")
    return t.reshape(t.shape[0], -1)


def _check_finite(rows: torch.Tensor) -> None:
    """Refuse rows holding NaN or infinity, naming the samples (at most ten).

    Their similarities, and so every neighbour list, would be arbitrary.
    """
    bad = torch.cat(
        [~torch.isfinite(rows[s : s + _CHUNK]).all(dim=1) for s in range(0, rows.shape[0], _CHUNK)]
    )
    if bool(bad.any()):
        which = torch.nonzero(bad).flatten().tolist()
        more = f" and {len(which) - 10} more" if len(which) > 10 else ""
        raise ValueError(
            f"the weights of sample(s) {', '.join(map(str, which[:10]))}{more} are not finite "
            "(NaN or infinity), so their similarities and every neighbour list would be "
            "arbitrary; leave those samples out or check the run's checkpoints"
        )


def probe_mean(weights: Any) -> torch.Tensor:
    """Mean flattened effective weight over the probe samples, ``(P,)`` float64.

    This is what the centred cosine subtracts; the saved page stores it per checkpoint.
    """
    rows = _flat(weights)
    total = torch.zeros(rows.shape[1], dtype=torch.float64)
    for s in range(0, rows.shape[0], _CHUNK):
        total += rows[s : s + _CHUNK].to(torch.float64).sum(dim=0)
    return total / rows.shape[0]


def centred_cosine(a: Any, b: Any, mean: Any | None) -> float:
    """Cosine between two flattened effective weights after subtracting ``mean``.

    Parameters
    ----------
    a, b : array-like
        Two effective weights (any shape, same size), e.g. ``(C, *input)``, or feature rows.
    mean : array-like or None
        The probe mean in the same layout (:func:`probe_mean`); ``None`` gives the raw cosine.

    Returns
    -------
    float
        In ``[-1, 1]``; NaN when either centred vector is zero (a sample equal to the mean).

    Examples
    --------
    >>> centred_cosine([1.0, 0.0], [0.0, 1.0], None)
    0.0
    >>> centred_cosine([2.0, 1.0], [0.0, 1.0], [1.0, 1.0])
    -1.0
    """
    x = torch.as_tensor(np.asarray(a, dtype=np.float64)).reshape(-1)
    y = torch.as_tensor(np.asarray(b, dtype=np.float64)).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"a and b must have the same size, got {x.numel()} and {y.numel()}")
    if mean is not None:
        m = torch.as_tensor(np.asarray(mean, dtype=np.float64)).reshape(-1)
        if m.shape != x.shape:
            raise ValueError(f"mean must have {x.numel()} values like a and b, got {m.numel()}")
        x, y = x - m, y - m
    nx, ny = float(x.norm()), float(y.norm())
    if nx == 0.0 or ny == 0.0:
        return float("nan")
    return float(torch.dot(x, y) / (nx * ny))


def _query_rows(i: int | Sequence[int] | np.ndarray, n: int) -> np.ndarray:
    """Validate a sample index or a group of indices and return them as an int64 array."""
    raw = np.atleast_1d(np.asarray(i))
    if raw.size == 0:
        raise ValueError("the query is empty; pass a sample index or a non-empty group")
    if raw.dtype.kind not in "iu":
        raise ValueError(f"sample indices must be integers, got {raw.dtype} values")
    q = raw.astype(np.int64)
    bad = q[(q < -n) | (q >= n)]
    if bad.size:
        raise IndexError(f"sample index {int(bad[0])} is out of range for {n} probe samples")
    return np.unique(q % n)


def _unit_rows(rows: torch.Tensor, mean: torch.Tensor | None) -> torch.Tensor:
    x = rows.to(torch.float64)
    if mean is not None:
        x = x - mean
    norms = x.norm(dim=1, keepdim=True)
    return torch.where(norms > 0, x / norms.clamp_min(1e-300), torch.zeros_like(x))


def _majority(labels: np.ndarray) -> int:
    values, counts = np.unique(labels, return_counts=True)
    return int(values[np.argmax(counts)])


def neighbors(
    weights: Any,
    i: int | Sequence[int] | np.ndarray,
    k: int = 10,
    *,
    labels: Any | None = None,
    centered: bool = True,
) -> Neighbors:
    """Find the ``k`` probe samples whose effective weights are most similar to sample ``i``'s.

    Parameters
    ----------
    weights : EffectiveWeights, torch.Tensor or np.ndarray
        ``(N, C, *input)`` effective weights or ``(N, k)`` isometric features, at one checkpoint.
    i : int or sequence of int
        A probe index, or a group of indices (the query is then the group's mean W_eff and the
        group's own samples are excluded from the answer).
    k : int, default 10
        How many neighbours; fewer when the probe has fewer other samples.
    labels : array-like, optional
        ``(N,)`` class labels; when given, ``agreement`` is the share of neighbours with the
        query's label (a group's majority label).
    centered : bool, default True
        Centred cosine (the probe mean subtracted); ``False`` for the raw cosine.

    Returns
    -------
    Neighbors
        Indices and similarities, most similar first.

    Raises
    ------
    ValueError
        For ``k < 1``, an empty query, labels of the wrong length, or weights that are not
        finite (the message names the samples).
    IndexError
        For a sample index outside the probe.
    """
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    rows = _flat(weights)
    _check_finite(rows)
    n = rows.shape[0]
    query = _query_rows(i, n)
    mean = probe_mean(rows) if centered else None
    target = _unit_rows(rows[torch.from_numpy(query)].to(torch.float64).mean(0, keepdim=True), mean)
    sims = torch.empty(n, dtype=torch.float64)
    for s in range(0, n, _CHUNK):
        sims[s : s + _CHUNK] = _unit_rows(rows[s : s + _CHUNK], mean) @ target[0]
    sims[torch.from_numpy(query)] = -np.inf
    take = min(int(k), n - len(query))
    if take <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return Neighbors(query, empty, np.zeros(0), None, centered)
    top = torch.topk(sims, take)
    index = top.indices.numpy().astype(np.int64)
    agreement = None
    if labels is not None:
        y = np.asarray(labels).reshape(-1)
        if len(y) != n:
            raise ValueError(f"labels has {len(y)} entries but weights has {n} samples")
        agreement = float(np.mean(y[index] == _majority(y[query])))
    return Neighbors(query, index, top.values.numpy(), agreement, centered)


def neighbor_table(
    weights: Any, k: int = 10, *, centered: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Every probe sample's ``k`` nearest neighbours at once (what the saved page stores).

    Parameters
    ----------
    weights : EffectiveWeights, torch.Tensor or np.ndarray
        ``(N, C, *input)`` effective weights or ``(N, k)`` isometric features.
    k : int, default 10
        Neighbours per sample (at most ``N - 1``).
    centered : bool, default True
        Centred cosine (default) or raw.

    Returns
    -------
    index : np.ndarray
        ``(N, k)`` int32 neighbour indices, most similar first, never the sample itself.
    similarity : np.ndarray
        ``(N, k)`` float32 similarities.
    """
    rows = _flat(weights)
    _check_finite(rows)
    n = rows.shape[0]
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    take = min(int(k), n - 1)
    mean = probe_mean(rows) if centered else None
    unit = torch.empty((n, rows.shape[1]), dtype=torch.float64)  # filled a block at a time
    for s in range(0, n, _BLOCK):
        unit[s : s + _BLOCK] = _unit_rows(rows[s : s + _BLOCK], mean)
    index = np.zeros((n, max(take, 0)), dtype=np.int32)
    sim = np.zeros((n, max(take, 0)), dtype=np.float32)
    if take <= 0:
        return index, sim
    for s in range(0, n, _BLOCK):
        block = unit[s : s + _BLOCK] @ unit.T
        rows_idx = torch.arange(s, min(s + _BLOCK, n))
        block[rows_idx - s, rows_idx] = -np.inf
        top = torch.topk(block, take, dim=1)
        index[s : s + _BLOCK] = top.indices.numpy()
        sim[s : s + _BLOCK] = top.values.numpy()
    return index, sim


_FOUND: weakref.WeakKeyDictionary[Any, dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]] = (
    weakref.WeakKeyDictionary()
)
_FOUND_LOCK = threading.Lock()


def checkpoint_neighbors(source: Any, i: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Every probe sample's ``k`` nearest neighbours (centred cosine) at checkpoint ``i``, once.

    The metrics panel's kNN agreement and the comparison's neighbour tables need the same N x N
    search at every checkpoint, the costliest step of a large run's page; the result is kept
    with ``source`` (a run's ``run_weights``, 8·N·k bytes a checkpoint) for as long as it lives.

    Parameters
    ----------
    source
        A run's source with ``weight_features(i)`` (``source_of(run)``).
    i
        Checkpoint index.
    k
        Neighbours per sample (default 10).

    Returns
    -------
    tuple of np.ndarray
        ``neighbor_table(source.weight_features(i), k)``: index and similarity, ``(N, k)``.
    """
    key = (int(i), int(k))
    with _FOUND_LOCK:
        found = _FOUND.setdefault(source, {}).get(key)
    if found is None:
        found = neighbor_table(source.weight_features(i), int(k))
        with _FOUND_LOCK:
            _FOUND[source][key] = found
    return found
