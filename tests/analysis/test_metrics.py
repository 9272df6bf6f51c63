from __future__ import annotations

import numpy as np
import pytest
import torch

from linlens_widgets.analysis import metrics, over_run


def _brute_similarity(x: np.ndarray, y: np.ndarray, centered: bool) -> np.ndarray:
    x = x.reshape(len(x), -1).astype(np.float64)
    if centered:
        x = x - x.mean(axis=0)
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    cos = u @ u.T
    classes = np.unique(y)
    out = np.empty((len(classes), len(classes)))
    for a, ca in enumerate(classes):
        for b, cb in enumerate(classes):
            block = cos[np.ix_(y == ca, y == cb)]
            if a == b:
                block = block[~np.eye(len(block), dtype=bool)]
            out[a, b] = block.mean()
    return out


@pytest.mark.parametrize("centered", [True, False])
def test_class_similarity_matches_brute_force(centered):
    rng = np.random.default_rng(0)
    y = np.repeat([3, 5, 7], [6, 9, 4])
    w = rng.normal(size=(len(y), 2, 5)) + y[:, None, None] * 0.3
    sim = metrics.class_similarity(
        torch.from_numpy(w).float(), torch.from_numpy(y), centered=centered
    )
    expected = _brute_similarity(w, y, centered)
    np.testing.assert_allclose(sim.matrix, expected, atol=1e-6)
    assert sim.intra == pytest.approx(np.diag(expected).mean(), abs=1e-6)
    assert sim.inter == pytest.approx(expected[~np.eye(3, dtype=bool)].mean(), abs=1e-6)
    np.testing.assert_array_equal(sim.classes, [3, 5, 7])


def test_class_similarity_is_the_same_on_isometric_features():
    # features F = W Q^T for an orthonormal Q keep all inner products of the flattened W
    rng = np.random.default_rng(1)
    w = rng.normal(size=(30, 12))
    q, _ = np.linalg.qr(rng.normal(size=(20, 12)))  # (20, 12), orthonormal columns
    feats = w @ q.T
    y = rng.integers(0, 3, 30)
    a, b = metrics.class_similarity(w, y), metrics.class_similarity(feats, y)
    np.testing.assert_allclose(a.matrix, b.matrix, atol=1e-9)


def test_class_similarity_accepts_effective_weights_like_objects_and_zero_rows():
    class EW:
        weight = torch.tensor([[1.0, 0.0], [0.0, 0.0], [2.0, 0.0], [0.0, 1.0]])

    sim = metrics.class_similarity(EW(), [0, 0, 0, 1], centered=False)
    # class 0: pairs (0,1)=0 (zero row), (0,2)=1, (1,2)=0 -> mean 1/3
    assert sim.matrix[0, 0] == pytest.approx(1 / 3)
    assert sim.inter == pytest.approx(0.0)
    assert np.isnan(sim.matrix[1, 1])  # a single sample has no pair


def test_bad_weights_and_labels():
    with pytest.raises(TypeError, match="weights must be"):
        metrics.class_similarity([[1.0]], [0])
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\)"):
        metrics.class_similarity(np.ones((3, 2)), [0, 1])


def test_class_mean_weights_keeps_the_image_shape():
    w = torch.arange(24.0).reshape(4, 2, 3)
    means = metrics.class_mean_weights(w, torch.tensor([1, 0, 1, 0]))
    assert means.shape == (2, 2, 3)
    np.testing.assert_allclose(means[0].numpy(), ((w[1] + w[3]) / 2).numpy())
    np.testing.assert_allclose(means[1].numpy(), ((w[0] + w[2]) / 2).numpy())


def test_subclusters_find_two_styles_and_their_mean_images():
    rng = np.random.default_rng(0)
    style_a = np.zeros((1, 16))
    style_a[0, :8] = 1.0
    style_b = np.zeros((1, 16))
    style_b[0, 8:] = 1.0
    w = np.concatenate(
        [style_a + rng.normal(0, 0.1, (25, 16)), style_b + rng.normal(0, 0.1, (15, 16))]
    )
    other = rng.normal(0, 1, (10, 16))
    weights = np.concatenate([w, other]).reshape(50, 4, 4)
    labels = np.array([1] * 40 + [2] * 10)
    subs = metrics.subclusters(weights, labels, 1)
    assert [s.size for s in subs] == [25, 15]
    np.testing.assert_array_equal(subs[0].members, np.arange(25))
    np.testing.assert_array_equal(subs[1].members, np.arange(25, 40))
    assert subs[0].mean_weight.shape == (4, 4)
    assert subs[0].mean_weight.reshape(-1)[:8].mean() > 0.9
    assert subs[0].silhouette > 0.5


def test_subclusters_keep_a_compact_class_whole_and_name_missing_classes():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(30, 6))
    subs = metrics.subclusters(w, np.zeros(30, int), 0)
    assert len(subs) == 1 and subs[0].size == 30 and np.isnan(subs[0].silhouette)
    with pytest.raises(ValueError, match="no sample has label 4"):
        metrics.subclusters(w, np.zeros(30, int), 4)


def test_over_run_with_a_stand_in_run(monkeypatch):
    class Ckpt:
        def __init__(self, epoch: float):
            self.epoch = epoch

    class StandIn:
        def __init__(self) -> None:
            self.checkpoints = [Ckpt(0.0), Ckpt(1.0), Ckpt(2.0)]
            self.probe_labels = torch.tensor([0, 0, 1, 1])
            self.seen: list[str] = []

        def weight_features(self, i):
            self.seen.append("features")
            return torch.eye(4) + i

        def effective_weights(self, i):
            self.seen.append("weights")
            return torch.eye(4).reshape(4, 2, 2) * (i + 1)

    run = StandIn()
    # the stand-in computes its own weights: it serves as the run and as its RunWeights
    monkeypatch.setattr(over_run, "run_weights", lambda r: r)
    sims = metrics.over_run(run, metrics.class_similarity, progress=False)
    assert run.seen == ["features"] * 3
    assert sims.stack("intra").shape == (3,)
    np.testing.assert_array_equal(sims.epochs, [0.0, 1.0, 2.0])
    means = metrics.over_run(run, metrics.class_mean_weights, checkpoints=[-1], progress=False)
    assert run.seen[-1] == "weights" and means[0].shape == (2, 2, 2)
    np.testing.assert_array_equal(means.checkpoint_ids, [2])
    values = np.asarray(metrics.over_run(run, lambda w, y: np.array([1.0, 2.0]), progress=False))
    assert values.shape == (3, 2)
    with pytest.raises(ValueError, match="out of range"):
        metrics.over_run(run, metrics.class_similarity, checkpoints=[5], progress=False)
