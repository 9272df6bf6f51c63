"""Per-checkpoint computation over a run: effective weights, weight features and predictions.

A :class:`~linlens_widgets.runs.store.Run` is only the record of training (manifest,
checkpoints, probe). Everything the analysis computes from one checkpoint's model and the probe
samples goes through :class:`RunWeights`, one per run (:func:`run_weights`), which keeps recent
results in a :class:`FeatureCache` bounded by bytes, so scrubbing back and forth over
checkpoints does not recompute them.

A whole checkpoint's W_eff is ``N x C x D`` floats (10,000 MNIST probes: 314 MB, 6.3 GB over 20
checkpoints), so nothing in the analysis, the widgets or the saved page asks for it whole: they
use the isometric features (:meth:`RunWeights.weight_features`), the W_eff of a few samples
(:meth:`RunWeights.sample_weights`), or reductions streamed over row chunks of at most
``chunk_bytes`` (:meth:`RunWeights.iter_effective_weights`, :meth:`RunWeights.group_means`,
:meth:`RunWeights.probe_mean`). :meth:`RunWeights.effective_weights` remains for users who want
the whole tensor.

>>> import linlens_widgets as ll
>>> data = ll.datasets.digits()
>>> run = ll.train(ll.models.mlp(64, [16], 10), data, epochs=1, checkpoints=2, progress=False)
>>> run_weights(run).effective_weights(-1).weight.shape
torch.Size([450, 10, 64])
"""

from __future__ import annotations

import contextlib
import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from linlens_widgets.analysis.store import AnalysisStore
from linlens_widgets.analysis.threads import torch_threads
from linlens_widgets.lens.effective import (
    EffectiveWeights,
    effective_weights,
    iter_effective_weights,
    weight_features,
)
from linlens_widgets.runs.indexing import checkpoint_index

if TYPE_CHECKING:  # pragma: no cover
    from linlens_widgets.runs.store import Run

__all__ = [
    "DEFAULT_CACHE_BYTES",
    "DEFAULT_CHUNK_BYTES",
    "FeatureCache",
    "RunWeights",
    "nbytes",
    "run_weights",
]

#: Default memory budget of one run's :class:`FeatureCache` (bytes). The long computations pass
#: over the checkpoints in order, which a least-recently-used cache smaller than all of them
#: cannot serve anyway; what it serves is the checkpoints the explorer shows again and again:
#: two at 10,000 MNIST probes (102 MB of features each), every checkpoint of a small run.
DEFAULT_CACHE_BYTES = 256 << 20
#: Default most bytes of W_eff a streamed computation holds at once (one row chunk).
DEFAULT_CHUNK_BYTES = 64 << 20


