"""The one rule for checkpoint indices, and that the run store and analysis follow it."""

from __future__ import annotations

import numpy as np
import pytest

from linlens_widgets.runs.indexing import (
    CheckpointIndexError,
    checkpoint_index,
    checkpoint_indices,
)


@pytest.mark.parametrize(
    ("index", "expected"),
    [(0, 0), (4, 4), (-1, 4), (-5, 0), (np.int64(3), 3), (np.int32(-2), 3), (np.uint8(1), 1)],
)
def test_valid_indices_resolve_to_non_negative_positions(index: object, expected: int) -> None:
    position = checkpoint_index(index, 5)
    assert position == expected and type(position) is int


@pytest.mark.parametrize("index", [True, False, np.bool_(True)])
def test_booleans_are_refused(index: object) -> None:
    with pytest.raises(CheckpointIndexError, match="must be an integer"):
        checkpoint_index(index, 5)


@pytest.mark.parametrize("index", [1.0, 0.5, np.float64(2.0), "1", None])
def test_floats_and_other_types_are_refused_as_epochs_are_not_positions(index: object) -> None:
    with pytest.raises(CheckpointIndexError, match="not an epoch"):
        checkpoint_index(index, 5)


@pytest.mark.parametrize("index", [5, 6, -6, 100])
def test_out_of_range_names_the_index_and_the_run_length(index: int) -> None:
    with pytest.raises(CheckpointIndexError, match=rf"{index} is out of range.*has 5 checkpoints"):
        checkpoint_index(index, 5)


def test_an_empty_run_has_no_valid_index() -> None:
    with pytest.raises(CheckpointIndexError, match="no checkpoints"):
        checkpoint_index(0, 0)
    with pytest.raises(CheckpointIndexError, match="no checkpoints"):
        checkpoint_indices(None, 0)
    with pytest.raises(CheckpointIndexError, match="no checkpoints"):
        checkpoint_indices([0], 0)


def test_the_error_is_both_an_index_error_and_a_value_error() -> None:
    with pytest.raises(IndexError):
        checkpoint_index(9, 2)
    with pytest.raises(ValueError):
        checkpoint_index(9, 2)


def test_several_indices_keep_their_order_and_none_means_all() -> None:
    assert checkpoint_indices(None, 3) == [0, 1, 2]
    assert checkpoint_indices([-1, 0, np.int64(1)], 3) == [2, 0, 1]
    assert checkpoint_indices(np.array([2, -3]), 3) == [2, 0]
    with pytest.raises(CheckpointIndexError, match="no checkpoints given"):
        checkpoint_indices([], 3)
    with pytest.raises(CheckpointIndexError, match="3 is out of range"):
        checkpoint_indices([0, 3, 9], 3)
