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

import collections
import collections.abc
import functools
import hashlib
import inspect
import itertools
import json
import math
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_POINTS",
    "Point",
    "check_values",
    "expand_grid",
    "parse_grid_option",
    "point_name",
    "split_params",
    "train_parameters",
]

#: Longest folder name before it is shortened (with a hash keeping it unique).
MAX_NAME_LENGTH = 96

#: Most points a grid may have (each is a training run).
MAX_POINTS = 10_000

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")
#: ``train`` arguments a sweep sets itself, never from the grid.
_RESERVED = frozenset({"model", "data", "progress"})


@dataclass(frozen=True)
class Point:
    """One grid point: its folder name and its parameters (JSON values, in the grid's order)."""

    name: str
    params: dict[str, Any]


def expand_grid(grid: Mapping[str, Sequence[Any]], *, max_points: int = MAX_POINTS) -> list[Point]:
    """Return every point of ``grid`` (the Cartesian product), each with a unique name.

    Parameters
    ----------
    grid : mapping of str to sequence
        Parameter name (a Python identifier) to the values to try: numbers, strings, booleans,
        ``None``, or lists of those (e.g. hidden widths ``[[64], [128, 128]]``).
    max_points : int, default MAX_POINTS
        Most points allowed; a larger grid is refused before it is expanded.

    Returns
    -------
    list of Point

    Raises
    ------
    ValueError
        For an empty grid, a name that is not an identifier, an empty or repeated value list,
        a value that is not JSON, or more than ``max_points`` points.

    >>> [p.name for p in expand_grid({"lr": [0.1, 0.01], "seed": [0]})]
    ['lr=0.1__seed=0', 'lr=0.01__seed=0']
    """
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"grid must be a non-empty dict of name -> list of values, got {grid!r}")
    values = {name: _check_values(name, options) for name, options in grid.items()}
    total = math.prod(len(v) for v in values.values())
    if total > max_points:
        sizes = " x ".join(f"{len(v)} {name}" for name, v in values.items())
        raise ValueError(
            f"the grid has {total:,} points ({sizes}), over the cap of {max_points:,}; "
            "sweep fewer values (or pass max_points= to expand_grid)"
        )
    combos = [
        dict(zip(values, combo, strict=True)) for combo in itertools.product(*values.values())
    ]
    names = [point_name(params) for params in combos]
    counts = collections.Counter(names)
    clashes = {n for n, k in counts.items() if k > 1}
    points = []
    for name, params in zip(names, combos, strict=True):
        if name in clashes:  # values that differ only in characters the name cannot hold
            name = _shortened(name, params, force=True)
        points.append(Point(name, params))
    return points


def point_name(params: Mapping[str, Any]) -> str:
    """Return the folder name of a grid point: ``name=value`` pairs joined by ``__``.

    Letters, digits and ``. _ + -`` are kept (the sign of a number too); every other character
    is written ``%XX`` (its UTF-8 bytes in hex, ``%`` itself as ``%25``), and a leading dot as
    ``%2E``, so values that differ in any character get different names. Names longer than
    :data:`MAX_NAME_LENGTH` are cut and end with a hash of the parameters.

    >>> point_name({"x": -1}), point_name({"tag": "a b"})
    ('x=-1', 'tag=a%20b')

    >>> point_name({"init_scale": 0.001, "hidden": [64, 64], "bias": False})
    'init_scale=0.001__hidden=64x64__bias=False'
    """
    parts = [f"{key}={_format(value)}" for key, value in params.items()]
    return _shortened("__".join(parts), dict(params), force=False)


def train_parameters() -> frozenset[str]:
    """Names of :func:`linlens_widgets.train`'s arguments that a grid point may set."""
    return frozenset(inspect.signature(train_function()).parameters) - _RESERVED


def train_function() -> Callable[..., Any]:
    """:func:`linlens_widgets.train` (imported when first needed: it imports torch)."""
    from linlens_widgets.runs.train import train

    return train


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
        return "x".join(_format(v) for v in value) or "none"
    text = repr(value) if isinstance(value, float) else str(value)
    text = _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), text)
    return "%2E" + text[1:] if text.startswith(".") else text


def _shortened(name: str, params: dict[str, Any], *, force: bool) -> str:
    if len(name) <= MAX_NAME_LENGTH and not force:
        return name
    digest = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    return f"{name[: MAX_NAME_LENGTH - 12].rstrip('-_.=')}__{digest}"


