"""Quality figures of a 2-D layout: k-NN recall, KL divergence, and frame-to-frame steadiness.

All three are measured the same way for every method, so aligned and independent embeddings
(and the scikit-learn baseline in ``benchmarks/embed.py``) are compared on equal terms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from linlens_widgets.analysis._pca import ArrayLike
from linlens_widgets.lens.arrays import to_numpy

if TYPE_CHECKING:  # pragma: no cover
    import scipy.sparse as sp

_CHUNK = 1024
_BLOCK_ELEMENTS = 1 << 24  # distance-block budget: 16M entries (64-128 MB)
_EXACT_KL_MAX_N = 5000


def _as_array(x: ArrayLike) -> np.ndarray:
    """``x`` as a 2-D NumPy array, float32 kept as float32 (large features), else float64."""
    x = to_numpy(x)
    dtype = np.float32 if x.dtype == np.float32 else np.float64
    return np.ascontiguousarray(x, dtype=dtype).reshape(x.shape[0], -1)


def query_indices(n: int, max_queries: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices of the points whose neighbourhoods are checked (all when N is small)."""
    if max_queries is None or n <= max_queries:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_queries, replace=False))


def knn_indices(x: ArrayLike, k: int, queries: np.ndarray | None = None) -> np.ndarray:
    """Exact Euclidean ``k`` nearest neighbours (self excluded) of the query rows of ``x``.

    Parameters
    ----------
    x : np.ndarray or torch.Tensor
        ``(N, d)`` points (trailing dimensions are flattened).
    k : int
        Neighbours per query; must be < N.
    queries : np.ndarray, optional
        Row indices to query; all rows when omitted.

    Returns
    -------
    np.ndarray
        ``(Q, k)`` int64 neighbour indices, nearest first.
    """
    return knn_graph(x, k, queries)[0]


