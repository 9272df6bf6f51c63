"""The :class:`Recorder`: snapshots a model's weights and metrics during training into a Run.

:func:`linlens_widgets.train` uses it; it works just as well inside your own training loop.
"""

from __future__ import annotations

import copy
import math
import operator
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from linlens_widgets.runs import models
from linlens_widgets.runs._probe import resolve_probe, stratified_subset
from linlens_widgets.runs.datasets import Dataset
from linlens_widgets.runs.store import Checkpoint, Run

#: Samples per forward pass when evaluating loss and accuracy.
EVAL_BATCH_SIZE = 4096

#: ``train_loss``/``train_acc`` are measured on at most this many training samples (a fixed,
#: stratified subset), so that checkpoints stay cheap on MNIST-sized data. The test split is
#: always evaluated in full.
TRAIN_EVAL_CAP = 10_000


class Recorder:
    """Record checkpoints of ``model`` trained on ``data``; ``recorder.run`` is the resulting Run.

    Each :meth:`snapshot` copies the weights to the CPU and (unless ``evaluate=False``) computes
    ``train_loss``, ``train_acc``, ``test_loss`` and ``test_acc`` (cross-entropy, eval mode, batched
    passes without gradients; train metrics on at most :data:`TRAIN_EVAL_CAP` = 10,000 training
    samples, a fixed stratified subset); metrics you pass are added (and win over computed ones).

    Parameters
    ----------
    model : nn.Module
        The model being trained (weights are read at each snapshot; it is not modified).
    data : Dataset
        Its dataset (see :class:`linlens_widgets.Dataset`).
    probe : optional
        Samples whose effective weights the run tracks: ``None`` (the test split, at most 2,000,
        stratified), an ``int``, ``"test"``, indices into the test split, or ``(inputs, labels)``.
    evaluate : bool, default True
        Compute train/test loss and accuracy at every snapshot.
    config : dict, optional
        Training settings stored with the run (JSON).

    >>> import linlens_widgets as ll
    >>> data = ll.datasets.digits()
    >>> model = ll.models.mlp(64, [32], 10)
    >>> rec = ll.Recorder(model, data, probe=100)
    >>> first = rec.snapshot(epoch=0, step=0)
    >>> # ... your training loop, calling rec.snapshot(epoch=e, step=s) when you like ...
    >>> rec.run.checkpoints[0].metrics["test_acc"] < 0.5
    True
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
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch nn.Module, got {type(model).__name__}")
        if not isinstance(data, Dataset):
            raise TypeError(
                f"data must be a linlens Dataset, got {type(data).__name__}; wrap your arrays with "
                "ll.Dataset.from_tensors(x, y)"
            )
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

    @property
    def run(self) -> Run:
        """A new :class:`Run` of the checkpoints recorded so far (at least one is needed).

        Each access builds a new Run (with its own cache); keep the one you use.
        """
        if not self._checkpoints:
            raise ValueError("no checkpoints recorded yet; call snapshot() first")
        template = self._template
        return Run(
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
