"""Probe selection: which samples' effective weights a run tracks.

By default the probe is the test split, capped at :data:`DEFAULT_PROBE_CAP` samples drawn stratified
by class with a fixed seed, so runs with different training seeds share the same probe and can be
compared sample by sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from linlens_widgets.runs.dataset import Dataset, class_labels, network_inputs

#: Largest default probe (samples of the test split); t-SNE and W_eff stay interactive below it.
DEFAULT_PROBE_CAP = 2000

#: Seed of the stratified probe subset; fixed so that every run on a dataset shares one probe.
PROBE_SEED = 0

#: ``probe_indices`` value of a probe sample given as a tensor, not taken from the test split.
CUSTOM_INDEX = -1


@dataclass(frozen=True)
class Probe:
    """Probe inputs (N, *input_shape) float32, labels (N,) int64, test-split indices (N,) int64."""

    inputs: torch.Tensor
    labels: torch.Tensor
    indices: torch.Tensor


def stratified_subset(labels: torch.Tensor, n: int, *, seed: int = PROBE_SEED) -> torch.Tensor:
    """Pick ``n`` indices with class proportions as in ``labels`` (largest remainder), sorted.

    >>> y = torch.tensor([0] * 80 + [1] * 20)
    >>> torch.bincount(y[stratified_subset(y, 10)]).tolist()
    [8, 2]
    """
    total = len(labels)
    if not 0 < n <= total:
        raise ValueError(f"cannot draw {n} probe samples from {total}")
    if n == total:
        return torch.arange(total)
    y = labels.cpu().numpy()
    classes, counts = np.unique(y, return_counts=True)
    quota = counts * n / total
    take = np.floor(quota).astype(int)
    remainder_order = np.argsort(-(quota - take), kind="stable")
    take[remainder_order[: n - take.sum()]] += 1
    rng = np.random.default_rng(seed)
    chosen = [
        rng.choice(np.flatnonzero(y == c), k, replace=False)
        for c, k in zip(classes, take, strict=True)
    ]
    return torch.from_numpy(np.sort(np.concatenate(chosen)).astype(np.int64))


def resolve_probe(probe: Any, data: Dataset) -> Probe:
    """Turn a ``probe=`` argument into probe tensors on the CPU.

    Parameters
    ----------
    probe : None, int, "test", index array, or (inputs, labels)
        ``None``: the test split, capped at 2,000 samples (stratified); an ``int`` n: n samples of
        the test split (stratified); ``"test"``: the whole test split; a 1-D integer array/list:
        indices into the test split; a tuple ``(inputs, labels)``: samples of your own, shaped like
        the dataset's inputs (their ``probe_indices`` are -1).
    data : Dataset
        The dataset the run trains on.

    Returns
    -------
    Probe
    """
    x, y = data.x_test, data.y_test
    if probe is None:
        return _from_indices(data, stratified_subset(y, min(DEFAULT_PROBE_CAP, len(y))))
    if isinstance(probe, str):
        if probe != "test":
            raise ValueError(
                f"unknown probe {probe!r}; use None, 'test', an int, indices or (x, y)"
            )
        return _from_indices(data, torch.arange(len(y)))
    if isinstance(probe, bool):
        raise ValueError(f"probe must be None, 'test', an int, indices or (x, y), got {probe!r}")
    if isinstance(probe, (int, np.integer)):
        probe = int(probe)
        if not 0 < probe <= len(y):
            raise ValueError(f"probe={probe} samples, but the test split holds {len(y)}")
        return _from_indices(data, stratified_subset(y, probe))
    if isinstance(probe, tuple):
        return _custom(probe, data)
    return _from_indices(data, _index_tensor(probe, len(x)))


def _from_indices(data: Dataset, indices: torch.Tensor) -> Probe:
    return Probe(
        data.x_test[indices].clone(), data.y_test[indices].clone(), indices.to(torch.int64).clone()
    )


def _index_tensor(probe: Any, n_test: int) -> torch.Tensor:
    t = (
        probe.detach().cpu()
        if isinstance(probe, torch.Tensor)
        else torch.as_tensor(np.asarray(probe))
    )
    if t.is_floating_point():
        raise ValueError(
            "a float tensor as probe looks like inputs; pass probe=(inputs, labels) for samples of "
            "your own, or integer indices into the test split"
        )
    if t.ndim != 1 or len(t) == 0 or t.dtype == torch.bool:
        raise ValueError(
            f"probe indices must be a non-empty 1-D integer array, got {tuple(t.shape)}"
        )
    t = t.to(torch.int64)
    if int(t.min()) < 0 or int(t.max()) >= n_test:
        raise ValueError(
            f"probe indices must lie in 0..{n_test - 1} (the test split), "
            f"got {int(t.min())}..{int(t.max())}"
        )
    if len(torch.unique(t)) != len(t):
        raise ValueError("probe indices contain duplicates")
    return t


def _custom(probe: tuple[Any, ...], data: Dataset) -> Probe:
    if len(probe) != 2:
        raise ValueError(f"a custom probe is a pair (inputs, labels), got a tuple of {len(probe)}")
    inputs = network_inputs(probe[0], what="probe inputs", input_shape=data.input_shape)
    labels = class_labels(probe[1], len(inputs), what="probe labels")
    if len(labels) == 0:
        raise ValueError("the probe is empty")
    if int(labels.max()) >= data.n_classes:
        raise ValueError(
            f"probe label {int(labels.max())} is outside the dataset's {data.n_classes} classes"
        )
    indices = torch.full((len(labels),), CUSTOM_INDEX, dtype=torch.int64)
    return Probe(inputs.clone(), labels.clone(), indices)
