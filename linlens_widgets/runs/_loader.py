"""Load a run folder: manifest, probe, checkpoints and stored analysis, each validated before use.

Only JSON and safetensors are read; a file that is anything else is refused with a
:class:`RunFormatError` naming it. Nothing from the folder is imported, unpickled or executed.
The run is made through the class ``Run.load`` hands in, so this module stays below the run store.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

import torch
from torch import nn

from linlens_widgets.runs import _manifest, _sfio, _swap
from linlens_widgets.runs._errors import RunFormatError
from linlens_widgets.runs._probe import Probe
from linlens_widgets.runs.analysis_files import ANALYSIS_DIR, AnalysisEntry, read_entries
from linlens_widgets.runs.checkpoint import Checkpoint

#: What ``Run.load(model=...)`` accepts: a callable that builds the architecture, or a module.
ModelSource: TypeAlias = Callable[[], nn.Module] | nn.Module

RunT = TypeVar("RunT")


def load_run(run_class: Callable[..., RunT], path: Path, model: ModelSource | None) -> RunT:
    """Read and validate the run folder at ``path`` (see :meth:`Run.load`).

    ``run_class`` is the :class:`~linlens_widgets.runs.store.Run` class (or a subclass) that
    ``Run.load`` was called on; it is handed in rather than imported.
    """
    _swap.recover(path)
    if not path.exists():
        raise FileNotFoundError(f"no run folder at {path}")
    if not path.is_dir():
        raise RunFormatError(f"{path} is a file, not a run folder")
    _check_no_links(path)
    manifest = _manifest.read(path)
    factory = _factory(manifest["model"], model)
    expected = _expected_tensors(factory, manifest["model"], user_model=model is not None)
    dataset = manifest["dataset"]
    input_shape, display = _manifest.input_description(dataset)
    probe = _read_probe(path, manifest["probe"], input_shape, len(dataset["classes"]))
    checkpoints, states = [], []
    for entry in manifest["checkpoints"]:
        states.append(_read_checkpoint(path, entry["index"], expected))
        _check_weights(states[-1], entry["index"], manifest["model"]["tensors"])
        checkpoints.append(
            Checkpoint(
                index=entry["index"],
                epoch=float(entry["epoch"]),
                step=int(entry["step"]),
                metrics={
                    k: math.nan if v is None else float(v) for k, v in entry["metrics"].items()
                },
                wall_time=float(entry["wall_time"]),
            )
        )
    return run_class(
        checkpoints=checkpoints,
        states=states,
        probe=probe,
        dataset_name=dataset["name"],
        dataset_hash=dataset["content_hash"],
        input_shape=input_shape,
        display=display,
        classes=tuple(dataset["classes"]),
        model_spec=manifest["model"]["spec"],
        model_factory=factory,
        model_class=manifest["model"]["class"],
        config=manifest.get("training") or {},
        analysis_entries=_read_analysis(path),
        path=path,
    )


def _factory(model_info: dict[str, Any], model: ModelSource | None) -> Callable[[], nn.Module]:
    """How to build the run's architecture: the caller's ``model=``, else the preset spec."""
    if isinstance(model, nn.Module):
        template = copy.deepcopy(model).cpu()
        return lambda: copy.deepcopy(template)
    if model is not None:
        if not callable(model):
            raise TypeError(
                f"model= must be a callable or an nn.Module, got {type(model).__name__}"
            )
        return _checked_factory(model)
    spec = model_info["spec"]
    if spec is None:
        raise RunFormatError(
            f"this run was trained with a user module ({model_info['class']}) that the folder "
            "cannot rebuild by itself; pass model=<a callable returning a fresh module of that "
            "architecture> to Run.load"
        )
    from linlens_widgets.runs.models import build

    try:
        with torch.device("meta"):  # shapes only: a spec is checked before anything is allocated
            build(spec)
    except (ValueError, TypeError, RuntimeError, OverflowError) as err:  # sizes torch refuses
        raise RunFormatError(f"{_manifest.MANIFEST}: cannot rebuild model.spec: {err}") from err
    frozen = json.loads(json.dumps(spec))
    return lambda: build(frozen)


def _checked_factory(factory: Callable[[], Any]) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        module = factory()
        if not isinstance(module, nn.Module):
            raise TypeError(f"model= factory returned {type(module).__name__}, not an nn.Module")
        return module

    return build


def _expected_tensors(
    factory: Callable[[], nn.Module], model_info: dict[str, Any], *, user_model: bool
) -> dict[str, tuple[int, ...]]:
    """Names and shapes every checkpoint must hold: the rebuilt model's state dict."""
    try:
        with torch.device("meta"):  # shapes only, no memory
            reference = factory()
    except Exception:  # a factory that cannot run on the meta device (loads files, moves devices)
        reference = factory()
    expected = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    declared = {k: tuple(v["shape"]) for k, v in model_info["tensors"].items()}
    if declared and declared != expected:
        where = f"{_manifest.MANIFEST} (model.tensors)"
        message = _mismatch(where, declared, expected)
        if user_model:
            message = f"model= builds a different architecture than this run's: {message}"
        raise RunFormatError(message)
    return expected


