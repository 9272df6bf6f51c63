"""Lossless compression of a saved page's arrays, decoded by the page itself.

A page is text, so its arrays travel as base64 (4/3 of their bytes). Two codecs make them small
before that, both exact (the page decodes the very bits that were stored) and both built on
zlib's deflate, which every current browser inflates natively (``DecompressionStream``):

* **Byte planes** (``"encoding": "deflate-planes"``) for any array: the bytes of its elements are
  regrouped by position (all lowest bytes, then all next bytes, ...) and deflated. Positions,
  similarities and indices vary slowly in their high bytes, which then compress well.
* **Checkpoint deltas** (``"codec": "linlens-delta-1"``) for the network's layer arrays at every
  checkpoint, which change little from one checkpoint to the next. Each float's bit pattern is
  mapped to a signed integer code that is monotone in the value; each code is predicted from the
  same element at the two checkpoints before (``2 c[t-1] - c[t-2]``; ``c[t-1]`` at the second,
  0 at the first), and only the residual is kept, zigzag-mapped to an unsigned int, in byte planes,
  deflated. All arithmetic is modulo 2**32, so decoding is exact for any bit pattern.

On the demo run (20 checkpoints of a 64-256-256-10 MLP, float16) the weights shrink from 3.38 MB
to 1.54 MB before base64. The front end's mirror is ``js/src/packing.js``.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "DELTA_CODEC",
    "PLANES",
    "pack_checkpoints",
    "pack_planes",
    "unpack",
    "unpack_checkpoints",
]

DELTA_CODEC = "linlens-delta-1"
"""Name and version of the checkpoint-delta layout."""

PLANES = "deflate-planes"
"""Value of ``encoding`` for a byte-plane deflated array."""

_LEVEL = 6
_WIDTH_MASK = {2: (0x8000, 0x7FFF), 4: (0x80000000, 0x7FFFFFFF)}
_UINT = {2: np.uint16, 4: np.uint32}
_FLOAT = {"float16": np.float16, "float32": np.float32}
_U32 = 0xFFFFFFFF


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _planes(raw: np.ndarray, width: int) -> bytes:
    """Regroup the bytes of ``width``-byte elements by byte position (little-endian order)."""
    return np.ascontiguousarray(raw.view(np.uint8).reshape(-1, width).T).tobytes()


def _unplanes(raw: bytes, width: int) -> np.ndarray:
    return np.ascontiguousarray(np.frombuffer(raw, np.uint8).reshape(width, -1).T).reshape(-1)


def pack_planes(a: np.ndarray) -> dict[str, Any]:
    """Return ``{b64, dtype, shape, encoding}`` with ``a``'s byte planes deflated.

    Examples
    --------
    >>> packed = pack_planes(np.arange(1000, dtype=np.int32))
    >>> packed["encoding"], len(packed["b64"]) < 4000 * 4 / 3
    ('deflate-planes', True)
    >>> np.array_equal(unpack(packed), np.arange(1000, dtype=np.int32))
    True
    """
    a = np.ascontiguousarray(a)
    data = zlib.compress(_planes(a.reshape(-1), a.dtype.itemsize), _LEVEL)
    return {"b64": _b64(data), "dtype": str(a.dtype), "shape": list(a.shape), "encoding": PLANES}


def _codes(a: np.ndarray) -> np.ndarray:
    """Map float bit patterns to int64 codes that increase with the value (a bijection)."""
    width = a.dtype.itemsize
    sign, magnitude = _WIDTH_MASK[width]
    bits = a.view(_UINT[width]).astype(np.int64)
    return np.where(bits & sign, ~(bits & magnitude), bits)


def _floats(codes: np.ndarray, dtype: str) -> np.ndarray:
    width = np.dtype(dtype).itemsize
    sign, _ = _WIDTH_MASK[width]
    bits = np.where(codes < 0, sign | ~codes, codes).astype(_UINT[width])
    return bits.view(_FLOAT[dtype])


def _wrap(x: np.ndarray) -> np.ndarray:
    """Reduce int64 values modulo 2**32 into int32's range."""
    return ((x & _U32).astype(np.uint32)).view(np.int32).astype(np.int64)


