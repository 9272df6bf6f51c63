"""Every metric reads class labels by one rule: non-negative integers, from any array-like."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from linlens_widgets.analysis.agreement import knn_agreement
from linlens_widgets.analysis.clustering import label_array, subclusters
from linlens_widgets.analysis.similarity import class_mean_weights, class_similarity
from linlens_widgets.analysis.subcluster_tracking import track_subclusters_in

N = 12
WEIGHTS = np.random.default_rng(0).normal(size=(N, 3))

METRICS: dict[str, Callable[[Any], object]] = {
    "knn_agreement": lambda y: knn_agreement(WEIGHTS, y, k=2),
    "class_similarity": lambda y: class_similarity(WEIGHTS, y),
    "class_mean_weights": lambda y: class_mean_weights(WEIGHTS, y),
    "subclusters": lambda y: subclusters(WEIGHTS, y, 0),
    "track_subclusters_in": lambda y: track_subclusters_in([WEIGHTS, WEIGHTS], y, 0),
}


@pytest.mark.parametrize("metric", sorted(METRICS))
@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([0] * (N - 1) + [-1], f"label -1 at position {N - 1} is negative"),
        ([0.0] * (N - 1) + [0.5], "labels must be integers, got float64 values"),
    ],
)
def test_every_metric_refuses_labels_that_cannot_name_a_class(
    metric: str, labels: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        METRICS[metric](labels)


@pytest.mark.parametrize(
    "labels",
    [
        [0, 1, 1, 2],
        np.array([0, 1, 1, 2], dtype=np.uint8),
        torch.tensor([0, 1, 1, 2]),
        torch.tensor([[0, 1], [1, 2]]),
    ],
)
def test_labels_from_any_array_like_read_as_flat_int64(labels: Any) -> None:
    y = label_array(labels)
    assert y.dtype == np.int64
    assert y.tolist() == [0, 1, 1, 2]


def test_a_label_count_other_than_the_samples_is_named() -> None:
    with pytest.raises(ValueError, match=r"labels must have shape \(5,\)"):
        label_array([0, 1, 1, 2], 5)
