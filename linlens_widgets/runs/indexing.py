"""Checkpoint positions: the one rule for turning a user's index into a position in a run.

A *checkpoint* is a position in a run's checkpoint list: an ``int``, where a negative value counts
back from the end (``-1`` is the last checkpoint), as in Python sequences. An *epoch* is training
time (a float) and is never an index. Every layer (run store, analysis, widgets, command line)
resolves checkpoint indices through these two functions, so one rule and one message hold
everywhere.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

__all__ = ["CheckpointIndexError", "checkpoint_index", "checkpoint_indices"]


class CheckpointIndexError(IndexError, ValueError):
    """A checkpoint index that is not an integer or lies outside the run's checkpoint list.

    It is both an ``IndexError`` (an index out of range) and a ``ValueError`` (a bad argument), so
    callers that catch either keep working.
    """


def checkpoint_index(index: Any, n: int) -> int:
    """Return the position (``0 … n-1``) that ``index`` names in a list of ``n`` checkpoints.

    Parameters
    ----------
    index
        An integer (Python or numpy); negative values count back from the end. Booleans, floats
        and strings are refused: a float is an epoch, not a position.
    n
        How many checkpoints the run has.

    Returns
    -------
    int
        The non-negative position.

    Raises
    ------
    CheckpointIndexError
        If ``index`` is not an integer, or ``n`` is 0, or ``index`` is outside ``-n … n-1``.

    Examples
    --------
    >>> checkpoint_index(-1, 20)
    19
    >>> checkpoint_index(3, 20)
    3
    """
    if isinstance(index, bool):
        raise CheckpointIndexError(f"checkpoint index must be an integer, got {index!r}")
    try:
        value = operator.index(index)
    except TypeError:
        raise CheckpointIndexError(
            f"checkpoint index must be an integer (a position in the run's checkpoint list, "
            f"not an epoch), got {index!r}"
        ) from None
    if n <= 0:
        raise CheckpointIndexError("the run has no checkpoints; train or record some first")
    if not -n <= value < n:
        raise CheckpointIndexError(
            f"checkpoint index {value} is out of range: the run has {n} checkpoints "
            f"(0…{n - 1}, or −{n}…−1 counting back from the end)"
        )
    return value % n


def checkpoint_indices(indices: Iterable[Any] | None, n: int) -> list[int]:
    """Resolve several checkpoint indices at once (``None`` means every checkpoint, in order).

    Parameters
    ----------
    indices
        Integers as accepted by :func:`checkpoint_index`, or ``None`` for ``0 … n-1``.
    n
        How many checkpoints the run has.

    Returns
    -------
    list of int
        Non-negative positions, in the order given.

    Raises
    ------
    CheckpointIndexError
        If the run has no checkpoints, ``indices`` is empty, or any index is invalid (the message
        names the first bad one).

    Examples
    --------
    >>> checkpoint_indices([0, -1], 5)
    [0, 4]
    >>> checkpoint_indices(None, 3)
    [0, 1, 2]
    """
    if n <= 0:
        raise CheckpointIndexError("the run has no checkpoints; train or record some first")
    if indices is None:
        return list(range(n))
    resolved = [checkpoint_index(i, n) for i in indices]
    if not resolved:
        raise CheckpointIndexError("no checkpoints given; pass at least one checkpoint index")
    return resolved
