"""kNN label agreement: hand-made spaces whose agreement is known, and the same over a run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import linlens_widgets as ll
from linlens_widgets.analysis.agreement import knn_agreement
from linlens_widgets.analysis.neighbors import neighbors


def _group(direction: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` points close to one direction (their nearest neighbours are each other)."""
    return direction + 0.01 * rng.normal(size=(size, len(direction)))


def test_pure_clusters_agree_fully() -> None:
    rng = np.random.default_rng(0)
    eye = np.eye(6)
    w = np.concatenate([_group(10 * eye[c], 6, rng) for c in range(3)])
    a = knn_agreement(w, np.repeat([0, 1, 2], 6), k=5)
    assert a.overall == 1.0
    np.testing.assert_array_equal(a.per_class, [1.0, 1.0, 1.0])
    np.testing.assert_allclose(a.mixing, np.eye(3))
    assert a.k == 5 and a.centered


def test_a_mixed_group_gives_the_agreement_counted_by_hand() -> None:
    """Group A (direction e1): three 0s and one 1; group B (e2): four 1s; k = 3.

    Each sample's 3 neighbours are the rest of its group: a 0 in A sees two 0s and a 1 (2/3),
    the 1 in A sees three 0s (0), a sample of B sees three 1s (1).
    """
    rng = np.random.default_rng(1)
    e1, e2 = np.eye(4)[0] * 5, np.eye(4)[1] * 5
    w = np.concatenate([_group(e1, 4, rng), _group(e2, 4, rng)])
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    a = knn_agreement(torch.from_numpy(w), torch.from_numpy(labels), k=3, centered=False)
    assert a.overall == pytest.approx((3 * 2 / 3 + 0 + 4) / 8)
    np.testing.assert_allclose(a.per_class, [2 / 3, 4 / 5])
    np.testing.assert_allclose(a.mixing, [[2 / 3, 1 / 3], [3 / 15, 12 / 15]])
    np.testing.assert_allclose(a.pair_mixing(), [[0, (1 / 3 + 0.2) / 2], [(1 / 3 + 0.2) / 2, 0]])


def test_labels_scattered_at_random_agree_about_as_often_as_chance() -> None:
    rng = np.random.default_rng(2)
    w = rng.normal(size=(600, 12))
    labels = rng.integers(0, 4, 600)
    a = knn_agreement(w, labels, k=10)
    assert a.overall == pytest.approx(0.25, abs=0.04)


@pytest.mark.parametrize("centered", [True, False])
def test_agreement_is_the_mean_of_the_neighbour_lists(centered: bool) -> None:
    """The same neighbours as ``ll.metrics.neighbors`` (centred or raw cosine), averaged."""
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(3, 2, 5))
    labels = np.repeat([0, 1, 2], 20)
    w = centres[labels] + 0.9 * rng.normal(size=(60, 2, 5)) + 2.0
    a = knn_agreement(w, labels, k=7, centered=centered)
    each = [neighbors(w, i, k=7, labels=labels, centered=centered).agreement for i in range(60)]
    assert a.overall == pytest.approx(np.mean(each))
    for c in range(3):
        assert a.per_class[c] == pytest.approx(np.mean(np.asarray(each)[labels == c]))
    assert 0.3 < a.overall < 1.0  # the case is neither trivial nor hopeless


def test_a_class_without_samples_keeps_its_row_as_nan() -> None:
    w = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    a = knn_agreement(w, [0, 0, 2, 2], k=1, n_classes=4)
    assert a.per_class[[0, 2]].tolist() == [1.0, 1.0]
    assert np.isnan(a.per_class[1]) and np.isnan(a.per_class[3])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k must be a positive integer"),
        ({"labels": [0, 1, 0]}, "labels has 3 entries but weights has 4 samples"),
        ({"labels": [0, -1, 0, 1]}, "label -1 at position 1 is negative"),
        ({"labels": [0.5, 1, 0, 1]}, "labels must be integers"),
        ({"n_classes": 1}, "label 1 is not below n_classes=1"),
    ],
)
def test_bad_input_is_refused_by_name(kwargs: dict, message: str) -> None:
    args = {"weights": np.eye(4), "labels": [0, 1, 0, 1], **kwargs}
    with pytest.raises(ValueError, match=message):
        knn_agreement(**args)


def test_over_a_run_features_and_full_weights_give_the_same_agreement(digits_run) -> None:
    run = digits_run
    from_features = ll.metrics.over_run(run, ll.metrics.knn_agreement, progress=False)
    from_weights = ll.metrics.over_run(
        run, ll.metrics.knn_agreement, source="weights", progress=False
    )
    np.testing.assert_allclose(from_features.stack("overall"), from_weights.stack("overall"))
    assert from_features.stack("per_class").shape == (len(run.checkpoints), len(run.classes))
    baseline = ll.metrics.knn_agreement(run.probe_inputs, run.probe_labels)
    assert 0.5 < baseline.overall <= 1.0  # digits hold most of their class structure already