def pack_checkpoints(arrays: Sequence[Sequence[np.ndarray]]) -> dict[str, Any]:
    """Pack one list of float arrays per checkpoint (same shapes and dtype at every checkpoint).

    Parameters
    ----------
    arrays
        ``arrays[t][i]``: the i-th layer array at checkpoint t, float16 or float32.

    Returns
    -------
    dict
        ``{codec, dtype, shapes, checkpoints, b64}``; `unpack_checkpoints` gives the arrays back,
        bit for bit.

    Raises
    ------
    ValueError
        When checkpoints disagree on shapes or dtypes, or the dtype is not float16/float32.
    """
    if not arrays or not arrays[0]:
        raise ValueError("pack_checkpoints needs at least one checkpoint with one array")
    first = [np.asarray(a) for a in arrays[0]]
    dtype = str(first[0].dtype)
    if dtype not in _FLOAT:
        raise ValueError(f"layer arrays must be float16 or float32, not {dtype}")
    shapes = [list(a.shape) for a in first]
    for t, row in enumerate(arrays):
        got = [(list(np.shape(a)), str(np.asarray(a).dtype)) for a in row]
        if got != [(s, dtype) for s in shapes]:
            raise ValueError(f"checkpoint {t} has arrays {got}, expected {shapes} of {dtype}")
    flat = [np.concatenate([_codes(np.asarray(a).reshape(-1)) for a in row]) for row in arrays]
    codes = np.stack(flat)
    residual = codes.copy()
    if len(codes) > 1:
        residual[1] = codes[1] - codes[0]
        residual[2:] = codes[2:] - 2 * codes[1:-1] + codes[:-2]
    r = _wrap(residual)
    zigzag = (((r << 1) ^ (r >> 31)) & _U32).astype(np.uint32)
    data = zlib.compress(_planes(zigzag.reshape(-1), 4), _LEVEL)
    return {
        "codec": DELTA_CODEC,
        "dtype": dtype,
        "shapes": shapes,
        "checkpoints": len(arrays),
        "b64": _b64(data),
    }


def unpack_checkpoints(packed: dict[str, Any]) -> list[list[np.ndarray]]:
    """Inverse of `pack_checkpoints`."""
    dtype, shapes, e = packed["dtype"], packed["shapes"], int(packed["checkpoints"])
    z = _unplanes(zlib.decompress(base64.b64decode(packed["b64"])), 4).view(np.uint32)
    r = (z >> 1).astype(np.int64) ^ -(z & 1).astype(np.int64)
    residual = r.reshape(e, -1)
    codes = np.empty_like(residual)
    for t in range(e):
        if t == 0:
            codes[t] = residual[t]
        elif t == 1:
            codes[t] = _wrap(residual[t] + codes[0])
        else:
            codes[t] = _wrap(residual[t] + 2 * codes[t - 1] - codes[t - 2])
    sizes = [int(np.prod(s)) for s in shapes]
    out = []
    for t in range(e):
        flat = _floats(codes[t], dtype)
        parts = np.split(flat, np.cumsum(sizes)[:-1])
        out.append([p.reshape(s) for p, s in zip(parts, shapes, strict=True)])
    return out


def unpack(value: Any) -> Any:
    """Decode every packed array inside ``value`` (what a page's config holds) into numpy.

    Byte-plane arrays become ndarrays, checkpoint-delta blocks lists of lists of ndarrays, and
    plain ``{b64, dtype, shape}`` arrays ndarrays too; everything else is returned as it is.
    """
    if isinstance(value, list):
        return [unpack(v) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("codec") == DELTA_CODEC:
        return unpack_checkpoints(value)
    if isinstance(value.get("b64"), str) and "dtype" in value:
        raw = base64.b64decode(value["b64"])
        dtype = np.dtype(value["dtype"])
        if value.get("encoding") == PLANES:
            flat = _unplanes(zlib.decompress(raw), dtype.itemsize).view(dtype)
        else:
            flat = np.frombuffer(raw, dtype)
        return flat.reshape(value["shape"])
    return {k: unpack(v) for k, v in value.items()}
