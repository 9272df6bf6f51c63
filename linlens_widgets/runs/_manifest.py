"""The run manifest (``manifest.json``): building it, and parsing it with errors that name fields.

Schema version 1::

    {"format": "linlens-run", "schema_version": 1, "library_version": "<version>",
     "model": {"spec": {...} | null, "class": "torch.nn...Sequential",
               "tensors": {"0.weight": {"shape": [128, 64], "dtype": "float32"}, ...}},
     "dataset": {"name": "digits", "content_hash": "<sha256>", "image_shape": [8, 8],
                 "input_shape": [64], "display": {"kind": "unit", "shape": [1, 8, 8]},
                 "classes": ["0", ...]},
     "probe": {"file": "probe.safetensors", "n": 450, "indices": [...]},
     "training": {...} | null,
     "checkpoints": [{"index": 0, "epoch": 0.0, "step": 0, "wall_time": 0.0,
                      "metrics": {"test_acc": 0.1, ...}}, ...]}

``input_shape`` (one input as the network receives it) and ``display`` (how inputs are shown, see
:class:`~linlens_widgets.runs.display.InputDisplay`) are optional: a manifest without them (written
before they existed) holds flat grey ``image_shape`` images in ``[0, 1]``, read by
:func:`input_description`. ``image_shape`` is written for grey image runs only, so that versions
that know no ``display`` still read them.

Checkpoint ``i`` lives in ``checkpoints/{i:04d}.safetensors``; analysis artifacts in
``analysis/<name>.safetensors``. Non-finite metric values are stored as ``null``.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from linlens_widgets.runs import _safe_json, _sfio
from linlens_widgets.runs._errors import RunFormatError
from linlens_widgets.runs.display import InputDisplay, check_display

FORMAT = "linlens-run"
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
PROBE_FILE = "probe.safetensors"
CHECKPOINT_DIR = "checkpoints"
#: A manifest is a few kilobytes per thousand probe samples; anything far larger is refused.
MAX_MANIFEST_BYTES = 64 * 1024 * 1024


def checkpoint_file(index: int) -> str:
    """Relative path of checkpoint ``index`` inside a run folder."""
    return f"{CHECKPOINT_DIR}/{index:04d}.safetensors"


def metric_to_json(value: float) -> float | None:
    """Finite floats as they are, NaN/inf as None (strict JSON has no NaN)."""
    return value if math.isfinite(value) else None


_SCALAR_LIST = re.compile(r"\[[^\[\]{}]*\]")


def dumps(manifest: dict[str, Any]) -> str:
    """Serialise a manifest as strict JSON (no NaN), indented, with lists of scalars on one line."""
    text = json.dumps(manifest, indent=1, allow_nan=False)
    return _SCALAR_LIST.sub(lambda m: " ".join(m.group(0).split()), text) + "\n"


def read(path: Path) -> dict[str, Any]:
    """Read and validate ``path/manifest.json``; return its parsed, type-checked content."""
    file = path / MANIFEST
    if not (file.is_file() or file.is_symlink()):
        raise RunFormatError(f"{file} is missing: {path} is not a linlens run folder")
    with _sfio.open_regular(file, MANIFEST) as f:
        raw = f.read(MAX_MANIFEST_BYTES + 1)
    if len(raw) > MAX_MANIFEST_BYTES:
        raise RunFormatError(f"{MANIFEST} is larger than {MAX_MANIFEST_BYTES} bytes")
    data = _safe_json.loads(raw, MANIFEST)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RunFormatError(f"{MANIFEST} is not a linlens run manifest (no 'format': '{FORMAT}')")
    _check_version(data.get("schema_version"))
    for key in ("model", "dataset", "probe", "checkpoints"):
        if key not in data:
            raise RunFormatError(f"{MANIFEST} lacks the field {key!r}")
    _check_model(data["model"])
    _check_dataset(data["dataset"])
    _check_probe(data["probe"])
    _check_checkpoints(data["checkpoints"])
    if data.get("training") is not None and not isinstance(data["training"], dict):
        raise RunFormatError(f"{MANIFEST}: 'training' must be an object or null")
    return data


def _check_version(version: Any) -> None:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RunFormatError(f"{MANIFEST}: unknown schema_version {version!r}")
    if version > SCHEMA_VERSION:
        raise RunFormatError(
            f"{MANIFEST}: schema_version {version} is newer than this linlens_widgets supports "
            f"({SCHEMA_VERSION}); upgrade linlens_widgets to load this run"
        )


def _fail(field: str, expected: str, value: Any) -> RunFormatError:
    shown = repr(value)
    shown = shown if len(shown) < 80 else shown[:77] + "..."
    return RunFormatError(f"{MANIFEST}: field {field!r} must be {expected}, got {shown}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_model(model: Any) -> None:
    if not isinstance(model, dict):
        raise _fail("model", "an object", model)
    spec = model.get("spec")
    if spec is not None and not (isinstance(spec, dict) and isinstance(spec.get("preset"), str)):
        raise _fail("model.spec", "null or an object with a 'preset'", spec)
    if not isinstance(model.get("class"), str):
        raise _fail("model.class", "a string", model.get("class"))
    tensors = model.get("tensors")
    if not isinstance(tensors, dict):
        raise _fail("model.tensors", "an object", tensors)
    for name, info in tensors.items():
        shape = info.get("shape") if isinstance(info, dict) else None
        if not (isinstance(shape, list) and all(_is_int(s) and s >= 0 for s in shape)):
            raise _fail(f"model.tensors.{name}.shape", "a list of sizes", shape)


def _check_dataset(dataset: Any) -> None:
    if not isinstance(dataset, dict):
        raise _fail("dataset", "an object", dataset)
    for key in ("name", "content_hash"):
        if not isinstance(dataset.get(key), str):
            raise _fail(f"dataset.{key}", "a string", dataset.get(key))
    input_description(dataset)
    classes = dataset.get("classes")
    if not (isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)):
        raise _fail("dataset.classes", "a non-empty list of strings", classes)


def input_description(dataset: dict[str, Any]) -> tuple[tuple[int, ...], InputDisplay]:
    """Return the run's ``(input_shape, display)`` from the manifest's ``dataset`` object.

    A manifest without ``input_shape`` (written before colour and feature inputs existed) holds
    flat inputs of ``H * W`` values in ``[0, 1]``, shown as its ``image_shape`` grey images.
    """
    if "input_shape" not in dataset:
        shape = dataset.get("image_shape")
        if not (
            isinstance(shape, list) and len(shape) == 2 and all(_is_int(s) and s > 0 for s in shape)
        ):
            raise _fail("dataset.image_shape", "[H, W]", shape)
        return (shape[0] * shape[1],), InputDisplay.unit(shape)
    input_shape = dataset["input_shape"]
    if not (
        isinstance(input_shape, list)
        and input_shape
        and all(_is_int(s) and s > 0 for s in input_shape)
    ):
        raise _fail("dataset.input_shape", "a non-empty list of positive sizes", input_shape)
    try:
        display = InputDisplay.from_json(dataset.get("display"))
    except ValueError as err:
        raise RunFormatError(f"{MANIFEST}: field 'dataset.display': {err}") from err
    try:
        check_display(tuple(input_shape), display)
    except ValueError as err:
        raise RunFormatError(f"{MANIFEST}: field 'dataset.display': {err}") from err
    return tuple(input_shape), display


def _check_probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        raise _fail("probe", "an object", probe)
    indices = probe.get("indices")
    if not (isinstance(indices, list) and all(_is_int(i) and i >= -1 for i in indices)):
        raise _fail("probe.indices", "a list of integers >= -1", indices)
    if not (_is_int(probe.get("n")) and probe["n"] == len(indices) and probe["n"] > 0):
        raise _fail("probe.n", f"the number of probe indices ({len(indices)})", probe.get("n"))


def _check_checkpoints(checkpoints: Any) -> None:
    if not (isinstance(checkpoints, list) and checkpoints):
        raise _fail("checkpoints", "a non-empty list", checkpoints)
    for i, entry in enumerate(checkpoints):
        where = f"checkpoints[{i}]"
        if not isinstance(entry, dict):
            raise _fail(where, "an object", entry)
        if entry.get("index") != i or not _is_int(entry.get("index")):
            raise _fail(f"{where}.index", str(i), entry.get("index"))
        if not (_is_int(entry.get("step")) and entry["step"] >= 0):
            raise _fail(f"{where}.step", "a non-negative integer", entry.get("step"))
        for key in ("epoch", "wall_time"):
            if not _is_number(entry.get(key)):
                raise _fail(f"{where}.{key}", "a number", entry.get(key))
        metrics = entry.get("metrics")
        if not isinstance(metrics, dict) or not all(
            v is None or _is_number(v) for v in metrics.values()
        ):
            raise _fail(f"{where}.metrics", "an object of numbers", metrics)
