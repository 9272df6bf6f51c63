"""Per-checkpoint computation over a run: effective weights, weight features and predictions.

A :class:`~linlens_widgets.runs.store.Run` is only the record of training (manifest,
checkpoints, probe). Everything the analysis computes from one checkpoint's model and the probe
samples goes through :class:`RunWeights`, one per run (:func:`run_weights`), which keeps recent
results in a :class:`FeatureCache` bounded by bytes, so scrubbing back and forth over
checkpoints does not recompute them.

>>> import linlens_widgets as ll
>>> data = ll.datasets.digits()
>>> run = ll.train(ll.models.mlp(64, [16], 10), data, epochs=1, checkpoints=2, progress=False)
>>> run_weights(run).effective_weights(-1).weight.shape
torch.Size([450, 10, 64])
"""

from __future__ import annotations

import contextlib
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import torch

from linlens_widgets.lens.effective import EffectiveWeights, effective_weights, weight_features
from linlens_widgets.runs.indexing import checkpoint_index

if TYPE_CHECKING:  # pragma: no cover
    from linlens_widgets.runs.store import Run

__all__ = ["DEFAULT_CACHE_BYTES", "FeatureCache", "RunWeights", "nbytes", "run_weights"]

#: Default memory budget of one run's :class:`FeatureCache` (bytes).
DEFAULT_CACHE_BYTES = 1 << 30


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

    The newest entry is always kept, even when it alone is larger than the budget.

    >>> cache = FeatureCache(max_bytes=1000)
    >>> cache.put("a", torch.zeros(100)); cache.put("b", torch.zeros(200))
    >>> cache.get("a") is None, cache.get("b").shape
    (True, torch.Size([200]))
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._total = 0

    def get(self, key: Hashable) -> Any:
        """Return the cached value (marking it recently used) or ``None``."""
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` under ``key`` and evict least-recently-used entries over budget."""
        if key in self._items:
            self._total -= self._items.pop(key)[1]
        size = nbytes(value)
        self._items[key] = (value, size)
        self._total += size
        while self._total > self.max_bytes and len(self._items) > 1:
            _, (_, evicted) = self._items.popitem(last=False)
            self._total -= evicted

    def clear(self) -> None:
        """Drop every entry."""
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
    cache_bytes : int, default 1 GiB
        Memory budget of the cache of effective weights and features.

    Attributes
    ----------
    run : Run
    device : str, torch.device or None
        Where the engine computes (results come back on the CPU); ``None`` uses ``run.device``.
    cache : FeatureCache
    """

    def __init__(self, run: Run, *, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.run = run
        self.device: str | torch.device | None = None
        self.cache = FeatureCache(cache_bytes)
        self._predictions: dict[int, torch.Tensor] = {}

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
        result = effective_weights(
            self.run.model_at(i),
            self.run.probe_inputs,
            device=self._device(),
            return_patterns=patterns,
        )
        self.cache.put(("ew", i, patterns), result)
        return result

    def weight_features(self, i: int) -> torch.Tensor:
        """Isometric features (N, k) of the probe samples' effective weights at checkpoint ``i``.

        Distances and inner products between rows equal those between the flattened W_eff, at a
        fraction of the size (see :func:`linlens_widgets.lens.effective.weight_features`). Cached.
        """
        i = self._index(i)
        cached = self.cache.get(("features", i))
        if cached is None:
            cached = weight_features(
                self.run.model_at(i), self.run.probe_inputs, device=self._device()
            )
            self.cache.put(("features", i), cached)
        return cached

    def predictions(self, i: int) -> torch.Tensor:
        """Predicted class (argmax of the outputs) of every probe sample at checkpoint ``i``."""
        i = self._index(i)
        if i not in self._predictions:
            model = self.run.model_at(i)
            with torch.no_grad():
                outputs = torch.cat([model(x) for x in self.run.probe_inputs.split(4096)])
            self._predictions[i] = outputs.argmax(dim=1).to(torch.int64)
        return self._predictions[i].clone()


_INSTANCES: weakref.WeakKeyDictionary[Any, RunWeights] = weakref.WeakKeyDictionary()


def run_weights(run: Run) -> RunWeights:
    """Return the :class:`RunWeights` of ``run``, creating it on first use.

    One instance per run object (held only as long as the run lives), so the widgets, metrics
    and embeddings of one run share one cache.
    """
    try:
        found = _INSTANCES.get(run)
    except TypeError:  # an unhashable duck-typed run: no sharing, a fresh instance per call
        return RunWeights(run)
    if found is None:
        found = RunWeights(run)
        with contextlib.suppress(TypeError):  # not weak-referenceable: no sharing
            _INSTANCES[run] = found
    return found
