"""Grid points of a sweep: expanding a grid, naming each point, and splitting its parameters.

A grid maps parameter names to the values to try, ``{"init_scale": [1e-3, 1.0], "seed": [0, 1]}``;
its points are the Cartesian product in the grid's order (the last name varies fastest). Each
point gets a readable, filesystem-safe folder name built from its parameters
(``init_scale=0.001__seed=0``), unique within the grid.

Parameters are split by name: those :func:`linlens_widgets.train` accepts (``epochs``, ``lr``,
``batch_size``, ...) go to training, every other one goes to ``make_model``, and ``seed`` goes to
both (it seeds the initialisation when ``make_model`` takes a ``seed``, and always the batch order).
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Point", "expand_grid", "point_name", "split_params", "train_parameters"]

#: Longest folder name before it is shortened (with a hash keeping it unique).
MAX_NAME_LENGTH = 96

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
#: ``train`` arguments a sweep sets itself, never from the grid.
_RESERVED = frozenset({"model", "data", "progress"})


@dataclass(frozen=True)
class Point:
    """One grid point: its folder name and its parameters (JSON values, in the grid's order)."""

    name: str
    params: dict[str, Any]


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[Point]:
    """Return every point of ``grid`` (the Cartesian product), each with a unique name.

    Parameters
    ----------
    grid : mapping of str to sequence
        Parameter name (a Python identifier) to the values to try: numbers, strings, booleans,
        ``None``, or lists of those (e.g. hidden widths ``[[64], [128, 128]]``).

    Returns
    -------
    list of Point

    Raises
    ------
    ValueError
        For an empty grid, a name that is not an identifier, an empty or repeated value list,
        or a value that is not JSON.

    >>> [p.name for p in expand_grid({"lr": [0.1, 0.01], "seed": [0]})]
    ['lr=0.1__seed=0', 'lr=0.01__seed=0']
    """
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"grid must be a non-empty dict of name -> list of values, got {grid!r}")
    values = {name: _check_values(name, options) for name, options in grid.items()}
    combos = [
        dict(zip(values, combo, strict=True)) for combo in itertools.product(*values.values())
    ]
    names = [point_name(params) for params in combos]
    clashes = {n for n in names if names.count(n) > 1}
    points = []
    for name, params in zip(names, combos, strict=True):
        if name in clashes:  # values that differ only in characters the name cannot hold
            name = _shortened(name, params, force=True)
        points.append(Point(name, params))
    return points


def point_name(params: Mapping[str, Any]) -> str:
    """Return the folder name of a grid point: ``name=value`` pairs joined by ``__``.

    Characters other than letters, digits and ``. _ + -`` are replaced by ``-``; names longer
    than :data:`MAX_NAME_LENGTH` are cut and end with a hash of the parameters.

    >>> point_name({"init_scale": 0.001, "hidden": [64, 64], "bias": False})
    'init_scale=0.001__hidden=64x64__bias=False'
    """
    parts = [f"{key}={_format(value)}" for key, value in params.items()]
    return _shortened("__".join(parts), dict(params), force=False)


def train_parameters() -> frozenset[str]:
    """Names of :func:`linlens_widgets.train`'s arguments that a grid point may set."""
    from linlens_widgets.runs.train import train

    return frozenset(inspect.signature(train).parameters) - _RESERVED


