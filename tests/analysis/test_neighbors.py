import numpy as np
import pytest
import torch

import linlens_widgets as ll
from linlens_widgets.analysis.neighbors import (
    centred_cosine,
    neighbor_table,
    neighbors,
    probe_mean,
)


def _brute(w: np.ndarray, q: int, centered: bool) -> np.ndarray:
    x = w.reshape(len(w), -1).astype(np.float64)
    if centered:
        x = x - x.mean(0)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    return x @ x[q]


@pytest.fixture(scope="module")
def weights() -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3, 2, 5))
    labels = np.repeat([0, 1, 2], 20)
    return base[labels] + 0.4 * rng.normal(size=(60, 2, 5)) + 3.0, labels


@pytest.mark.parametrize("centered", [True, False])
def test_neighbors_match_brute_force(weights, centered):
    w, labels = weights
    for q in (0, 17, 59):
        sims = _brute(w, q, centered)
        sims[q] = -np.inf
        order = np.argsort(-sims)[:10]
        nb = neighbors(torch.from_numpy(w), q, k=10, labels=labels, centered=centered)
        assert nb.index.tolist() == order.tolist()
        np.testing.assert_allclose(nb.similarity, sims[order], rtol=1e-10)
        assert nb.agreement == pytest.approx(np.mean(labels[order] == labels[q]))
        assert q not in nb.index


def test_centring_separates_classes_that_raw_cosine_merges(weights):
    w, labels = weights
    raw = neighbors(w, 0, k=19, labels=labels, centered=False)
    cen = neighbors(w, 0, k=19, labels=labels, centered=True)
    assert raw.similarity.min() > 0.8  # the shared offset makes every pair look alike
    assert cen.agreement == 1.0
    assert cen.similarity.min() < raw.similarity.min()


def test_group_query_is_the_group_mean_and_excludes_its_members(weights):
    w, labels = weights
    group = [0, 1, 2, 3]
    nb = neighbors(w, group, k=5, labels=labels)
    assert not set(nb.index) & set(group)
    x = w.reshape(60, -1) - w.reshape(60, -1).mean(0)
    target = x[group].mean(0)
    sims = x @ target / (np.linalg.norm(x, axis=1) * np.linalg.norm(target))
    sims[group] = -np.inf
    assert nb.index.tolist() == np.argsort(-sims)[:5].tolist()


def test_centred_cosine_is_the_class_similarity_definition(weights):
    w, _ = weights
    m = probe_mean(w).numpy()
    x = w.reshape(60, -1) - m
    expected = x[3] @ x[40] / (np.linalg.norm(x[3]) * np.linalg.norm(x[40]))
    assert centred_cosine(w[3], w[40], m) == pytest.approx(expected)
    # class_similarity over two samples of one "class" with the whole probe's mean subtracted:
    # its off-diagonal matrix entry between two singleton classes is the same centred cosine.
    sim = ll.metrics.class_similarity(torch.from_numpy(w), np.arange(60))
    assert sim.matrix[3, 40] == pytest.approx(expected)


def test_features_give_the_same_neighbours_as_weights():
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [32, 32], data.n_classes, bias=False, seed=0)
    x = data.x_test[:120]
    ew = ll.effective_weights(model, x)
    feats = ll.weight_features(model, x)
    a = neighbors(ew, 5, k=8)
    b = neighbors(feats, 5, k=8)
    assert a.index.tolist() == b.index.tolist()
    np.testing.assert_allclose(a.similarity, b.similarity, atol=1e-5)


def test_neighbor_table_agrees_with_neighbors(weights):
    w, _ = weights
    index, sim = neighbor_table(w, k=6)
    assert index.shape == sim.shape == (60, 6)
    assert not (index == np.arange(60)[:, None]).any()
    for q in (0, 33):
        nb = neighbors(w, q, k=6)
        assert index[q].tolist() == nb.index.tolist()
        np.testing.assert_allclose(sim[q], nb.similarity, rtol=1e-5)


@pytest.mark.parametrize(
    ("query", "k", "error"),
    [
        (60, 5, IndexError),
        (-61, 5, IndexError),
        ([], 5, ValueError),
        ([1.5], 5, ValueError),
        (0, 0, ValueError),
        (0, 2.5, ValueError),
        (0, True, ValueError),
    ],
)
def test_bad_queries_are_named(weights, query, k, error):
    w, _ = weights
    with pytest.raises(error):
        neighbors(w, query, k=k)


def test_k_larger_than_probe_is_clipped_and_zero_vectors_give_nan():
    w = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
    nb = neighbors(w, 0, k=10)
    assert len(nb.index) == 2
    assert np.isnan(centred_cosine([1.0, 1.0], [2.0, 0.0], [1.0, 1.0]))
