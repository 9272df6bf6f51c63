"""Binary array codec between Python and the front end (mirrored by ``js/src/codecs.js``).

An array travels as ``{"view": memoryview, "dtype": "float32", "shape": [...]}``: ipywidgets moves
the memoryview as a binary websocket buffer (no JSON lists, no base64), and the browser receives a
``DataView``. Only float32, int32 and uint8 are sent; other dtypes are cast first (float64 →
float32, int64 → int32 after a range check). Custom messages carry their arrays as a list of
``{"name", "dtype", "shape"}`` specs plus a parallel list of buffers.

>>> import numpy as np
>>> enc = array_to_json(np.zeros((2, 3)))
>>> enc["dtype"], enc["shape"]
('float32', [2, 3])
>>> array_from_json(enc).shape
(2, 3)
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import numpy as np

from linlens_widgets.lens.arrays import to_numpy

WIRE_DTYPES = ("float32", "int32", "uint8")
"""The dtypes the front end decodes; everything else is cast to one of these."""


def to_wire_array(value: Any, dtype: str | None = None) -> np.ndarray:
    """Return a C-contiguous array in one of :data:`WIRE_DTYPES`.

    Parameters
    ----------
    value
        Ndarray, torch tensor or sequence.
    dtype
        Force one of the wire dtypes (default: float → float32, int/bool → int32, uint8 stays
        uint8).

    Returns
    -------
    np.ndarray
        Contiguous array ready to be sent.

    Raises
    ------
    ValueError
        For an unsupported dtype, or integers that do not fit in int32.
    """
    a = to_numpy(value)
    if dtype is None:
        if a.dtype == np.uint8:
            dtype = "uint8"
        elif np.issubdtype(a.dtype, np.floating):
            dtype = "float32"
        elif np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_:
            dtype = "int32"
        else:
            raise ValueError(f"cannot send an array of dtype {a.dtype} to the front end")
    if dtype not in WIRE_DTYPES:
        raise ValueError(f"wire dtype must be one of {WIRE_DTYPES}, got {dtype!r}")
    if dtype == "int32" and a.size and np.issubdtype(a.dtype, np.integer):
        lo, hi = int(a.min()), int(a.max())
        if lo < np.iinfo(np.int32).min or hi > np.iinfo(np.int32).max:
            raise ValueError(f"integer values {lo}..{hi} do not fit in int32")
    return np.ascontiguousarray(a, dtype=dtype)


def array_to_json(value: Any, dtype: str | None = None) -> dict[str, Any] | None:
    """Encode an array as ``{view, dtype, shape}`` (``None`` passes through).

    Examples
    --------
    >>> array_to_json(np.arange(3))["dtype"]
    'int32'
    """
    if value is None:
        return None
    a = to_wire_array(value, dtype)
    return {"view": memoryview(a).cast("B"), "dtype": str(a.dtype), "shape": list(a.shape)}


def array_from_json(obj: Mapping[str, Any] | None) -> np.ndarray | None:
    """Decode ``{view|b64, dtype, shape}`` back into an ndarray (``None`` passes through)."""
    if obj is None:
        return None
    dtype = obj["dtype"]
    if dtype not in WIRE_DTYPES:
        raise ValueError(f"unsupported dtype {dtype!r}")
    raw = obj.get("view")
    data = base64.b64decode(obj["b64"]) if raw is None else bytes(raw)
    return np.frombuffer(data, dtype=dtype).reshape(obj["shape"]).copy()


def array_to_b64(value: Any, dtype: str | None = None) -> dict[str, Any]:
    """Encode an array as ``{b64, dtype, shape}`` for a saved page (text instead of a buffer)."""
    a = to_wire_array(value, dtype)
    return {
        "b64": base64.b64encode(a.tobytes()).decode("ascii"),
        "dtype": str(a.dtype),
        "shape": list(a.shape),
    }


def pack_message(
    content: dict[str, Any], arrays: Mapping[str, Any | None]
) -> tuple[dict[str, Any], list[memoryview]]:
    """Attach named arrays to a custom message: ``content["arrays"]`` specs + buffers.

    ``None`` values are left out. Returns ``(content, buffers)`` for ``widget.send``.

    Examples
    --------
    >>> msg, bufs = pack_message({"type": "x"}, {"w": np.ones(4)})
    >>> msg["arrays"], len(bufs)
    ([{'name': 'w', 'dtype': 'float32', 'shape': [4]}], 1)
    """
    specs: list[dict[str, Any]] = []
    buffers: list[memoryview] = []
    for name, value in arrays.items():
        if value is None:
            continue
        a = to_wire_array(value)
        specs.append({"name": name, "dtype": str(a.dtype), "shape": list(a.shape)})
        buffers.append(memoryview(a).cast("B"))
    return {**content, "arrays": specs}, buffers


def _to_json(value: Any, widget: Any) -> Any:
    return array_to_json(value) if not isinstance(value, dict) else value


def _from_json(value: Any, widget: Any) -> Any:
    return array_from_json(value) if isinstance(value, dict) else value


array_serialization: dict[str, Any] = {"to_json": _to_json, "from_json": _from_json}
"""Traitlet serializers: ``traitlets.Any().tag(sync=True, **array_serialization)``."""