def knn_graph(
    x: ArrayLike, k: int, queries: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``k`` nearest neighbours of the query rows of ``x`` and their Euclidean distances.

    A blocked brute-force search, so memory stays within a fixed block budget whatever N is:
    per block of queries, one single-precision product of the centred points gives the squared
    distances (``|x_q|^2 + |x_j|^2 - 2 x_q . x_j``, summed in double precision) and
    ``torch.topk`` selects the ``k`` smallest, about five times faster than ``np.argpartition``
    on rows of 10,000.

    Parameters
    ----------
    x : np.ndarray or torch.Tensor
        ``(N, d)`` points (trailing dimensions are flattened).
    k : int
        Neighbours per query; must be < N.
    queries : np.ndarray, optional
        Row indices to query; all rows when omitted.

    Returns
    -------
    tuple of np.ndarray
        ``(Q, k)`` int64 neighbour indices, nearest first (self excluded), and the ``(Q, k)``
        float64 distances to them.
    """
    data = _as_array(x)
    n = data.shape[0]
    if not 0 < k < n:
        raise ValueError(f"k must be in [1, N-1] = [1, {n - 1}], got {k}")
    queries = np.arange(n) if queries is None else np.asarray(queries)
    centred = data - data.mean(axis=0, dtype=np.float64)
    sq = (centred**2).sum(axis=1)
    single = centred.astype(np.float32)
    out = np.empty((len(queries), k), dtype=np.int64)
    dist = np.empty((len(queries), k), dtype=np.float64)
    chunk = max(1, min(_CHUNK, _BLOCK_ELEMENTS // n))
    for s in range(0, len(queries), chunk):
        q = queries[s : s + chunk]
        d2 = (single[q] @ single.T).astype(np.float64)
        d2 *= -2.0
        d2 += sq[None, :]
        d2 += sq[q, None]
        d2[np.arange(len(q)), q] = np.inf
        near, idx = torch.topk(torch.from_numpy(d2), k, dim=1, largest=False, sorted=True)
        out[s : s + len(q)] = idx.numpy()
        dist[s : s + len(q)] = np.sqrt(np.maximum(near.numpy(), 0.0))
    return out, dist


def knn_recall(
    high_neighbors: np.ndarray, layout: ArrayLike, queries: np.ndarray | None = None
) -> float:
    """Mean fraction of each point's high-dimensional k-NN that are also its k-NN in ``layout``.

    Parameters
    ----------
    high_neighbors : np.ndarray
        ``(Q, k)`` neighbours in the high-dimensional features (from :func:`knn_indices`).
    layout : np.ndarray or torch.Tensor
        ``(N, 2)`` positions.
    queries : np.ndarray, optional
        The rows ``high_neighbors`` belongs to; all rows when omitted.

    Returns
    -------
    float
        Recall in [0, 1]; 1 means every neighbourhood survived the projection.
    """
    k = high_neighbors.shape[1]
    low = knn_indices(layout, k, queries)
    hits = [
        len(np.intersect1d(h, lo, assume_unique=True))
        for h, lo in zip(high_neighbors, low, strict=True)
    ]
    return float(np.mean(hits) / k)


def kl_divergence(p: sp.csr_matrix, layout: np.ndarray) -> float:
    """KL(P || Q) of a 2-D layout for the t-SNE affinities ``p`` (normalised to sum 1).

    ``Q`` is the Cauchy-kernel similarity of t-SNE. Exact for N <= 5000 (chunked), otherwise
    openTSNE's FFT-interpolated estimate of the normalisation.
    """
    import scipy.sparse as sp  # not at import: the trajectory reads this module (0.3 s)

    y = np.ascontiguousarray(layout, dtype=np.float64)
    p = sp.csr_matrix(p, dtype=np.float64)
    p = p / p.sum()
    n = y.shape[0]
    if n > _EXACT_KL_MAX_N:
        from openTSNE.tsne import kl_divergence_fft

        fft = {"n_interpolation_points": 3, "min_num_intervals": 50, "ints_in_interval": 1}
        kl, _ = kl_divergence_fft(y, p, 1, fft, should_eval_error=True)
        return float(kl)
    sum_q = 0.0
    sq = (y**2).sum(axis=1)
    for s in range(0, n, _CHUNK):
        d2 = np.maximum(sq[s : s + _CHUNK, None] - 2.0 * (y[s : s + _CHUNK] @ y.T) + sq, 0.0)
        w = 1.0 / (1.0 + d2)
        w[np.arange(w.shape[0]), np.arange(s, s + w.shape[0])] = 0.0
        sum_q += float(w.sum())
    coo = p.tocoo()
    keep = coo.data > 0
    rows, cols, pij = coo.row[keep], coo.col[keep], coo.data[keep]
    qij = 1.0 / (1.0 + ((y[rows] - y[cols]) ** 2).sum(axis=1)) / sum_q
    return float((pij * np.log(pij / np.maximum(qij, 1e-300))).sum())


def _normalised(layout: np.ndarray) -> np.ndarray:
    """Centre a layout and scale it to unit root-mean-square radius."""
    y = np.asarray(layout, dtype=np.float64)
    y = y - y.mean(axis=0)
    rms = np.sqrt((y**2).sum(axis=1).mean())
    return y / rms if rms > 0 else y


def procrustes_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the 2x2 orthogonal ``R`` (rotation or reflection) minimising ``||a R - b||``."""
    u, _, vt = np.linalg.svd(np.asarray(a, np.float64).T @ np.asarray(b, np.float64))
    return u @ vt


def procrustes_displacement(a: np.ndarray, b: np.ndarray) -> float:
    """Mean per-point distance between two layouts after the best rotation/reflection of ``b``.

    Both layouts are centred and scaled to unit RMS radius first, so the figure is free of
    scale, translation, rotation and mirror flips: it measures only how much the neighbourhood
    geometry moved. 0 means identical up to a similarity transform.
    """
    x, y = _normalised(a), _normalised(b)
    return float(np.linalg.norm(x - y @ procrustes_rotation(y, x), axis=1).mean())


def mean_displacement(positions: np.ndarray) -> float:
    """Mean :func:`procrustes_displacement` over consecutive frames of ``(E, N, 2)`` positions."""
    if len(positions) < 2:
        return 0.0
    return float(
        np.mean(
            [
                procrustes_displacement(positions[t], positions[t + 1])
                for t in range(len(positions) - 1)
            ]
        )
    )
