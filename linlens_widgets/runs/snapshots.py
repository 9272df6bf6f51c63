"""Snapshots of a model in training: its weights and metrics at each checkpoint of a run.

:class:`Snapshots` is what :class:`~linlens_widgets.runs.recorder.Recorder` and
:func:`~linlens_widgets.runs.from_checkpoints.run_from_checkpoints` share: each
:meth:`~Snapshots.snapshot` copies the weights to the CPU and measures loss and accuracy the same
way, so a run from saved checkpoints has the metrics a recorded run would have. It knows nothing
of the :class:`~linlens_widgets.runs.store.Run` class: :meth:`~Snapshots.build` makes the run
through the class it is handed, which keeps this module below the run store.
"""

from __future__ import annotations

import copy
import math
import operator
import time
from collections.abc import Callable
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from linlens_widgets.runs import models
from linlens_widgets.runs._probe import resolve_probe, stratified_subset
from linlens_widgets.runs.checkpoint import Checkpoint
from linlens_widgets.runs.dataset import Dataset

__all__ = [
    "EVAL_BATCH_SIZE",
    "TRAIN_EVAL_CAP",
    "Snapshots",
    "check_logits",
    "check_model_and_data",
]

#: Samples per forward pass when evaluating loss and accuracy.
EVAL_BATCH_SIZE = 4096

#: ``train_loss``/``train_acc`` are measured on at most this many training samples (a fixed,
#: stratified subset), so that checkpoints stay cheap on MNIST-sized data. The test split is
#: always evaluated in full.
TRAIN_EVAL_CAP = 10_000

RunT = TypeVar("RunT")


