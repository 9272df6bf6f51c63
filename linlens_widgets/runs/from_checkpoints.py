"""A :class:`~linlens_widgets.runs.store.Run` from checkpoints your own training loop saved.

:func:`run_from_checkpoints` (``Run.from_checkpoints``) takes state dicts, or files written by
``torch.save(model.state_dict(), path)`` or safetensors, checks each against the model (names and
shapes, naming the first key that differs), and records them as a :class:`Recorder` would (through
the same :class:`~linlens_widgets.runs.snapshots.Snapshots`): the same probe and, unless you give
them, the same metrics. The run is made through the class ``Run.from_checkpoints`` hands in.
"""

from __future__ import annotations

import copy
import math
import os
import pickle
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from linlens_widgets.progress import tqdm
from linlens_widgets.runs import _sfio
from linlens_widgets.runs._errors import RunFormatError
from linlens_widgets.runs.dataset import Dataset
from linlens_widgets.runs.snapshots import Snapshots

__all__ = ["load_state_dict", "run_from_checkpoints"]

Source = Mapping[str, torch.Tensor] | str | os.PathLike[str]

RunT = TypeVar("RunT")


def run_from_checkpoints(
    run_class: Callable[..., RunT],
    model: nn.Module,
    checkpoints: Sequence[Source],
    data: Dataset,
    *,
    epochs: Sequence[float] | None = None,
    probe: Any = None,
    metrics: Sequence[Mapping[str, float]] | None = None,
    progress: bool = True,
) -> RunT:
    """Build a run from saved weights through ``run_class`` (see ``Run.from_checkpoints``).

    ``run_class`` is the :class:`~linlens_widgets.runs.store.Run` class (or a subclass) that
    ``Run.from_checkpoints`` was called on; it is handed in rather than imported, so that this
    module stays below the run store.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch nn.Module, got {type(model).__name__}")
    if isinstance(checkpoints, (str, os.PathLike, Mapping)) or not len(checkpoints):
        raise ValueError("checkpoints must be a non-empty list of state dicts or file paths")
    n = len(checkpoints)
    epoch_values = _epochs(epochs, n)
    given = _metrics(metrics, n)
    working = copy.deepcopy(model).cpu()
    expected = {k: tuple(v.shape) for k, v in working.state_dict().items()}
    snapshots = Snapshots(
        working,
        data,
        probe,
        evaluate=metrics is None,
        config={"source": "checkpoints", "n_checkpoints": n},
    )
    bar = tqdm(checkpoints, desc="checkpoints", disable=not progress, leave=False)
    for i, source in enumerate(bar):
        where = _name(source, i)
        state = load_state_dict(source, where) if not isinstance(source, Mapping) else source
        check_state(state, expected, where)
        working.load_state_dict(state, strict=True)
        snapshots.snapshot(epoch=epoch_values[i], step=i, **given[i])
    return snapshots.build(run_class)


def load_state_dict(path: str | os.PathLike[str], where: str | None = None) -> dict[str, Any]:
    """Read a state dict from a ``torch.save`` file (``weights_only=True``) or a safetensors file.

    Nothing in the file is executed: a pickle that names anything but tensors and plain
    containers is refused, as the run store refuses it.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a state dict of tensors (names the file and what it holds instead).
    """
    file = Path(path).expanduser()
    where = where or str(file)
    if not file.is_file():
        raise FileNotFoundError(f"checkpoint {where}: no such file")
    if file.suffix == ".safetensors":
        try:
            tensors, _ = _sfio.read_tensors(file, where)
        except RunFormatError as err:
            raise ValueError(str(err)) from err
        return tensors
    try:
        loaded = torch.load(file, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"checkpoint {where} is not a plain state dict (torch.load with weights_only=True "
            f"refused it: {first}); save model.state_dict() with torch.save, or safetensors"
        ) from err
    if not isinstance(loaded, Mapping):
        raise ValueError(
            f"checkpoint {where} holds a {type(loaded).__name__}, not a state dict; save "
            "model.state_dict()"
        )
    return dict(loaded)


def check_state(state: Mapping[str, Any], expected: dict[str, tuple[int, ...]], where: str) -> None:
    """Refuse a state dict whose keys or shapes differ from the model's, naming the first key."""
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            hint = (
                " (a training checkpoint? save model.state_dict() alone)"
                if isinstance(value, Mapping)
                else ""
            )
            raise ValueError(
                f"checkpoint {where}: entry {key!r} is a {type(value).__name__}, not a tensor{hint}"
            )
    missing = [k for k in expected if k not in state]
    if missing:
        raise ValueError(
            f"checkpoint {where} lacks the key {missing[0]!r} that the model has"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    extra = [k for k in state if k not in expected]
    if extra:
        raise ValueError(
            f"checkpoint {where} holds the key {extra[0]!r} that the model does not have"
            + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else "")
        )
    for key, shape in expected.items():
        found = tuple(state[key].shape)
        if found != shape:
            raise ValueError(
                f"checkpoint {where}: key {key!r} has shape {found} but the model's is {shape}"
            )
        tensor = state[key]
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"checkpoint {where}: key {key!r} holds NaN or infinite weights")


def _name(source: Any, i: int) -> str:
    if isinstance(source, Mapping):
        return f"#{i}"
    if isinstance(source, (str, os.PathLike)):
        return f"#{i} ({os.fspath(source)})"
    raise ValueError(
        f"checkpoint #{i} is a {type(source).__name__}; give a state dict or a file path"
    )


def _epochs(epochs: Sequence[float] | None, n: int) -> list[float]:
    if epochs is None:
        return [float(i) for i in range(n)]
    values = [float(e) for e in epochs]
    if len(values) != n:
        raise ValueError(f"{len(values)} epochs given for {n} checkpoints")
    for i, e in enumerate(values):
        if not math.isfinite(e) or e < 0:
            raise ValueError(f"epoch {e!r} of checkpoint #{i} must be a non-negative number")
    return values


def _metrics(metrics: Sequence[Mapping[str, float]] | None, n: int) -> list[dict[str, float]]:
    if metrics is None:
        return [{} for _ in range(n)]
    rows = [dict(m) for m in metrics]
    if len(rows) != n:
        raise ValueError(f"{len(rows)} metric rows given for {n} checkpoints")
    return rows