def check_values(grid: Mapping[str, Sequence[Any]], make_model: Callable[..., Any]) -> None:
    """Check every grid value against the type of the parameter it sets, before any work.

    The parameter's annotation (``make_model``'s, or :func:`linlens_widgets.train`'s for training
    names) decides: a ``bool`` takes only ``True``/``False`` (the string ``"no"`` is truthy), an
    ``int`` only integers, a ``float`` integers or floats, and ``hidden`` (or any
    ``Sequence[int]``) a list of positive integer widths. Parameters without such an annotation
    are not checked here.

    Raises
    ------
    ValueError
        Naming the parameter, the value and what it takes.
    """
    for name, options in grid.items():
        kind = _kind_of(name, make_model)
        if kind is None:
            continue
        for value in options:
            problem = _misfit(kind, value)
            if problem is not None:
                raise ValueError(
                    f"grid[{name!r}] value {value!r} {problem} ({name} takes {_KIND_TEXT[kind]})"
                )


_KIND_TEXT = {
    "bool": "True or False",
    "int": "an integer",
    "float": "a number",
    "widths": "a list of positive integer widths, e.g. [64, 64]",
}


def _kind_of(name: str, make_model: Callable[..., Any]) -> str | None:
    """``"bool"``, ``"int"``, ``"float"``, ``"widths"`` or None, from the parameter's annotation."""
    fn = train_function() if name in train_parameters() else make_model
    while isinstance(fn, functools.partial):
        fn = fn.func
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations: no check
        return None
    hint = hints.get(name)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        hint = args[0]  # Optional[X]
    if hint is bool:
        return "bool"
    if hint is int:
        return "int"
    if hint is float:
        return "float"
    origin = typing.get_origin(hint)
    if origin in (list, collections.abc.Sequence) and typing.get_args(hint) == (int,):
        return "widths"
    return None


def _misfit(kind: str, value: Any) -> str | None:
    """Say why ``value`` is not of ``kind``, or None."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool" and not isinstance(value, bool):
        return "is not a boolean"
    if kind == "int" and not is_int:
        return "is not an integer"
    if kind == "float" and not (is_int or isinstance(value, float)):
        return "is not a number"
    if kind == "widths":
        if not isinstance(value, list) or not value:
            return "is not a list of widths"
        for width in value:
            if isinstance(width, bool) or not isinstance(width, int) or width < 1:
                return f"holds {width!r}, not a positive integer width"
    return None


_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def parse_grid_option(
    text: str, make_model: Callable[..., Any] | None = None
) -> tuple[str, list[Any]]:
    """Parse a command-line grid option ``name=v1,v2,...`` into ``(name, values)``.

    Values are read as integers, then numbers, then ``true``/``false``/``none``, else kept as
    text; ``x`` joins the widths of a list (``hidden=64x64,128`` is ``[[64, 64], [128]]`` and a
    lone number for ``hidden`` is one layer). With ``make_model``, a boolean parameter's values
    are parsed strictly: ``true``/``false``, ``yes``/``no`` or ``1``/``0`` (any case), anything
    else is refused.

    Raises
    ------
    ValueError
        For a malformed option, or a boolean value that is none of those, naming both.

    >>> parse_grid_option("init_scale=0.001,1")
    ('init_scale', [0.001, 1])
    >>> parse_grid_option("hidden=64x64,128")
    ('hidden', [[64, 64], [128]])
    """
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not _NAME.match(name) or not rest.strip():
        raise ValueError(f"--grid expects name=value1,value2,... got {text!r}")
    parts = [part.strip() for part in rest.split(",") if part.strip()]
    if make_model is not None and _kind_of(name, make_model) == "bool":
        return name, _check_values(name, [_parse_bool(name, part) for part in parts])
    values = [_parse_value(part) for part in parts]
    if name == "hidden":
        values = [v if isinstance(v, list) else [v] for v in values]
    return name, _check_values(name, values)


def _parse_bool(name: str, text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ValueError(f"--grid {name}: {text!r} is not a boolean; use true/false, yes/no or 1/0")


def _parse_value(text: str) -> Any:
    if "x" in text and all(part.isdigit() for part in text.split("x")):
        return [int(part) for part in text.split("x")]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)