class Snapshots:
    """The checkpoints of ``model`` trained on ``data``, recorded one :meth:`snapshot` at a time.

    The parameters are those of :class:`linlens_widgets.Recorder`, which is this class plus the
    :class:`~linlens_widgets.runs.store.Run` it hands out.
    """

    def __init__(
        self,
        model: nn.Module,
        data: Dataset,
        probe: Any = None,
        *,
        evaluate: bool = True,
        config: dict[str, Any] | None = None,
    ) -> None:
        check_model_and_data(model, data)
        self.model = model
        self.data = data
        self.evaluate = evaluate
        self.config = dict(config or {})
        self._probe = resolve_probe(probe, data)
        self._spec = models.spec_of(model)
        self._template = copy.deepcopy(model).cpu()
        self._class = f"{type(model).__module__}.{type(model).__qualname__}"
        self._checkpoints: list[Checkpoint] = []
        self._states: list[dict[str, torch.Tensor]] = []
        self._eval_cache: dict[tuple[str, torch.device], tuple[torch.Tensor, torch.Tensor]] = {}
        self._t0 = time.perf_counter()

    def restart_clock(self) -> None:
        """Measure ``wall_time`` of later snapshots from now (e.g. right before the first step)."""
        self._t0 = time.perf_counter()

    def snapshot(self, *, epoch: float, step: int, **metrics: float) -> Checkpoint:
        """Record the model's current weights and metrics as the next checkpoint.

        Parameters
        ----------
        epoch : float
            Epochs completed (fractional allowed; 0 is initialisation).
        step : int
            Optimizer steps completed; must increase from one snapshot to the next.
        **metrics : float
            Extra values to store (numbers or 0-d tensors).

        Returns
        -------
        Checkpoint
        """
        wall = time.perf_counter() - self._t0
        step = _as_step(step)
        if self._checkpoints and step <= self._checkpoints[-1].step:
            raise ValueError(
                f"snapshot step {step} must be greater than the previous one "
                f"({self._checkpoints[-1].step})"
            )
        if not math.isfinite(float(epoch)) or float(epoch) < 0:
            raise ValueError(f"epoch must be a non-negative number, got {epoch!r}")
        state = {k: _cpu_copy(k, v) for k, v in self.model.state_dict().items()}
        values = self._evaluate() if self.evaluate else {}
        values.update({k: _as_float(k, v) for k, v in metrics.items()})
        ckpt = Checkpoint(
            index=len(self._checkpoints),
            epoch=float(epoch),
            step=step,
            metrics=values,
            wall_time=wall,
        )
        self._checkpoints.append(ckpt)
        self._states.append(state)
        return ckpt

    @property
    def checkpoints(self) -> list[Checkpoint]:
        """Checkpoints recorded so far."""
        return list(self._checkpoints)

    def build(self, run_class: Callable[..., RunT]) -> RunT:
        """Return ``run_class(...)`` made of the checkpoints so far (at least one is needed).

        ``run_class`` is :class:`~linlens_widgets.runs.store.Run` or a subclass of it; it is
        handed in so that this module does not import the run store, which sits above it.
        """
        if not self._checkpoints:
            raise ValueError("no checkpoints recorded yet; call snapshot() first")
        template = self._template
        return run_class(
            checkpoints=list(self._checkpoints),
            states=list(self._states),
            probe=self._probe,
            dataset_name=self.data.name,
            dataset_hash=self.data.content_hash(),
            input_shape=self.data.input_shape,
            display=self.data.display,
            classes=self.data.classes,
            model_spec=self._spec,
            model_factory=lambda: copy.deepcopy(template),
            model_class=self._class,
            config=self.config,
        )

    # ------------------------------------------------------------------ evaluation

    def _evaluate(self) -> dict[str, float]:
        was_training = self.model.training
        self.model.eval()
        try:
            out = {}
            for split in ("train", "test"):
                loss, acc = self._loss_and_accuracy(split)
                out[f"{split}_loss"], out[f"{split}_acc"] = loss, acc
            return out
        finally:
            self.model.train(was_training)

    def _device(self) -> torch.device:
        tensor = next(self.model.parameters(), None)
        if tensor is None:
            tensor = next(self.model.buffers(), None)
        return torch.device("cpu") if tensor is None else tensor.device

    def _split(self, split: str, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        key = (split, device)
        if key not in self._eval_cache:
            x, y = getattr(self.data, f"x_{split}"), getattr(self.data, f"y_{split}")
            if split == "train" and len(y) > TRAIN_EVAL_CAP:
                keep = stratified_subset(y, TRAIN_EVAL_CAP)
                x, y = x[keep], y[keep]
            self._eval_cache[key] = (x.to(device), y.to(device))
        return self._eval_cache[key]

    @torch.no_grad()
    def _loss_and_accuracy(self, split: str) -> tuple[float, float]:
        x, y = self._split(split, self._device())
        total_loss = torch.zeros((), dtype=torch.float64, device=x.device)
        correct = torch.zeros((), dtype=torch.int64, device=x.device)
        for xb, yb in zip(x.split(EVAL_BATCH_SIZE), y.split(EVAL_BATCH_SIZE), strict=True):
            logits = self.model(xb)
            check_logits(logits, len(xb), self.data.n_classes)
            total_loss += F.cross_entropy(logits.float(), yb, reduction="sum").double()
            correct += (logits.argmax(dim=1) == yb).sum()
        n = len(y)
        return float(total_loss) / n, int(correct) / n


def check_model_and_data(model: Any, data: Any) -> None:
    """Raise a TypeError unless ``model`` is an ``nn.Module`` and ``data`` a linlens Dataset."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch nn.Module, got {type(model).__name__}")
    if not isinstance(data, Dataset):
        raise TypeError(
            f"data must be a linlens Dataset, got {type(data).__name__}; wrap your arrays with "
            "ll.Dataset.from_tensors(x, y)"
        )


def check_logits(logits: Any, n: int, n_classes: int) -> None:
    """Raise a ValueError unless ``logits`` is an (n, n_classes) tensor."""
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (n, n_classes):
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(
            f"the model must map (N, *input_shape) inputs to (N, {n_classes}) class scores; for a "
            f"batch of {n} it returned {shape}"
        )


def _cpu_copy(name: str, value: Any) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"state_dict entry {name!r} is a {type(value).__name__}, not a tensor")
    return value.detach().to("cpu", copy=True)


def _as_float(name: str, value: Any) -> float:
    try:
        return float(value.item() if isinstance(value, torch.Tensor) else value)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"metric {name!r} must be a number, got {value!r}") from err


def _as_step(step: Any) -> int:
    try:
        value = operator.index(step)  # ints, numpy integers, 0-d integer tensors
    except TypeError:
        value = -1
    if isinstance(step, bool) or value < 0:
        raise ValueError(f"step must be a non-negative integer, got {step!r}")
    return value
