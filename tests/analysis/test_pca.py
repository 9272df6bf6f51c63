from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from linlens_widgets.analysis._pca import column_stats, randomized_pca


def _low_rank(n: int = 300, k: int = 80, rank: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scales = np.geomspace(20.0, 2.0, rank)
    signal = rng.normal(size=(n, rank)) * scales @ rng.normal(size=(rank, k)) / np.sqrt(k)
    return signal + rng.normal(0.0, 0.05, (n, k)) + 3.0


def _same_up_to_sign(a: np.ndarray, b: np.ndarray, atol: float) -> None:
    signs = np.sign((a * b).sum(axis=0))
    np.testing.assert_allclose(a, b * signs, atol=atol)


def test_matches_sklearn_pca_on_low_rank_data():
    x = _low_rank()
    ours = randomized_pca(x, 5)
    ref = PCA(5, svd_solver="full").fit(x)
    _same_up_to_sign(ours.scores, ref.transform(x), atol=1e-3 * np.abs(ours.scores).max())
    np.testing.assert_allclose(
        ours.explained_variance, ref.explained_variance_ * (len(x) - 1) / len(x), rtol=1e-4
    )
    assert 0.9 < ours.explained_ratio <= 1.0


def test_result_does_not_depend_on_chunk_size_and_accepts_tensors():
    x = _low_rank(n=130)
    a = randomized_pca(x, 4, chunk=4096).scores
    b = randomized_pca(torch.from_numpy(x).float(), 4, chunk=7).scores
    np.testing.assert_allclose(a, b, atol=1e-3 * np.abs(a).max())


def test_keeps_all_distances_when_nothing_is_dropped():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 6))
    scores = randomized_pca(x, 50).scores
    assert scores.shape == (40, 6)
    d_in = np.linalg.norm(x[:, None] - x[None], axis=-1)
    d_out = np.linalg.norm(scores[:, None] - scores[None], axis=-1)
    np.testing.assert_allclose(d_out, d_in, atol=1e-4)


def test_wide_tiny_matrix_uses_the_gram_route():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(12, 500))
    scores = randomized_pca(x, 30).scores
    assert scores.shape == (12, 12)
    xc = x - x.mean(axis=0)
    np.testing.assert_allclose(scores @ scores.T, xc @ xc.T, atol=1e-3)


def test_column_stats_streams_exactly():
    x = _low_rank(n=50)
    mean, var = column_stats(x, chunk=3)
    np.testing.assert_allclose(mean, x.mean(axis=0))
    assert var == pytest.approx(((x - x.mean(axis=0)) ** 2).sum() / len(x))


def test_rejects_zero_components():
    with pytest.raises(ValueError, match="n_components"):
        randomized_pca(np.ones((5, 3)), 0)