def split_params(
    params: Mapping[str, Any], make_model: Callable[..., Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a point's parameters into ``(model_params, train_params)``.

    Names ``train`` accepts go to training; the rest go to ``make_model``; ``seed`` goes to
    training and, when ``make_model`` takes a ``seed`` (or ``**kwargs``), to the model too.

    >>> def make(width, seed=0): ...
    >>> split_params({"width": 8, "lr": 0.1, "seed": 1}, make)
    ({'width': 8, 'seed': 1}, {'lr': 0.1, 'seed': 1})
    """
    trainable = train_parameters()
    model_params = {k: v for k, v in params.items() if k not in trainable}
    train_params = {k: v for k, v in params.items() if k in trainable}
    if "seed" in params and _accepts(make_model, "seed"):
        model_params["seed"] = params["seed"]
    return model_params, train_params


def check_model_params(make_model: Callable[..., Any], model_params: Mapping[str, Any]) -> None:
    """Raise a ``TypeError`` naming the parameter if ``make_model`` cannot take ``model_params``."""
    try:
        signature = inspect.signature(make_model)
    except (TypeError, ValueError):  # builtins and some C callables: let the call decide
        return
    try:
        signature.bind(**model_params)
    except TypeError as err:
        known = ", ".join(sorted(train_parameters()))
        raise TypeError(
            f"make_model cannot be called with {dict(model_params)!r}: {err}. Grid names that "
            f"train() accepts go to training ({known}); every other name goes to make_model"
        ) from None


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.kind is p.VAR_KEYWORD
        or (p.name == name and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        for p in parameters
    )


def _check_values(name: Any, options: Any) -> list[Any]:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"grid name {name!r} must be a Python identifier such as 'init_scale'")
    if getattr(options, "ndim", None) == 1 and hasattr(options, "tolist"):  # numpy, torch
        options = options.tolist()
    if isinstance(options, (str, bytes, Mapping)) or not isinstance(options, Sequence):
        raise ValueError(f"grid[{name!r}] must be a list of values, got {options!r}")
    if len(options) == 0:
        raise ValueError(f"grid[{name!r}] is empty; give at least one value")
    values = [_json_value(name, v) for v in options]
    encoded = [json.dumps(v, sort_keys=True) for v in values]
    if len(set(encoded)) != len(encoded):
        raise ValueError(f"grid[{name!r}] repeats a value: {list(options)!r}")
    return values


def _json_value(name: str, value: Any) -> Any:
    """Return ``value`` as plain JSON (numpy scalars become Python numbers) or raise."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"grid[{name!r}] holds a non-finite number {value!r}")
    if isinstance(value, (tuple, list)):
        return [_json_value(name, v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"grid[{name!r}] holds {value!r} ({type(value).__name__}); grid values must be numbers, "
        "strings, booleans, None or lists of those"
    )


def _format(value: Any) -> str:
    if isinstance(value, list):
        text = "x".join(_format(v) for v in value) or "none"
    else:
        text = repr(value) if isinstance(value, float) else str(value)
    return _UNSAFE.sub("-", text).strip("-.") or "-"


def _shortened(name: str, params: dict[str, Any], *, force: bool) -> str:
    if len(name) <= MAX_NAME_LENGTH and not force:
        return name
    digest = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    return f"{name[: MAX_NAME_LENGTH - 12].rstrip('-_.=')}__{digest}"


def parse_grid_option(text: str) -> tuple[str, list[Any]]:
    """Parse a command-line grid option ``name=v1,v2,...`` into ``(name, values)``.

    Values are read as integers, then numbers, then ``true``/``false``/``none``, else kept as
    text; ``x`` joins the widths of a list (``hidden=64x64,128`` is ``[[64, 64], [128]]`` and a
    lone number for ``hidden`` is one layer).

    >>> parse_grid_option("init_scale=0.001,1")
    ('init_scale', [0.001, 1])
    >>> parse_grid_option("hidden=64x64,128")
    ('hidden', [[64, 64], [128]])
    """
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not _NAME.match(name) or not rest.strip():
        raise ValueError(f"--grid expects name=value1,value2,... got {text!r}")
    values = [_parse_value(part.strip()) for part in rest.split(",") if part.strip()]
    if name == "hidden":
        values = [v if isinstance(v, list) else [v] for v in values]
    return name, _check_values(name, values)


def _parse_value(text: str) -> Any:
    if "x" in text and all(part.isdigit() for part in text.split("x")):
        return [int(part) for part in text.split("x")]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)
