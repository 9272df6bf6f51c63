"""Class similarity of effective weights (intra/inter, centred) and class-mean effective weights.

The paper's central numbers: during training the effective weights of same-class samples converge
(the mean cosine within a class, *intra*, rises) and those of different classes diverge (*inter*
falls). :func:`class_similarity` computes both in chunks (memory bounded for any N) and
:func:`class_mean_weights` the mean W_eff of each class. Both take ``EffectiveWeights``, a tensor
or an array ``(N, ...)``, or the engine's isometric features
(``run_weights(run).weight_features(i)``: they keep inner products, so centring and cosines on
them equal those of the flattened W_eff).
``ll.metrics`` re-exports them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from linlens_widgets.analysis.clustering import Weights, flat_rows, label_array, weight_tensor

__all__ = ["ClassSimilarity", "class_mean_weights", "class_similarity"]

_CHUNK = 8192


# ----------------------------------------------------------------------------- similarity


@dataclass(frozen=True)
class ClassSimilarity:
    """Mean cosine similarity of flattened effective weights within and between classes.

    Attributes
    ----------
    intra : float
        Mean over classes of the mean cosine between two different samples of the class.
    inter : float
        Mean over ordered pairs of different classes of their mean cross-class cosine.
    matrix : np.ndarray
        ``(C, C)``: entry ``(a, b)`` is the mean cosine between samples of classes ``a`` and
        ``b`` (self-pairs excluded on the diagonal; NaN for a class with one sample).
    classes : np.ndarray
        ``(C,)`` the class labels the rows/columns refer to.
    centered : bool
        Whether the probe set's mean W_eff was subtracted first.
    """

    intra: float
    inter: float
    matrix: np.ndarray
    classes: np.ndarray
    centered: bool


def class_similarity(weights: Weights, labels: Any, *, centered: bool = True) -> ClassSimilarity:
    """Intra- and inter-class mean cosine similarity of flattened effective weights.

    Raw cosines are dominated by the component every sample shares (on a trained digits MLP,
    raw intra and inter both sit near 0.9), which hides convergence and divergence; by default
    the probe set's mean W_eff is subtracted first. Cost is ``O(N k)``: per-class sums of unit
    vectors give all pair sums at once, streamed over row chunks.

    Parameters
    ----------
    weights : EffectiveWeights, torch.Tensor or np.ndarray
        ``(N, ...)`` effective weights, or the engine's isometric features ``(N, k)``.
    labels : torch.Tensor or array
        ``(N,)`` class labels.
    centered : bool, default True
        Subtract the mean over all N samples before taking cosines.

    Returns
    -------
    ClassSimilarity
        ``.intra``, ``.inter``, ``.matrix`` (C x C).

    Examples
    --------
    >>> w = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    >>> s = class_similarity(w, torch.tensor([0, 0, 1, 1]))
    >>> s.intra > 0.9 > 0 > s.inter
    True
    """
    w = weight_tensor(weights)
    n = w.shape[0]
    y = label_array(labels, n)
    classes, index = np.unique(y, return_inverse=True)
    mean = _column_mean(w) if centered else None
    sums = torch.zeros(len(classes), int(np.prod(w.shape[1:])), dtype=torch.float64)
    counts = torch.zeros(len(classes), dtype=torch.float64)
    nonzero = torch.zeros(len(classes), dtype=torch.float64)
    index_all = torch.from_numpy(index)
    for s in range(0, n, _CHUNK):
        rows = flat_rows(w, slice(s, s + _CHUNK))
        if mean is not None:
            rows = rows - mean
        norms = rows.norm(dim=1, keepdim=True)
        unit = torch.where(norms > 0, rows / norms.clamp_min(1e-300), torch.zeros_like(rows))
        idx = index_all[s : s + _CHUNK]
        sums.index_add_(0, idx, unit)
        counts.index_add_(0, idx, torch.ones(len(idx), dtype=torch.float64))
        nonzero.index_add_(0, idx, (norms[:, 0] > 0).to(torch.float64))
    dots = (sums @ sums.T).numpy()
    cnt = counts.numpy()
    pairs = np.outer(cnt, cnt)
    np.fill_diagonal(pairs, cnt * (cnt - 1))
    np.fill_diagonal(dots, np.diag(dots) - nonzero.numpy())  # drop self-pairs (cosine 1 each)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.where(pairs > 0, dots / np.maximum(pairs, 1), np.nan)
    off = ~np.eye(len(classes), dtype=bool)
    intra = float(np.nanmean(np.diag(matrix))) if np.isfinite(np.diag(matrix)).any() else np.nan
    inter = float(np.nanmean(matrix[off])) if off.any() else np.nan
    return ClassSimilarity(intra, inter, matrix, classes, centered)


def _column_mean(w: torch.Tensor) -> torch.Tensor:
    total = torch.zeros(int(np.prod(w.shape[1:])), dtype=torch.float64)
    for s in range(0, w.shape[0], _CHUNK):
        total += flat_rows(w, slice(s, s + _CHUNK)).sum(dim=0)
    return total / w.shape[0]


class_similarity.accepts_features = True  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- class means


def class_mean_weights(weights: Weights, labels: Any, n_classes: int | None = None) -> torch.Tensor:
    """Compute the mean effective weight per class, in the weights' own shape.

    Row ``k`` is always class ``k``: a class without samples gets a row of NaN, so a missing
    class never shifts the later ones.

    Parameters
    ----------
    weights : EffectiveWeights, torch.Tensor or np.ndarray
        ``(N, C_out, *input_shape)`` effective weights (any ``(N, ...)`` works).
    labels : torch.Tensor or array
        ``(N,)`` class labels ``0 .. n_classes - 1``.
    n_classes : int, optional
        Number of classes (e.g. ``run.n_classes``); default the largest label + 1.

    Returns
    -------
    torch.Tensor
        ``(n_classes, *weights.shape[1:])`` float32, row ``k`` the mean over samples of class
        ``k`` (NaN where class ``k`` has none).

    Raises
    ------
    ValueError
        A label is negative or not below ``n_classes``.

    Examples
    --------
    >>> w = torch.arange(8.0).reshape(4, 1, 2)
    >>> class_mean_weights(w, [0, 0, 1, 1])[:, 0]
    tensor([[1., 2.],
            [5., 6.]])
    >>> class_mean_weights(w, [0, 0, 2, 2])[1, 0]
    tensor([nan, nan])
    """
    w = weight_tensor(weights)
    y = label_array(labels, w.shape[0])
    k = _class_count(y, n_classes)
    sums = torch.zeros(k, int(np.prod(w.shape[1:])), dtype=torch.float64)
    idx_all = torch.from_numpy(y)
    for s in range(0, w.shape[0], _CHUNK):
        sums.index_add_(0, idx_all[s : s + _CHUNK], flat_rows(w, slice(s, s + _CHUNK)))
    counts = torch.from_numpy(np.bincount(y, minlength=k)).to(torch.float64)
    means = sums / counts[:, None]  # 0/0: NaN for an absent class
    means[counts == 0] = math.nan
    return means.to(torch.float32).reshape(k, *w.shape[1:])


def _class_count(y: np.ndarray, n_classes: int | None) -> int:
    """``n_classes`` after checking every label lies below it (default: largest label + 1).

    ``y`` comes from :func:`~linlens_widgets.analysis.clustering.label_array`: no label is negative.
    """
    if n_classes is None:
        return int(y.max()) + 1 if len(y) else 0
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    if len(y) and int(y.max()) >= n_classes:
        position = int(np.argmax(y))
        raise ValueError(
            f"label {int(y[position])} at position {position} is not below n_classes={n_classes}"
        )
    return int(n_classes)
