"""``train()``: a plain classification training loop that records a :class:`Run` as it goes."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeAlias

import torch
import torch.nn.functional as F
from torch import nn

from linlens_widgets.progress import tqdm
from linlens_widgets.runs.datasets import Dataset
from linlens_widgets.runs.recorder import Recorder
from linlens_widgets.runs.schedule import ScheduleSpec, resolve_schedule
from linlens_widgets.runs.snapshots import check_logits, check_model_and_data
from linlens_widgets.runs.store import Run

__all__ = ["train"]

OptimizerSpec: TypeAlias = str | Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]

#: Below this many parameters, CPU training defaults to one thread (see ``num_threads``).
SMALL_MODEL_PARAMETERS = 1_000_000

#: Learning rates used when ``lr`` is not given (tuned on digits; fine for MNIST-family MLPs).
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3}


def train(
    model: nn.Module,
    data: Dataset,
    *,
    epochs: int,
    lr: float | None = None,
    optimizer: OptimizerSpec = "sgd",
    batch_size: int = 64,
    checkpoints: ScheduleSpec = "log",
    probe: Any = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = True,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    num_threads: int | None = None,
) -> Run:
    """Train ``model`` on ``data`` with cross-entropy and record checkpoints into a :class:`Run`.

    The model is trained in place; the run holds CPU copies of its weights at each checkpoint,
    with train/test loss and accuracy (one batched pass each), the step, the (fractional) epoch and
    the wall time. With the same ``seed`` and initial weights, training on the CPU is bit-for-bit
    reproducible.

    Parameters
    ----------
    model : nn.Module
        Maps flat ``(N, D)`` inputs to ``(N, n_classes)`` scores (any module; presets in
        :mod:`linlens_widgets.models`).
    data : Dataset
        Training and test data.
    epochs : int
        Passes over the training split.
    lr : float, optional
        Learning rate; default 0.05 for ``"sgd"``, 1e-3 for ``"adam"``.
    optimizer : {"sgd", "adam"} or callable, default "sgd"
        SGD with ``momentum`` (0.9), Adam, or ``callable(parameters) -> torch.optim.Optimizer``
        (then ``lr``, ``momentum`` and ``weight_decay`` are ignored).
    batch_size : int, default 64
        Mini-batch size; the last batch of an epoch may be smaller.
    checkpoints : str, int, list or dict, default "log"
        ``"log"``: 20 checkpoints log-spaced over steps (dense early, always step 0 and the last
        step); ``"epoch"``: initialisation and every epoch end; an ``int``: that many log-spaced;
        a list of epochs (fractions allowed, 0 = initialisation); ``{"steps": [...]}``: step
        indices. See :func:`linlens_widgets.runs.schedule.resolve_schedule`.
    probe : optional
        Samples whose effective weights the run tracks: ``None`` (the test split, capped at 2,000,
        stratified), an ``int``, ``"test"``, indices into the test split, or ``(inputs, labels)``.
    seed : int, default 0
        Seeds the mini-batch order and any randomness inside the model (e.g. dropout), without
        touching the global random state. Does not re-initialise the model.
    device : str or torch.device, optional
        Where to train; default: where the model's parameters are. The model is moved there.
    progress : bool, default True
        Show a ``tqdm`` progress bar.
    momentum : float, default 0.9
        SGD momentum.
    weight_decay : float, default 0.0
        L2 penalty of the built-in optimizers.
    num_threads : int, optional
        CPU threads for training on the CPU (restored afterwards). Default: 1 for models under
        :data:`SMALL_MODEL_PARAMETERS` parameters, whose per-step operations are too small to gain
        from threads and slow down sharply when the CPU is busy; otherwise torch's setting.

    Returns
    -------
    Run

    Raises
    ------
    ValueError
        For bad arguments, a model whose outputs do not fit the classes, or a loss that diverges
        (non-finite; the message suggests a smaller ``lr``).

    >>> import linlens_widgets as ll
    >>> data = ll.datasets.digits()
    >>> model = ll.models.mlp(data.n_features, [128, 128], data.n_classes, seed=0)
    >>> run = ll.train(model, data, epochs=20, progress=False)
    >>> run.checkpoints[-1].metrics["test_acc"] > 0.9
    True
    """
    _check_args(model, data, epochs, batch_size)
    target = _resolve_device(model, device)
    model.to(target)
    n = len(data.y_train)
    steps_per_epoch = math.ceil(n / batch_size)
    schedule = resolve_schedule(checkpoints, epochs=epochs, steps_per_epoch=steps_per_epoch)
    opt, opt_name, lr = _optimizer(model, optimizer, lr, momentum, weight_decay)
    config = {
        "epochs": epochs,
        "lr": lr,
        "optimizer": opt_name,
        "momentum": momentum if opt_name == "sgd" else None,
        "weight_decay": weight_decay,
        "batch_size": batch_size,
        "steps_per_epoch": steps_per_epoch,
        "seed": seed,
        "checkpoints": checkpoints if isinstance(checkpoints, (str, int)) else "custom",
        "device": str(target),
    }
    recorder = Recorder(model, data, probe=probe, config=config)
    x, y = data.x_train.to(target), data.y_train.to(target)
    with torch.no_grad():
        check_logits(model.eval()(x[:2]), min(2, n), data.n_classes)
    threads = _thread_count(model, target, num_threads)
    config["num_threads"] = threads
    with _cpu_threads(threads):
        _loop(model, opt, recorder, x, y, epochs, batch_size, schedule, seed, target, progress)
    return recorder.run


def _loop(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    recorder: Recorder,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    batch_size: int,
    schedule: list[int],
    seed: int,
    device: torch.device,
    progress: bool,
) -> None:
    """Run the optimisation, snapshotting at the scheduled steps."""
    wanted = set(schedule)
    steps_per_epoch = math.ceil(len(y) / batch_size)
    order = torch.Generator().manual_seed(seed)
    bar = tqdm(total=epochs * steps_per_epoch, disable=not progress, desc="training", unit="step")
    step = 0
    with bar, _seeded(seed, device):
        recorder.restart_clock()
        if 0 in wanted:
            _snapshot(recorder, step, steps_per_epoch, bar)
        for _ in range(epochs):
            model.train()
            perm = torch.randperm(len(y), generator=order).to(device)
            for batch in perm.split(batch_size):
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(x[batch]), y[batch])
                loss.backward()
                opt.step()
                step += 1
                bar.update(1)
                if step in wanted:
                    _snapshot(recorder, step, steps_per_epoch, bar)


def _snapshot(recorder: Recorder, step: int, steps_per_epoch: int, bar: Any) -> None:
    ckpt = recorder.snapshot(epoch=step / steps_per_epoch, step=step)
    loss = ckpt.metrics["train_loss"]
    if not math.isfinite(loss):
        raise ValueError(
            f"training diverged: the train loss is {loss} at step {step}; try a smaller lr"
        )
    bar.set_postfix(loss=f"{loss:.3f}", test_acc=f"{ckpt.metrics['test_acc']:.3f}", refresh=False)


def _check_args(model: nn.Module, data: Dataset, epochs: int, batch_size: int) -> None:
    check_model_and_data(model, data)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("the model has no trainable parameters")


def _resolve_device(model: nn.Module, device: str | torch.device | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    first = next(model.parameters(), None)
    return torch.device("cpu") if first is None else first.device


def _optimizer(
    model: nn.Module, spec: OptimizerSpec, lr: float | None, momentum: float, weight_decay: float
) -> tuple[torch.optim.Optimizer, str, float | None]:
    params = [p for p in model.parameters() if p.requires_grad]
    if callable(spec) and not isinstance(spec, str):
        opt = spec(params)
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError(f"optimizer factory returned {type(opt).__name__}, not an Optimizer")
        return opt, type(opt).__name__, opt.param_groups[0].get("lr")
    if spec not in DEFAULT_LR:
        raise ValueError(f"optimizer must be 'sgd', 'adam' or a callable, got {spec!r}")
    lr = DEFAULT_LR[spec] if lr is None else float(lr)
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if spec == "sgd":
        return (
            torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay),
            spec,
            lr,
        )
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay), spec, lr


def _thread_count(model: nn.Module, device: torch.device, requested: int | None) -> int | None:
    """CPU threads to train with, or None to leave torch's setting (GPU training, large models)."""
    if requested is not None:
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            raise ValueError(f"num_threads must be a positive integer, got {requested!r}")
        return requested
    if device.type != "cpu":
        return None
    n_params = sum(p.numel() for p in model.parameters())
    return 1 if n_params < SMALL_MODEL_PARAMETERS else None


@contextlib.contextmanager
def _cpu_threads(threads: int | None) -> Iterator[None]:
    """Use ``threads`` intra-op CPU threads inside the block (no change for None)."""
    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's generators for the block, restoring the global random state afterwards."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
