"""``ll.metrics.neighbors`` and the page's neighbour table refuse non-finite rows with a clear error
naming the samples, instead of returning arbitrary neighbours with similarity 0."""

from __future__ import annotations

import numpy as np
import pytest

import linlens_widgets as ll
from linlens_widgets.analysis.neighbors import neighbor_table


def weights(bad: float | None = np.nan, rows: tuple[int, ...] = (3,)) -> np.ndarray:
    w = np.random.default_rng(0).normal(size=(20, 3, 8)).astype(np.float32)
    for r in rows:
        w[r, 1, 2] = bad
    return w


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_neighbors_of_a_sample_refuse_a_non_finite_row(bad) -> None:
    with pytest.raises(ValueError, match=r"sample.*3.*not finite"):
        ll.metrics.neighbors(weights(bad), 0, k=5)


def test_the_query_row_itself_non_finite_is_refused() -> None:
    with pytest.raises(ValueError, match="not finite"):
        ll.metrics.neighbors(weights(rows=(0,)), 0, k=5)


def test_the_error_names_every_bad_sample() -> None:
    with pytest.raises(ValueError, match=r"4, 9"):
        ll.metrics.neighbors(weights(rows=(4, 9)), 0, k=5)


@pytest.mark.parametrize("centered", [True, False])
def test_the_neighbour_table_refuses_a_non_finite_row(centered) -> None:
    with pytest.raises(ValueError, match="not finite"):
        neighbor_table(weights(), 5, centered=centered)


def test_finite_weights_still_give_neighbours() -> None:
    found = ll.metrics.neighbors(weights(rows=()), 0, k=5)
    assert len(found.index) == 5 and np.isfinite(found.similarity).all()
