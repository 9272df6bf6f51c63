"""The two-run source of a sweep explorer's cross-run comparison.

A ``WeightCompare`` compares probe samples of one source. :class:`RunPair` is that source for two
runs of a sweep: sample ``s`` is run A's, ``N + s`` run B's copy of it, and checkpoint ``k`` is
position ``k`` of the common epoch axis, where each run shows its own aligned checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from linlens_widgets.analysis.source import source_of
from linlens_widgets.lens.arrays import to_numpy
from linlens_widgets.widgets import run_facts

__all__ = ["RunPair"]


class RunPair:
    """A :class:`~linlens_widgets.analysis.source.RunSource` spanning two runs, for a comparison.

    Probe sample ``s`` (``0 ≤ s < N``) is run A's sample ``s``; ``N + s`` is run B's copy of it.
    Checkpoint ``k`` is position ``k`` of the common epoch axis: run A shows its checkpoint
    ``map_a[k]``, run B its ``map_b[k]``. Only what ``WeightCompare`` reads is provided.

    Parameters
    ----------
    run_a, run_b
        The two runs (same probe).
    map_a, map_b
        Run checkpoint index of each axis position, per run.
    axis
        The common epochs.
    """

    CACHE_BYTES = 64 * 2**20
    """Most bytes of stacked W_eff kept for recently shown positions."""

    def __init__(
        self,
        run_a: Any,
        run_b: Any,
        map_a: Sequence[int],
        map_b: Sequence[int],
        axis: Sequence[float],
    ) -> None:
        self.run_a, self.run_b = run_a, run_b
        self.map_a = [int(v) for v in map_a]
        self.map_b = [int(v) for v in map_b]
        self.n = len(run_a.probe_labels)
        self.probe_inputs = np.concatenate(
            [to_numpy(run_a.probe_inputs), to_numpy(run_b.probe_inputs)]
        )
        self.probe_labels = np.concatenate(
            [to_numpy(run_a.probe_labels), to_numpy(run_b.probe_labels)]
        )
        self.image_shape = tuple(run_a.image_shape)
        self.input_shape = run_facts.input_shape(run_a)  # as run A is drawn
        self.classes = list(getattr(run_a, "classes", None) or [])
        self.dataset_name = getattr(run_a, "dataset_name", "runs")
        self.checkpoints = [
            SimpleNamespace(
                epoch=float(e),
                step=int(run_a.checkpoints[a].step),
                metrics={},
                index=k,
            )
            for k, (e, a) in enumerate(zip(axis, self.map_a, strict=True))
        ]
        self.store = None  # a pair of runs keeps no analysis store of its own
        self._cache: dict[int, Any] = {}

    def effective_weights(self, k: int) -> Any:
        """Both runs' W_eff at axis position ``k``, stacked: (2N, C, …) with bias and output.

        Recent positions are kept (up to ``CACHE_BYTES``), so a saved page's bank, which reads
        every position twice (class means, then samples), computes each only once.
        """
        if k in self._cache:
            self._cache[k] = self._cache.pop(k)  # most recently used last
            return self._cache[k]
        ea = source_of(self.run_a).effective_weights(self.map_a[k])
        eb = source_of(self.run_b).effective_weights(self.map_b[k])
        bias = None if ea.bias is None or eb.bias is None else _concat(ea.bias, eb.bias)
        entry = SimpleNamespace(
            weight=_concat(ea.weight, eb.weight), bias=bias, output=_concat(ea.output, eb.output)
        )
        size = _nbytes(entry.weight)
        while self._cache and (len(self._cache) + 1) * size > self.CACHE_BYTES:
            self._cache.pop(next(iter(self._cache)))
        self._cache[k] = entry
        return entry

    def weight_features(self, k: int) -> np.ndarray:
        """Both runs' flattened W_eff at axis position ``k`` (2N, f): one space for both runs.

        Each run's own isometric features may use another basis, so they are not stacked.
        """
        weight = to_numpy(self.effective_weights(k).weight)
        return weight.reshape(weight.shape[0], -1)

    def predictions(self, k: int) -> np.ndarray:
        """Predicted class of every sample of both runs at axis position ``k``."""
        return to_numpy(self.effective_weights(k).output).argmax(1)


def _concat(a: Any, b: Any) -> Any:
    if hasattr(a, "detach"):
        import torch

        return torch.cat([a, b.to(a.device)])
    return np.concatenate([np.asarray(a), np.asarray(b)])


def _nbytes(t: Any) -> int:
    return int(t.numel() * t.element_size()) if hasattr(t, "numel") else int(np.asarray(t).nbytes)
