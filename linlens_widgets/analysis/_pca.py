"""Randomized PCA computed in row chunks, so memory is bounded by the chunk size, not by N.

Why per checkpoint and not one shared basis: the engine's isometric features
(``run_weights(run).weight_features(i)``) fold the first layer with a factor of that checkpoint's
``W1 W1^T``, so their coordinates differ from checkpoint to checkpoint; only inner products and
distances *within* a checkpoint are meaningful. A basis shared across checkpoints would mix
unrelated coordinate systems. Per-checkpoint PCA keeps the directions that carry most of that
checkpoint's own variance, which is what its t-SNE affinities are computed from; frames are tied
together later by the alignment, never by coordinates.

The algorithm is Halko, Martinsson & Tropp (2011), Algorithm 4.4 (subspace iteration), where
every product with the centred data matrix ``X - mu`` streams over row chunks of ``X``. The
working memory is ``O(N l + k l + chunk k)`` with ``l = n_components + oversamples``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from threadpoolctl import ThreadpoolController

ArrayLike = np.ndarray | torch.Tensor

_DEFAULT_CHUNK = 4096


@dataclass(frozen=True)
class PCAResult:
    """Principal-component scores of one feature matrix.

    Attributes
    ----------
    scores : np.ndarray
        ``(N, n)`` float32 projections of the centred rows on the top ``n`` components.
    explained_variance : np.ndarray
        ``(n,)`` variance along each kept component (float64).
    total_variance : float
        Total variance of the centred data, so ``explained_variance.sum() / total_variance``
        is the fraction kept.
    """

    scores: np.ndarray
    explained_variance: np.ndarray
    total_variance: float

    @property
    def explained_ratio(self) -> float:
        """Fraction of the total variance kept by the components (1.0 for zero-variance data)."""
        if self.total_variance <= 0.0:
            return 1.0
        return float(self.explained_variance.sum() / self.total_variance)


def _rows(x: ArrayLike, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of ``x`` as a float64 array (tensors are moved to CPU per chunk)."""
    block = x[start:stop]
    if isinstance(block, torch.Tensor):
        block = block.detach().to("cpu", torch.float64).numpy()
    return np.asarray(block, dtype=np.float64).reshape(stop - start, -1)


_CONTROLLER: ThreadpoolController | None = None


def _one_blas_thread() -> Any:
    """Context that limits BLAS to one thread.

    The controller is built once: building one inspects every loaded library (tens of
    milliseconds on a busy machine), which dominated PCA of small matrices when done per call.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def _chunks(n: int, chunk: int) -> list[tuple[int, int]]:
    return [(s, min(s + chunk, n)) for s in range(0, n, chunk)]


def column_stats(x: ArrayLike, *, chunk: int = _DEFAULT_CHUNK) -> tuple[np.ndarray, float]:
    """Column means and total variance of ``x`` (N, k), streamed over row chunks.

    Returns
    -------
    tuple[np.ndarray, float]
        ``(mean (k,), total variance = mean squared distance to the mean)``.
    """
    n = x.shape[0]
    total = np.zeros(int(np.prod(x.shape[1:])), dtype=np.float64)
    for s, e in _chunks(n, chunk):
        total += _rows(x, s, e).sum(axis=0)
    mean = total / n
    ss = 0.0
    for s, e in _chunks(n, chunk):
        ss += float(((_rows(x, s, e) - mean) ** 2).sum())
    return mean, ss / n


def _times(x: ArrayLike, mean: np.ndarray, m: np.ndarray, chunk: int) -> np.ndarray:
    """``(X - mean) @ m`` for ``m`` (k, l), streamed over row chunks of X."""
    out = np.empty((x.shape[0], m.shape[1]), dtype=np.float64)
    shift = mean @ m
    for s, e in _chunks(x.shape[0], chunk):
        out[s:e] = _rows(x, s, e) @ m - shift
    return out


def _times_t(x: ArrayLike, mean: np.ndarray, q: np.ndarray, chunk: int) -> np.ndarray:
    """``(X - mean)^T @ q`` for ``q`` (N, l), streamed over row chunks of X."""
    out = np.zeros((mean.shape[0], q.shape[1]), dtype=np.float64)
    for s, e in _chunks(x.shape[0], chunk):
        out += _rows(x, s, e).T @ q[s:e]
    return out - np.outer(mean, q.sum(axis=0))


def _orth(a: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the columns of a tall ``a`` (QR), on one BLAS thread.

    QR of a tall, thin matrix gains nothing from threads and slows down 10-100x when several
    BLAS threads compete for a busy CPU.
    """
    with _one_blas_thread():
        return np.linalg.qr(a)[0]


