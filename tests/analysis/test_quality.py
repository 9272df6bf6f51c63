from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from linlens_widgets.analysis._quality import (
    kl_divergence,
    knn_indices,
    knn_recall,
    mean_displacement,
    procrustes_displacement,
    query_indices,
)


def test_knn_matches_brute_force():
    x = np.random.default_rng(0).normal(size=(60, 5))
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    expected = np.argsort(d, axis=1)[:, :4]
    np.testing.assert_array_equal(knn_indices(x, 4), expected)
    q = np.array([3, 17, 42])
    np.testing.assert_array_equal(knn_indices(x.astype(np.float32), 4, q), expected[q])


def test_knn_rejects_k_too_large():
    with pytest.raises(ValueError, match="k must be"):
        knn_indices(np.zeros((5, 2)), 5)


def test_recall_is_one_for_an_isometry_and_low_for_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 2))
    high = knn_indices(x, 10)
    assert knn_recall(high, x @ np.array([[0.0, -1.0], [1.0, 0.0]]) * 3 + 5) == 1.0
    assert knn_recall(high, rng.normal(size=(100, 2))) < 0.3


def test_procrustes_ignores_similarity_transforms():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 2))
    theta = 1.1
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    mirrored = (a @ rot) * np.array([1.0, -1.0]) * 7.0 + 3.0
    assert procrustes_displacement(a, mirrored) == pytest.approx(0.0, abs=1e-9)
    assert procrustes_displacement(a, rng.normal(size=(50, 2))) > 0.5
    frames = np.stack([a, mirrored, a])
    assert mean_displacement(frames) == pytest.approx(0.0, abs=1e-9)
    assert mean_displacement(frames[:1]) == 0.0


def test_kl_divergence_matches_direct_formula():
    rng = np.random.default_rng(0)
    n = 30
    dense = rng.random((n, n))
    dense = dense + dense.T
    np.fill_diagonal(dense, 0.0)
    dense[dense < 0.8] = 0.0
    p = dense / dense.sum()
    y = rng.normal(size=(n, 2))
    w = 1.0 / (1.0 + ((y[:, None] - y[None]) ** 2).sum(-1))
    np.fill_diagonal(w, 0.0)
    q = w / w.sum()
    mask = p > 0
    expected = float((p[mask] * np.log(p[mask] / q[mask])).sum())
    assert kl_divergence(sp.csr_matrix(dense), y) == pytest.approx(expected, rel=1e-9)


def test_query_indices_subsample_is_deterministic():
    assert len(query_indices(10, 20)) == 10
    a, b = query_indices(5000, 100, seed=3), query_indices(5000, 100, seed=3)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a)) == 100
