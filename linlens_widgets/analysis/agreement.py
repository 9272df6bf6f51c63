"""k-nearest-neighbour label agreement: how much class structure a space holds, as one number.

A t-SNE picture of W_eff at initialisation and after training invites a claim ("the classes
overlap", "they untangle") that the picture alone cannot settle: a 2-D layout distorts distances.
The neighbours a sample really has are those most similar in the original space, by the product's
one similarity, the centred cosine (:mod:`linlens_widgets.analysis.neighbors`). The share of a
sample's ``k`` nearest neighbours that carry its label, averaged over samples, says how well the
classes are apart in that space: 1 when every neighbourhood is pure, about the class frequency
when labels are scattered at random. Measured on the inputs themselves it is the baseline, the
structure the data already has; measured on W_eff at each checkpoint it says what the network's
linear models keep of it and what training adds.

>>> import torch
>>> w = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
>>> knn_agreement(w, [0, 0, 1, 1], k=1).overall
1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from linlens_widgets.analysis.clustering import label_array
from linlens_widgets.analysis.neighbors import neighbor_table

__all__ = ["KnnAgreement", "agreement_of_neighbors", "knn_agreement"]


@dataclass(frozen=True)
class KnnAgreement:
    """Share of each sample's ``k`` nearest neighbours that share its label.

    Attributes
    ----------
    overall : float
        Mean over all samples of the share of their ``k`` neighbours with the same label.
    per_class : np.ndarray
        ``(C,)`` the same mean over the samples of each class (NaN for a class without samples).
    classes : np.ndarray
        ``(C,)`` the class labels the entries refer to: ``0 .. C - 1``.
    mixing : np.ndarray
        ``(C, C)``: entry ``(a, b)`` is the share of the neighbours of class ``a``'s samples that
        belong to class ``b`` (each row sums to 1; the diagonal is ``per_class``). Large
        off-diagonal entries name the classes that are intertwined in this space.
    k : int
        Neighbours per sample actually used (at most ``N - 1``).
    centered : bool
        Whether neighbours were found by centred cosine (the mean row subtracted) or raw cosine.
    """

    overall: float
    per_class: np.ndarray
    classes: np.ndarray
    mixing: np.ndarray
    k: int
    centered: bool

    def pair_mixing(self) -> np.ndarray:
        """``(C, C)`` symmetric mixing: the mean of ``mixing[a, b]`` and ``mixing[b, a]``.

        Zero on the diagonal; how intertwined two classes are, whichever one looks at the other.
        """
        pair = (self.mixing + self.mixing.T) / 2
        np.fill_diagonal(pair, 0.0)
        return pair


def knn_agreement(
    weights: Any, labels: Any, k: int = 10, *, centered: bool = True, n_classes: int | None = None
) -> KnnAgreement:
    """Share of each sample's ``k`` nearest neighbours (centred cosine) that carry its label.

    Parameters
    ----------
    weights : EffectiveWeights, torch.Tensor or np.ndarray
        ``(N, ...)`` effective weights, the engine's isometric features ``(N, k)`` (same
        neighbours, much cheaper), or any features, e.g. the inputs ``(N, D)`` for the baseline.
    labels : array-like
        ``(N,)`` integer class labels ``0 .. C - 1``.
    k : int, default 10
        Neighbours per sample (at most ``N - 1`` are used).
    centered : bool, default True
        Find neighbours by centred cosine (the mean over the N rows subtracted, as everywhere in
        the product); ``False`` for raw cosine.
    n_classes : int, optional
        Number of classes ``C`` (default the largest label + 1), so that a class missing from the
        samples keeps its row (NaN).

    Returns
    -------
    KnnAgreement
        ``overall``, ``per_class`` and the ``mixing`` matrix.

    Raises
    ------
    ValueError
        For ``k < 1``, fewer than two samples, labels of the wrong length, or negative labels.

    Examples
    --------
    Two tight pairs of class 0 and a mixed pair: sample 4's and 5's nearest neighbours are each
    other, of the other class.

    >>> w = torch.tensor([[1.0, 0.0], [1.0, 0.05], [0.0, 1.0], [0.05, 1.0],
    ...                   [-1.0, -1.0], [-1.0, -1.05]])
    >>> a = knn_agreement(w, [0, 0, 1, 1, 0, 1], k=1, centered=False)
    >>> a.overall, a.per_class.tolist()
    (0.6666666666666666, [0.6666666666666666, 0.6666666666666666])
    """
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    y = label_array(labels)
    n = len(y)
    rows = getattr(weights, "weight", weights)
    size = rows.shape[0] if hasattr(rows, "shape") else len(rows)
    if size != n:
        raise ValueError(f"labels has {n} entries but weights has {size} samples")
    if n < 2:
        raise ValueError(f"knn_agreement needs at least 2 samples, got {n}")
    c = int(y.max()) + 1 if n_classes is None else int(n_classes)
    if c <= int(y.max()):
        raise ValueError(f"label {int(y.max())} is not below n_classes={c}")
    index, _ = neighbor_table(weights, k=int(k), centered=centered)
    return agreement_of_neighbors(index, y, c, centered=centered)


def agreement_of_neighbors(
    index: np.ndarray, labels: Any, n_classes: int, *, centered: bool = True
) -> KnnAgreement:
    """Return the :func:`knn_agreement` of a neighbour table already found (its index).

    The explorer's panel and the comparison's neighbours ask for the same table at every
    checkpoint; this counts the labels of one without searching again.

    Parameters
    ----------
    index : np.ndarray
        ``(N, k)`` neighbour indices of each sample, never the sample itself.
    labels : array-like
        ``(N,)`` integer class labels ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes ``C``.
    centered : bool, default True
        Whether the neighbours were found by centred cosine (recorded in the result).

    >>> a = agreement_of_neighbors(np.array([[1], [0], [3], [2]]), [0, 0, 1, 0], 2)
    >>> a.overall, a.per_class.tolist()
    (0.5, [0.6666666666666666, 0.0])
    """
    y = label_array(labels)
    c = int(n_classes)
    if index.shape[0] != len(y):
        raise ValueError(f"labels has {len(y)} entries but the table has {index.shape[0]} rows")
    neighbour_labels = y[index.astype(np.int64)]  # (N, k)
    same = (neighbour_labels == y[:, None]).mean(axis=1)
    counts = np.bincount(y, minlength=c).astype(np.float64)
    hits = np.zeros((c, c), dtype=np.float64)
    np.add.at(hits, (np.repeat(y, index.shape[1]), neighbour_labels.reshape(-1)), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mixing = hits / (counts[:, None] * index.shape[1])
    mixing[counts == 0] = np.nan
    return KnnAgreement(
        overall=float(same.mean()),
        per_class=np.diag(mixing).copy(),
        classes=np.arange(c),
        mixing=mixing,
        k=int(index.shape[1]),
        centered=centered,
    )


knn_agreement.accepts_features = True  # type: ignore[attr-defined]
