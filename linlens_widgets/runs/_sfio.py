"""Read and write safetensors files with validation; never pickle.

Reading parses the header ourselves first, so a file that is not safetensors (a pickle, a truncated
copy, random bytes) is rejected with a :class:`RunFormatError` that names it before the safetensors
parser sees it; nothing in a file is ever executed.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load as np_load
from safetensors.numpy import save as np_save
from safetensors.torch import load as torch_load
from safetensors.torch import save as torch_save

from linlens_widgets.runs import _safe_json
from linlens_widgets.runs._errors import RunFormatError

_MAX_HEADER = 100 * 1024 * 1024  # the safetensors format's own header limit


def write_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """Write torch tensors (contiguous, unshared copies) to ``path`` and fsync it."""
    data = torch_save(
        {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}, metadata
    )
    _write_bytes(path, data)


def write_arrays(path: Path, arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write numpy arrays to ``path`` and fsync it."""
    # np.array(order="C") keeps 0-d arrays 0-d (np.ascontiguousarray would make them 1-d)
    contiguous = {k: np.array(v, order="C", copy=True) for k, v in arrays.items()}
    _write_bytes(path, np_save(contiguous, metadata))


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def read_tensors(path: Path, name: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a safetensors file as torch tensors plus its metadata; ``name`` is used in errors."""
    data, metadata = _checked_bytes(path, name)
    try:
        return torch_load(data), metadata
    except (SafetensorError, ValueError, RuntimeError, TypeError) as err:
        raise RunFormatError(f"{name} is not a valid safetensors file: {err}") from err


def read_arrays(path: Path, name: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file as numpy arrays plus its metadata; ``name`` is used in errors."""
    data, metadata = _checked_bytes(path, name)
    try:
        return np_load(data), metadata
    except (SafetensorError, ValueError, RuntimeError, TypeError) as err:
        raise RunFormatError(f"{name} is not a valid safetensors file: {err}") from err


def _checked_bytes(path: Path, name: str) -> tuple[bytes, dict[str, str]]:
    """Return the file's bytes and header metadata after checking it looks like safetensors.

    The header is read and checked against the file's size before the data is: a header that
    announces more bytes than the file holds, or a file that is a symlink or not a regular file,
    is refused without reading the rest.
    """
    with open_regular(path, name) as f:
        size = os.fstat(f.fileno()).st_size
        if size < 8:
            raise RunFormatError(f"{name} is not a safetensors file (only {size} bytes)")
        header_size = int.from_bytes(f.read(8), "little")
        if header_size > min(_MAX_HEADER, size - 8):
            raise RunFormatError(
                f"{name} is not a safetensors file (its header announces {header_size} bytes; "
                f"the file holds {size})"
            )
        raw_header = f.read(header_size)
        if raw_header[:1] != b"{":
            raise RunFormatError(
                f"{name} is not a safetensors file (its first bytes are no header)"
            )
        header = _safe_json.loads(raw_header, f"{name} (safetensors header)")
        if not isinstance(header, dict):
            raise RunFormatError(f"{name} is not a safetensors file (header is not an object)")
        _check_offsets(header, size - 8 - header_size, name)
        data = f.read()
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise RunFormatError(f"{name} has invalid safetensors metadata")
    return b"".join([header_size.to_bytes(8, "little"), raw_header, data]), metadata


def header_shapes(path: Path, name: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Return ``{tensor: (dtype, shape)}`` from a safetensors header, reading only the header.

    Used to compare a checkpoint with the model it claims to hold before any data is read.
    """
    with open_regular(path, name) as f:
        size = os.fstat(f.fileno()).st_size
        if size < 8:
            raise RunFormatError(f"{name} is not a safetensors file (only {size} bytes)")
        header_size = int.from_bytes(f.read(8), "little")
        if header_size > min(_MAX_HEADER, size - 8):
            raise RunFormatError(f"{name} is not a safetensors file (header larger than file)")
        header = _safe_json.loads(f.read(header_size), f"{name} (safetensors header)")
    if not isinstance(header, dict):
        raise RunFormatError(f"{name} is not a safetensors file (header is not an object)")
    _check_offsets(header, size - 8 - header_size, name)
    return {
        key: (info["dtype"], tuple(info["shape"]))
        for key, info in header.items()
        if key != "__metadata__"
    }


def open_regular(path: Path, name: str) -> BinaryIO:
    """Open ``path`` for reading, refusing a symlink or anything but a regular file.

    ``O_NOFOLLOW`` makes the refusal atomic: a symlink swapped in after a check is not followed.
    A FIFO or device is opened without blocking and then refused.
    """
    try:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path, flags)  # non-blocking: a FIFO planted in a folder cannot hang us
    except FileNotFoundError:
        raise RunFormatError(f"{name} is missing") from None
    except OSError as err:
        if path.is_symlink():
            raise RunFormatError(
                f"{name} is a symbolic link; a run folder holds only its own files"
            ) from None
        raise RunFormatError(f"{name} cannot be read: {err.strerror}") from err
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise RunFormatError(f"{name} is not a regular file")
    return os.fdopen(fd, "rb")


_DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


def _check_offsets(header: dict[str, Any], data_size: int, name: str) -> None:
    """Check every tensor entry: known dtype, sizes that fit the file, offsets that tile it."""
    spans = []
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if not isinstance(info, dict):
            raise RunFormatError(f"{name}: header entry {key!r} is not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in _DTYPE_BYTES:
            raise RunFormatError(f"{name}: tensor {key!r} has unknown dtype {dtype!r}")
        if not (isinstance(shape, list) and all(_is_size(s) for s in shape)):
            raise RunFormatError(f"{name}: tensor {key!r} has an invalid shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_size, offsets))):
            raise RunFormatError(f"{name}: tensor {key!r} has invalid data_offsets")
        begin, end = offsets
        if not begin <= end <= data_size:
            raise RunFormatError(
                f"{name}: tensor {key!r} ends at byte {end}, past the file's {data_size} data bytes"
            )
        if end - begin != math.prod(shape) * _DTYPE_BYTES[dtype]:
            raise RunFormatError(f"{name}: tensor {key!r} size does not match its shape")
        spans.append((begin, end))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise RunFormatError(f"{name}: tensor data overlaps or leaves gaps")
        position = end
    if position != data_size:
        raise RunFormatError(f"{name}: the file holds {data_size - position} unexplained bytes")


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def jsonable(value: Any, what: str) -> Any:
    """Return ``value`` after checking it round-trips through strict JSON (no NaN, no objects)."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{what} must be JSON-serialisable (no NaN/inf, no objects): {err}"
        ) from err