def randomized_pca(
    x: ArrayLike,
    n_components: int,
    *,
    oversamples: int = 10,
    n_iter: int = 4,
    chunk: int = _DEFAULT_CHUNK,
    seed: int = 0,
) -> PCAResult:
    """Top principal-component scores of ``x`` (N, k), computed in row chunks.

    Parameters
    ----------
    x : np.ndarray or torch.Tensor
        ``(N, k)`` features (extra trailing dimensions are flattened). Read chunk by chunk.
    n_components : int
        Number of components kept. When ``n_components >= min(N, k)`` the centred data is
        returned rotated onto all its principal axes (exact, nothing dropped).
    oversamples : int, default 10
        Extra random directions; more makes the randomized range finder more accurate.
    n_iter : int, default 4
        Subspace (power) iterations; each costs two passes over ``x``.
    chunk : int, default 4096
        Rows per pass; memory is proportional to it.
    seed : int, default 0
        Seed of the random test matrix (results are deterministic for a given seed).

    Returns
    -------
    PCAResult
        Scores ``(N, n_components)`` float32 plus the variance they explain.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(200, 30))
    >>> randomized_pca(x, 5).scores.shape
    (200, 5)
    """
    if n_components < 1:
        raise ValueError(f"n_components must be >= 1, got {n_components}")
    n = x.shape[0]
    k = int(np.prod(x.shape[1:]))
    mean, total_var = column_stats(x, chunk=chunk)
    rank = min(n, k)
    if n_components >= rank or n_components + oversamples >= rank:
        return _exact_pca(x, mean, total_var, min(n_components, rank), chunk)
    rng = np.random.default_rng(seed)
    q = _orth(_times(x, mean, rng.standard_normal((k, n_components + oversamples)), chunk))
    for _ in range(n_iter):
        z = _orth(_times_t(x, mean, q, chunk))
        q = _orth(_times(x, mean, z, chunk))
    b = _times_t(x, mean, q, chunk).T  # (l, k) = Q^T (X - mean)
    with _one_blas_thread():
        u_b, s, _ = np.linalg.svd(b, full_matrices=False)
    scores = (q @ u_b[:, :n_components]) * s[:n_components]
    return PCAResult(_sign_fixed(scores), s[:n_components] ** 2 / n, total_var)


def _exact_pca(
    x: ArrayLike, mean: np.ndarray, total_var: float, n_components: int, chunk: int
) -> PCAResult:
    """Exact PCA through the smaller Gram or covariance matrix.

    Used when little or nothing is dropped, so that matrix is at most
    ``n_components + oversamples`` wide.
    """
    n = x.shape[0]
    k = mean.shape[0]
    if k <= n:
        cov = np.zeros((k, k), dtype=np.float64)
        for s, e in _chunks(n, chunk):
            r = _rows(x, s, e) - mean
            cov += r.T @ r
        with _one_blas_thread():
            evals, evecs = np.linalg.eigh(cov)
        order = np.argsort(evals)[::-1][:n_components]
        scores = _times(x, mean, evecs[:, order], chunk)
        evals = evals[order]
    else:
        centred = np.concatenate([_rows(x, s, e) - mean for s, e in _chunks(n, chunk)])
        gram = centred @ centred.T
        with _one_blas_thread():
            evals, evecs = np.linalg.eigh(gram)
        order = np.argsort(evals)[::-1][:n_components]
        evals = np.clip(evals[order], 0.0, None)
        scores = evecs[:, order] * np.sqrt(evals)
    return PCAResult(_sign_fixed(scores), np.clip(evals, 0.0, None) / n, total_var)


def _sign_fixed(scores: np.ndarray) -> np.ndarray:
    """Make the largest-magnitude score of each component positive (a deterministic sign)."""
    idx = np.abs(scores).argmax(axis=0)
    signs = np.sign(scores[idx, np.arange(scores.shape[1])])
    signs[signs == 0] = 1.0
    return (scores * signs).astype(np.float32)