def _mismatch(
    where: str, found: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]]
) -> str:
    missing = sorted(set(expected) - set(found))
    if missing:
        return f"{where} lacks tensor(s) {missing} that the model has"
    extra = sorted(set(found) - set(expected))
    if extra:
        return f"{where} holds tensor(s) {extra} that the model does not have"
    for name, shape in found.items():
        if shape != expected[name]:
            return (
                f"{where}: tensor {name!r} has shape {shape} but the model expects {expected[name]}"
            )
    return f"{where} does not match the model"


def _read_checkpoint(
    path: Path, index: int, expected: dict[str, tuple[int, ...]]
) -> dict[str, torch.Tensor]:
    name = _manifest.checkpoint_file(index)
    declared = {k: shape for k, (_, shape) in _sfio.header_shapes(path / name, name).items()}
    if declared != expected:  # from the header alone, before the data is read
        raise RunFormatError(_mismatch(name, declared, expected))
    tensors, _ = _sfio.read_tensors(path / name, name)
    found = {k: tuple(v.shape) for k, v in tensors.items()}
    if found != expected:
        raise RunFormatError(_mismatch(name, found, expected))
    return tensors


def _read_probe(
    path: Path, info: dict[str, Any], input_shape: tuple[int, ...], n_classes: int
) -> Probe:
    name = _manifest.PROBE_FILE
    tensors, _ = _sfio.read_tensors(path / name, name)
    n = info["n"]
    specs = {
        "inputs": ((n, *input_shape), torch.float32),
        "labels": ((n,), torch.int64),
        "indices": ((n,), torch.int64),
    }
    for key, (shape, dtype) in specs.items():
        t = tensors.get(key)
        if t is None:
            raise RunFormatError(f"{name} lacks the tensor {key!r}")
        if tuple(t.shape) != shape or t.dtype != dtype:
            raise RunFormatError(
                f"{name}: tensor {key!r} is {t.dtype} {tuple(t.shape)}, expected {dtype} {shape}"
            )
    if tensors["indices"].tolist() != info["indices"]:
        raise RunFormatError(f"{name}: probe indices differ from those in {_manifest.MANIFEST}")
    labels = tensors["labels"]
    if int(labels.min()) < 0 or int(labels.max()) >= n_classes:
        raise RunFormatError(f"{name}: probe labels fall outside the {n_classes} classes")
    _check_probe_inputs(tensors["inputs"], name)
    return Probe(tensors["inputs"], labels, tensors["indices"])


def _read_analysis(path: Path) -> dict[str, AnalysisEntry]:
    """Read the entries of the folder's analysis store (``analysis/``), validated."""
    return read_entries(path / ANALYSIS_DIR, ANALYSIS_DIR)


def _check_no_links(path: Path) -> None:
    """Refuse symlinks inside a run folder: loading reads only the folder's own files.

    Files are also opened with ``O_NOFOLLOW``; this check names the link (a whole ``checkpoints/``
    or ``analysis/`` folder, or a file in it) before anything is read.
    """
    for entry in (
        path / _manifest.MANIFEST,
        path / _manifest.PROBE_FILE,
        path / _manifest.CHECKPOINT_DIR,
        path / ANALYSIS_DIR,
    ):
        if entry.is_symlink():
            raise RunFormatError(
                f"{entry.relative_to(path)} is a symbolic link; a run folder holds only its own "
                "files"
            )
    for folder in (path / _manifest.CHECKPOINT_DIR, path / ANALYSIS_DIR):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.is_symlink():
                raise RunFormatError(
                    f"{entry.relative_to(path)} is a symbolic link; a run folder holds only its "
                    "own files"
                )


def _check_weights(
    state: dict[str, torch.Tensor], index: int, declared: dict[str, dict[str, Any]]
) -> None:
    """Every tensor of a checkpoint has the manifest's dtype and only finite values."""
    name = _manifest.checkpoint_file(index)
    for key, tensor in state.items():
        dtype = str(tensor.dtype).removeprefix("torch.")
        wanted = declared.get(key, {}).get("dtype")
        if wanted is not None and dtype != wanted:
            raise RunFormatError(
                f"{name}: tensor {key!r} is {dtype}, but {_manifest.MANIFEST} declares {wanted}"
            )
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise RunFormatError(f"{name}: tensor {key!r} holds NaN or infinite weights")


def _check_probe_inputs(inputs: torch.Tensor, name: str) -> None:
    """Probe inputs are finite, as every dataset of a run is (any range: the network's units)."""
    bad = ~torch.isfinite(inputs.reshape(len(inputs), -1)).all(dim=1)
    if bool(bad.any()):
        rows = torch.nonzero(bad).flatten().tolist()
        shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
        raise RunFormatError(
            f"{name}: probe inputs must be finite; {len(rows)} row(s) are not (rows {shown})"
        )
