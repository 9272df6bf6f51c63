"""A small least-recently-used cache bounded by the bytes of the tensors it holds."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import torch


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


class TensorCache:
    """LRU mapping that evicts the oldest entries once their tensors exceed ``max_bytes``.

    The newest entry is always kept, even when it alone is larger than the budget.

    >>> cache = TensorCache(max_bytes=1000)
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
