"""Validators shared by the widget classes: checkpoint positions and lists of probe indices.

Every widget validates its traits through these functions, so a bad value gets the same message
from each of them. Checkpoint positions follow the package's one rule
(:func:`linlens_widgets.runs.indexing.checkpoint_index`): an ``int``, negative values counting
back from the end.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import traitlets

from linlens_widgets.runs.indexing import checkpoint_index

__all__ = [
    "MAX_HEIGHT",
    "checkpoint_position",
    "class_ids",
    "height_px",
    "index_list",
    "json_safe",
    "probe_index",
    "set_state_or_keep",
    "size_px",
]


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
        What the index is called in the error message (e.g. ``"a"``).

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


MAX_HEIGHT = 10_000
"""Largest plot height in pixels a widget accepts (a larger one is a typo, and costs memory)."""


def height_px(value: Any, name: str = "height") -> int:
    """Validate a plot height: an integer number of pixels in ``1 … MAX_HEIGHT``.

    Raises
    ------
    traitlets.TraitError
        Naming ``name``, the value and the accepted range.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise traitlets.TraitError(f"{name} must be an integer number of pixels, got {value!r}")
    if not 1 <= int(value) <= MAX_HEIGHT:
        raise traitlets.TraitError(f"{name} must be 1 … {MAX_HEIGHT} pixels, got {int(value)}")
    return int(value)


def size_px(value: Any, largest: float, name: str) -> float:
    """Validate a size in pixels: a finite number in ``0 … largest`` (0 may mean "automatic").

    Raises
    ------
    traitlets.TraitError
        Naming ``name``, the value and the accepted range.
    """
    v = float(value)
    if not (math.isfinite(v) and 0.0 <= v <= largest):
        raise traitlets.TraitError(
            f"{name} must be a finite size in 0 … {largest:g} pixels, got {value!r}"
        )
    return v


def class_ids(values: Iterable[Any], n: int, name: str) -> list[int]:
    """Validate class ids (``0 … n-1``) as :func:`index_list` does, raising ``TraitError``."""
    try:
        return index_list(values, n, name)
    except ValueError as err:
        raise traitlets.TraitError(f"{err} (the run has {n} classes)") from err


def set_state_or_keep(
    widget: Any, set_state: Callable[[dict[str, Any]], None], sync_data: dict[str, Any]
) -> None:
    """Apply a state update from the browser; refuse bad values without raising into the kernel.

    ``set_state`` is the widget's inherited ``set_state``. A value that fails validation (a
    ``TraitError``, or the ``ValueError``/``TypeError``/``KeyError`` of a validator or
    deserialiser) is refused: the trait keeps its last good value, the refusal is logged as a
    warning on the widget's log, and the kept value is sent back so the browser shows it again.
    The other values of the same update are applied.
    """
    keys = [name for name in sync_data if name in widget.keys]
    before = {name: getattr(widget, name) for name in keys}
    try:
        set_state(sync_data)
        return
    except _REFUSED:
        _restore(widget, before)
    refused: dict[str, BaseException] = {}
    for name in keys:
        try:
            set_state({name: sync_data[name]})
        except _REFUSED as err:
            _restore(widget, {name: before[name]})
            refused[name] = err
    for name, err in refused.items():
        widget.log.warning(
            "%s: refused %s=%.200r from the browser, kept %.200r: %s",
            type(widget).__name__,
            name,
            sync_data[name],
            before[name],
            err,
        )
    if refused:
        widget.send_state(list(refused))


_REFUSED = (traitlets.TraitError, ValueError, TypeError, KeyError, IndexError)


def _restore(widget: Any, values: dict[str, Any]) -> None:
    """Put back trait values that an update changed before it failed (validators run late)."""
    with widget.hold_trait_notifications():
        for name, value in values.items():
            if getattr(widget, name) is not value:
                widget.set_trait(name, value)


def json_safe(value: Any) -> Any:
    """Return ``value`` with every non-finite float (NaN, ±inf) replaced by ``None``.

    Browsers parse strict JSON only: a bare ``NaN`` or ``Infinity`` makes ``JSON.parse`` throw
    (a blank page), and Jupyter's messages turn them into the strings ``"nan"``/``"inf"``. Both
    hosts get ``null`` instead, which the charts draw as a gap and labels show as "–". Numpy
    scalars become Python numbers; containers are copied, other values returned as they are.

    Examples
    --------
    >>> json_safe({"loss": [1.0, float("nan")], "epoch": float("inf")})
    {'loss': [1.0, None], 'epoch': None}
    """
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic) and not isinstance(value, (np.str_, np.bytes_)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