def nbytes(value: Any) -> int:
    """Bytes held by the tensors inside ``value`` (a tensor, a dataclass/list/dict of tensors)."""
    if isinstance(value, torch.Tensor):
        return value.element_size() * value.nelement()
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nbytes(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return sum(nbytes(getattr(value, name)) for name in value.__dataclass_fields__)
    return 0


class FeatureCache:
    """In-memory LRU of per-checkpoint results, evicting the oldest once over ``max_bytes``.

    The newest entry is always kept, even when it alone is larger than the budget. A lock makes
    every operation atomic, so the explorer's background analyses and the kernel's answers to
    the browser can share one cache.

    >>> cache = FeatureCache(max_bytes=1000)
    >>> cache.put("a", torch.zeros(100)); cache.put("b", torch.zeros(200))
    >>> cache.get("a") is None, cache.get("b").shape
    (True, torch.Size([200]))
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """Return the cached value (marking it recently used) or ``None``."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` under ``key`` and evict least-recently-used entries over budget."""
        size = nbytes(value)
        with self._lock:
            if key in self._items:
                self._total -= self._items.pop(key)[1]
            self._items[key] = (value, size)
            self._total += size
            while self._total > self.max_bytes and len(self._items) > 1:
                _, (_, evicted) = self._items.popitem(last=False)
                self._total -= evicted

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._items.clear()
            self._total = 0

    def __len__(self) -> int:
        return len(self._items)


class RunWeights:
    """Effective weights, weight features and predictions of a run's probe samples per checkpoint.

    Use :func:`run_weights` to get the one instance of a run, so every caller shares its cache.

    Parameters
    ----------
    run : Run
        The recorded run.
    cache_bytes : int, default 256 MiB
        Memory budget of the cache of effective weights and features.
    chunk_bytes : int, default 64 MiB
        Most bytes of W_eff the streamed computations hold at once.
    n_jobs : int, optional
        CPU threads of the engine (default: all cores; see
        :mod:`linlens_widgets.analysis.threads`).

    Attributes
    ----------
    run : Run
    device : str, torch.device or None
        Where the engine computes (results come back on the CPU); ``None`` uses ``run.device``.
    cache : FeatureCache
    chunk_bytes : int
    n_jobs : int or None
    """

    def __init__(
        self,
        run: Run,
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        n_jobs: int | None = None,
    ) -> None:
        self._run: Run | weakref.ref[Run] = run
        self.device: str | torch.device | None = None
        self.cache = FeatureCache(cache_bytes)
        self.chunk_bytes = int(chunk_bytes)
        self.n_jobs = n_jobs
        self._predictions: dict[int, torch.Tensor] = {}
        self._means: dict[int, torch.Tensor] = {}

    @property
    def run(self) -> Run:
        """The run these results are computed from.

        The shared instance of :func:`run_weights` holds its run weakly (the registry would
        otherwise keep every run alive); using it after the run is gone raises.
        """
        run = self._run() if isinstance(self._run, weakref.ref) else self._run
        if run is None:
            raise ReferenceError(
                "the run of this run_weights() no longer exists: keep a reference to the run "
                "for as long as its effective weights are used"
            )
        return run

    # The run's facts, read through, so that a RunWeights is a RunSource (analysis.source).
    @property
    def probe_inputs(self) -> torch.Tensor:
        """The run's probe inputs ``(N, *input_shape)``."""
        return self.run.probe_inputs

    @property
    def probe_labels(self) -> torch.Tensor:
        """The run's probe labels ``(N,)``."""
        return self.run.probe_labels

    @property
    def classes(self) -> tuple[str, ...]:
        """The run's class names."""
        return tuple(self.run.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input (``(C, H, W)`` or ``(D,)``)."""
        return tuple(self.run.input_shape)

    @property
    def checkpoints(self) -> list[Any]:
        """The run's checkpoints (``epoch``, ``step``, ``metrics``)."""
        return self.run.checkpoints

    @property
    def store(self) -> AnalysisStore:
        """The run's analysis store (entries kept with the run, and in its folder)."""
        return AnalysisStore(self.run)

    @property
    def cache_bytes(self) -> int:
        """Memory budget of the cache of effective weights and features (bytes)."""
        return self.cache.max_bytes

    @cache_bytes.setter
    def cache_bytes(self, value: int) -> None:
        self.cache.max_bytes = int(value)

    def _device(self) -> str | torch.device | None:
        return self.device if self.device is not None else getattr(self.run, "device", None)

    def _index(self, i: int) -> int:
        return checkpoint_index(i, len(self.run.checkpoints))

    def effective_weights(self, i: int, *, patterns: bool = False) -> EffectiveWeights:
        """Effective weights of the probe samples at checkpoint ``i`` (cached).

        Parameters
        ----------
        i : int
            Checkpoint index (negative counts back from the end).
        patterns : bool, default False
            Also return the activation patterns.

        Returns
        -------
        EffectiveWeights
            ``.weight`` (N, C, D), ``.bias``, ``.output``, ``.patterns`` (see
            :func:`linlens_widgets.effective_weights`).
        """
        i = self._index(i)
        cached = self.cache.get(("ew", i, True))
        if cached is None and not patterns:
            cached = self.cache.get(("ew", i, False))
        if cached is not None:
            return cached
        with torch_threads(self.n_jobs):
            result = effective_weights(
                self.run.model_at(i),
                self.run.probe_inputs,
                device=self._device(),
                return_patterns=patterns,
            )
        self.cache.put(("ew", i, patterns), result)
        return result

    def weight_features(self, i: int, *, n_jobs: int | None = None) -> torch.Tensor:
        """Isometric features (N, k) of the probe samples' effective weights at checkpoint ``i``.

        Distances and inner products between rows equal those between the flattened W_eff, at a
        fraction of the size (see :func:`linlens_widgets.lens.effective.weight_features`). Cached.
        ``n_jobs`` caps the CPU threads (default: the instance's ``n_jobs``, all cores).
        """
        i = self._index(i)
        cached = self.cache.get(("features", i))
        if cached is None:
            with torch_threads(self.n_jobs if n_jobs is None else n_jobs):
                cached = weight_features(
                    self.run.model_at(i), self.run.probe_inputs, device=self._device()
                )
            self.cache.put(("features", i), cached)
        return cached

    def _whole(self, i: int) -> EffectiveWeights | None:
        """Return the whole checkpoint's cached W_eff (with or without patterns), or None."""
        found = self.cache.get(("ew", i, True))
        return self.cache.get(("ew", i, False)) if found is None else found

    def chunk_rows(self, i: int) -> int:
        """Probe samples per streamed chunk at checkpoint ``i``: ``chunk_bytes`` of W_eff."""
        x = self.run.probe_inputs
        with torch.no_grad():
            n_out = self.run.model_at(i)(torch.as_tensor(x[:1]).float()).numel()
        per_sample = 4 * n_out * math.prod(x.shape[1:])
        return max(1, min(len(x), self.chunk_bytes // max(1, per_sample)))

    def iter_effective_weights(self, i: int) -> Iterator[tuple[int, EffectiveWeights]]:
        """Yield ``(start, chunk)``: the probe samples' W_eff at checkpoint ``i`` in row chunks.

        Each chunk holds at most ``chunk_bytes`` of weights (on the CPU); a whole checkpoint
        already in the cache is sliced instead of recomputed.
        """
        i = self._index(i)
        cached = self._whole(i)
        rows = self.chunk_rows(i)
        if cached is not None:
            for start in range(0, len(cached), rows):
                yield start, cached[start : start + rows]
            return
        model, x = self.run.model_at(i), self.run.probe_inputs
        with torch_threads(self.n_jobs):
            chunks = iter_effective_weights(model, x, batch_size=rows, device=self._device())
            start = 0
            for chunk in chunks:
                yield start, _on_cpu(chunk)
                start += len(chunk)

    def sample_weights(self, i: int, samples: Sequence[int] | np.ndarray) -> EffectiveWeights:
        """W_eff of the probe samples ``samples`` at checkpoint ``i``, computed for them alone.

        What a comparison of a few clicked samples needs, without the whole checkpoint's W_eff
        (sliced from the cache when that holds it already).
        """
        i = self._index(i)
        idx = torch.as_tensor(np.asarray(samples, dtype=np.int64).reshape(-1))
        cached = self._whole(i)
        if cached is not None:
            return cached[idx]
        x = self.run.probe_inputs
        rows = (
            x[idx] if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x)[idx.numpy()])
        )
        with torch_threads(self.n_jobs):
            return effective_weights(self.run.model_at(i), rows, device=self._device())

    def group_means(self, i: int, groups: Any, n_groups: int | None = None) -> torch.Tensor:
        """Mean W_eff of each group of probe samples at checkpoint ``i``, streamed over chunks.

        Parameters
        ----------
        i : int
            Checkpoint index.
        groups : array-like of int
            ``(N,)`` group of each probe sample, ``0 .. n_groups - 1``; ``-1`` leaves it out.
        n_groups : int, optional
            Number of groups (default: the largest group + 1).

        Returns
        -------
        torch.Tensor
            ``(n_groups, C, *input_shape)`` float64; a group without samples is NaN.
        """
        g = torch.as_tensor(np.asarray(groups, dtype=np.int64).reshape(-1))
        k = int(g.max()) + 1 if n_groups is None else int(n_groups)
        if len(g) != len(self.run.probe_inputs):
            raise ValueError(f"groups has {len(g)} entries, the probe {len(self.run.probe_inputs)}")
        if k < 1 or bool((g >= k).any()) or bool((g < -1).any()):
            raise ValueError(f"groups must lie in -1 .. {k - 1}, got {g.min()} .. {g.max()}")
        sums: torch.Tensor | None = None
        for start, chunk in self.iter_effective_weights(i):
            if sums is None:
                sums = torch.zeros((k + 1, *chunk.weight.shape[1:]), dtype=torch.float64)
            part = g[start : start + len(chunk.weight)]
            _add_rows(sums, torch.where(part < 0, k, part), chunk.weight)
        assert sums is not None
        counts = torch.bincount(g[g >= 0], minlength=k).to(torch.float64)
        counts = counts.reshape(k, *([1] * (sums.dim() - 1)))
        return sums[:k] / counts

    def probe_mean(self, i: int) -> torch.Tensor:
        """Mean W_eff over all probe samples at checkpoint ``i``, ``(C, *input_shape)`` float64.

        What the centred cosine subtracts; streamed over chunks and kept per checkpoint.
        """
        i = self._index(i)
        if i not in self._means:
            zeros = np.zeros(len(self.run.probe_inputs), dtype=np.int64)
            self._means[i] = self.group_means(i, zeros, 1)[0]
        return self._means[i].clone()

    def predictions(self, i: int) -> torch.Tensor:
        """Predicted class (argmax of the outputs) of every probe sample at checkpoint ``i``."""
        i = self._index(i)
        if i not in self._predictions:
            model = self.run.model_at(i)
            with torch.no_grad():
                outputs = torch.cat([model(x) for x in self.run.probe_inputs.split(4096)])
            self._predictions[i] = outputs.argmax(dim=1).to(torch.int64)
        return self._predictions[i].clone()


_SUM_ROWS = 256
"""Rows of a W_eff chunk converted to float64 at once when summing (256 MNIST samples: 16 MB)."""


def _add_rows(sums: torch.Tensor, index: torch.Tensor, weight: torch.Tensor) -> None:
    """``sums.index_add_(0, index, weight)`` in float64, converting a block of rows at a time.

    A chunk converted whole would hold twice its own bytes again in float64.
    """
    for s in range(0, len(weight), _SUM_ROWS):
        block = weight[s : s + _SUM_ROWS].to(torch.float64)
        sums.index_add_(0, index[s : s + _SUM_ROWS], block)


def _on_cpu(chunk: EffectiveWeights) -> EffectiveWeights:
    """Return a chunk of effective weights with its tensors on the CPU."""
    if chunk.weight.device.type == "cpu":
        return chunk
    return EffectiveWeights(
        weight=chunk.weight.cpu(),
        bias=None if chunk.bias is None else chunk.bias.cpu(),
        output=chunk.output.cpu(),
        patterns=None if chunk.patterns is None else [p.cpu() for p in chunk.patterns],
        exact=chunk.exact,
    )


_INSTANCES: weakref.WeakKeyDictionary[Any, RunWeights] = weakref.WeakKeyDictionary()


def run_weights(run: Run) -> RunWeights:
    """Return the :class:`RunWeights` of ``run``, creating it on first use.

    One instance per run object, so the widgets, metrics and embeddings of one run share one
    cache. It holds the run weakly and lives only as long as the run: keep the run, not only
    this, for as long as you use it.
    """
    try:
        found = _INSTANCES.get(run)
    except TypeError:  # an unhashable duck-typed run: no sharing, a fresh instance per call
        return RunWeights(run)
    if found is None:
        found = RunWeights(run)
        with contextlib.suppress(TypeError):  # not weak-referenceable: no sharing
            _INSTANCES[run] = found
            # the registry's value must not hold its key, or the run (and its cache) never dies
            found._run = weakref.ref(run)
    return found
