"""Read and write safetensors files with validation; never pickle.

Reading parses the header ourselves first, so a file that is not safetensors (a pickle, a truncated
copy, random bytes) is rejected with a :class:`RunFormatError` that names it before the safetensors
parser sees it; nothing in a file is ever executed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load as np_load
from safetensors.numpy import save as np_save
from safetensors.torch import load as torch_load
from safetensors.torch import save as torch_save

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
    """Return the file's bytes and header metadata after checking it looks like safetensors."""
    if not path.is_file():
        raise RunFormatError(f"{name} is missing")
    data = path.read_bytes()
    if len(data) < 8:
        raise RunFormatError(f"{name} is not a safetensors file (only {len(data)} bytes)")
    size = int.from_bytes(data[:8], "little")
    if size > min(_MAX_HEADER, len(data) - 8) or data[8:9] != b"{":
        raise RunFormatError(f"{name} is not a safetensors file (its first bytes are no header)")
    try:
        header = json.loads(data[8 : 8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RunFormatError(
            f"{name} is not a safetensors file (unreadable header: {err})"
        ) from err
    if not isinstance(header, dict):
        raise RunFormatError(f"{name} is not a safetensors file (header is not an object)")
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise RunFormatError(f"{name} has invalid safetensors metadata")
    return data, metadata


def jsonable(value: Any, what: str) -> Any:
    """Return ``value`` after checking it round-trips through strict JSON (no NaN, no objects)."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{what} must be JSON-serialisable (no NaN/inf, no objects): {err}"
        ) from err
