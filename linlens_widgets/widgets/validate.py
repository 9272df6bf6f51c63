"""Validators shared by the widget classes: checkpoint positions and lists of probe indices.

Every widget validates its traits through these functions, so a bad value gets the same message
from each of them. Checkpoint positions follow the package's one rule
(:func:`linlens_widgets.runs.indexing.checkpoint_index`): an ``int``, negative values counting
back from the end.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from linlens_widgets.runs.indexing import checkpoint_index

__all__ = ["EpochAlias", "checkpoint_position", "index_list", "probe_index", "renamed_keyword"]


def checkpoint_position(value: Any, n: int) -> int:
    """Return the checkpoint position (``0 … n-1``) that ``value`` names.

    Parameters
    ----------
    value
        An integer; negative values count back from the end (``-1`` is the last checkpoint).
    n
        How many checkpoints the widget shows.

    Returns
    -------
    int
        The non-negative position.

    Raises
    ------
    linlens_widgets.runs.indexing.CheckpointIndexError
        A ``ValueError`` and ``IndexError`` naming the value and the valid range.

    Examples
    --------
    >>> checkpoint_position(-1, 5)
    4
    """
    return checkpoint_index(value, n)


def probe_index(value: Any, n: int, name: str) -> int:
    """Validate one probe-sample index (``0 … n-1``; booleans and floats are refused).

    Parameters
    ----------
    value
        The index to check.
    n
        How many probe samples there are.
    name
        What the index is called in the error message (e.g. ``"sample_a"``).

    Returns
    -------
    int
        The index as a Python ``int``.

    Raises
    ------
    ValueError
        Naming ``name``, the value and the valid range.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer probe index, got {value!r}")
    if not 0 <= int(value) < n:
        raise ValueError(f"{name} {int(value)} is out of range (the run has {n} probes)")
    return int(value)


def index_list(values: Iterable[Any], n: int, name: str) -> list[int]:
    """Validate a list of indices into ``0 … n-1``; return them unique and sorted.

    Parameters
    ----------
    values
        Integer indices (a selection of probe samples, a list of classes).
    n
        Exclusive upper bound.
    name
        What the list is called in the error message.

    Returns
    -------
    list of int
        Sorted, without duplicates.

    Raises
    ------
    ValueError
        For a non-integer or out-of-range entry, naming it.

    Examples
    --------
    >>> index_list([3, 1, 3], 5, "selection")
    [1, 3]
    """
    out: set[int] = set()
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{name} must hold integer indices, got {v!r}")
        if not 0 <= int(v) < n:
            raise ValueError(f"{name} index {int(v)} is out of range (0..{n - 1})")
        out.add(int(v))
    return sorted(out)


def renamed_keyword(kwargs: dict[str, Any], old: str, new: str, value: Any, owner: str) -> Any:
    """Take a deprecated keyword out of ``kwargs``, warning, and return the value to use.

    Parameters
    ----------
    kwargs
        The caller's extra keyword arguments; ``old`` is removed from it when present.
    old, new
        The deprecated and the current keyword names.
    value
        The value passed under ``new``.
    owner
        The class or function name, for the warning.

    Returns
    -------
    Any
        ``kwargs[old]`` when it was given, else ``value``.
    """
    if old not in kwargs:
        return value
    warnings.warn(
        f"{owner}({old}=...) is deprecated and will be removed in the next release; "
        f"use {new}=... (a checkpoint position)",
        DeprecationWarning,
        stacklevel=3,
    )
    return kwargs.pop(old)


class EpochAlias:
    """Deprecated ``.epoch`` attribute of a widget: reads and writes ``.checkpoint``, warning."""

    checkpoint: int

    @staticmethod
    def _warn_epoch() -> None:
        warnings.warn(
            "the widget's .epoch attribute is deprecated and will be removed in the next "
            "release; use .checkpoint (the position in the run's checkpoint list)",
            DeprecationWarning,
            stacklevel=3,
        )

    @property
    def epoch(self) -> int:
        """Deprecated name of ``checkpoint``."""
        self._warn_epoch()
        return self.checkpoint

    @epoch.setter
    def epoch(self, value: int) -> None:
        self._warn_epoch()
        self.checkpoint = value

    @property
    def n_epochs(self) -> int:
        """Deprecated name of ``n_checkpoints`` (it always counted checkpoints)."""
        warnings.warn(
            "n_epochs is deprecated and will be removed in the next release; use n_checkpoints",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.n_checkpoints  # type: ignore[attr-defined]
