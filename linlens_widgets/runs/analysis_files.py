"""The file format of computed analysis kept in a run folder's ``analysis/`` subfolder.

Each entry is one ``analysis/<name>.safetensors`` file: named numeric arrays plus a JSON object of
metadata stored under the safetensors metadata key :data:`META_KEY`. The run store reads and writes
these files with the rest of the folder (:meth:`Run.load`, :meth:`Run.save`); what the entries mean
and when they are computed is the analysis layer's business
(:class:`linlens_widgets.analysis.store.AnalysisStore`). Both import the format from here.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np

from linlens_widgets.runs import _safe_json, _sfio
from linlens_widgets.runs._errors import RunFormatError

__all__ = [
    "ANALYSIS_DIR",
    "ENTRY_NAME",
    "META_KEY",
    "AnalysisEntry",
    "check_entry",
    "read_entries",
    "write_entry",
]

#: One analysis entry: named numeric arrays and JSON-serialisable metadata.
AnalysisEntry: TypeAlias = tuple[dict[str, np.ndarray], dict[str, Any]]

#: The run folder's subfolder holding the entries.
ANALYSIS_DIR = "analysis"

#: Safetensors metadata key holding an entry's JSON metadata.
META_KEY = "linlens_meta"

#: Valid entry names; temporary files of an interrupted write start with a dot and never match.
ENTRY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_entry(name: str, arrays: dict[str, Any], meta: dict[str, Any]) -> AnalysisEntry:
    """Validate an entry and return it with arrays as numpy arrays and metadata as plain JSON.

    Parameters
    ----------
    name : str
        Letters, digits, ``_``, ``-``, ``.`` (at most 64 characters, not starting with a dot).
    arrays : dict of str to array-like
        Numeric arrays (bool, int, unsigned or float; no object dtype).
    meta : dict
        JSON-serialisable metadata (no NaN).

    Returns
    -------
    tuple of (dict of str to numpy.ndarray, dict)
        Copies, safe to keep.

    Raises
    ------
    ValueError
        For a bad name, a non-numeric array or metadata that is not a JSON object.
    """
    if not isinstance(name, str) or not ENTRY_NAME.match(name):
        raise ValueError(f"analysis entry name {name!r} must match {ENTRY_NAME.pattern}")
    if not isinstance(meta, dict):
        raise ValueError(f"analysis entry meta must be a dict, got {type(meta).__name__}")
    clean_meta = _sfio.jsonable(meta, f"meta of analysis entry {name!r}")
    clean = {}
    for key, value in arrays.items():
        array = np.array(value)
        if not isinstance(key, str) or array.dtype.kind not in "biuf":
            raise ValueError(f"analysis entry {name!r}: array {key!r} must be numeric")
        clean[key] = array
    return clean, clean_meta


def write_entry(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write one entry as a safetensors file at ``path`` (not atomic: callers rename into place)."""
    _sfio.write_arrays(path, arrays, {META_KEY: json.dumps(meta, allow_nan=False)})


def read_entries(folder: Path, where: str) -> dict[str, AnalysisEntry]:
    """Read every entry in ``folder`` (an ``analysis/`` subfolder); ``{}`` when it is absent.

    Parameters
    ----------
    folder : Path
        The ``analysis/`` folder of a run.
    where : str
        How error messages name the folder (e.g. ``"analysis"``).

    An entry whose content is damaged (not safetensors, truncated, metadata that is not a JSON
    object) is derived data: it is skipped with a warning naming it, and recomputed when next
    needed, so it never makes the run unloadable.

    Raises
    ------
    RunFormatError
        For an entry that is not a regular file (a FIFO, a device; links are refused by the
        loader before).
    """
    if not folder.is_dir():
        return {}
    found = {}
    for file in sorted(folder.glob("*.safetensors")):
        name = file.name.removesuffix(".safetensors")
        if not ENTRY_NAME.match(name):
            continue
        label = f"{where}/{file.name}"
        _sfio.open_regular(file, label).close()  # a planted FIFO or device stays an error
        try:
            found[name] = _read_entry(file, label)
        except RunFormatError as err:
            warnings.warn(
                f"{err}; this derived entry is ignored and recomputed when needed",
                stacklevel=2,
            )
    return found


def _read_entry(file: Path, label: str) -> AnalysisEntry:
    arrays, metadata = _sfio.read_arrays(file, label)
    meta = _safe_json.loads(metadata.get(META_KEY, "{}"), f"{label} (its JSON meta)")
    if not isinstance(meta, dict):
        raise RunFormatError(f"{label}: its meta must be a JSON object")
    return arrays, meta
