"""How many CPU threads the analysis uses: all the cores this process may run on, unless capped.

Every heavy step of the analysis (the embedding's neighbour search and gradients, the engine's
W_eff features, the saved page's precision check) takes an ``n_jobs`` argument with one meaning:
``None`` (the default) or ``-1`` uses every core the process may run on (its CPU affinity, so a
container or ``taskset`` limit is respected); a positive integer caps the thread count. Torch's
own thread setting is changed only inside :func:`torch_threads` and restored afterwards.

>>> resolve_jobs(1)
1
>>> resolve_jobs(None) == available_cores()
True
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

__all__ = ["available_cores", "imap_threads", "map_threads", "resolve_jobs", "torch_threads"]

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system reports one), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows: no affinity call
        return max(1, os.cpu_count() or 1)


def resolve_jobs(n_jobs: int | None) -> int:
    """Threads to use for ``n_jobs``: all available cores for ``None`` or ``-1``, else ``n_jobs``.

    Raises
    ------
    ValueError
        ``n_jobs`` is not ``None``, ``-1`` or a positive integer.
    """
    if n_jobs is None or (
        isinstance(n_jobs, int) and not isinstance(n_jobs, bool) and n_jobs == -1
    ):
        return available_cores()
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(
            f"n_jobs must be None or -1 (all {available_cores()} cores) or a positive integer "
            f"(a cap on the threads), got {n_jobs!r}"
        )
    return n_jobs


@contextlib.contextmanager
def torch_threads(n_jobs: int | None) -> Iterator[int]:
    """Run the block with ``resolve_jobs(n_jobs)`` torch intra-op threads; restore them after.

    >>> before = torch.get_num_threads()
    >>> with torch_threads(1) as used:
    ...     torch.get_num_threads() == used == 1
    True
    >>> torch.get_num_threads() == before
    True
    """
    threads = resolve_jobs(n_jobs)
    before = torch.get_num_threads()
    if threads != before:
        torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def map_threads(function: Callable[[T], R], items: Iterable[T], n_jobs: int | None) -> list[R]:
    """``[function(item) for item in items]`` on up to ``resolve_jobs(n_jobs)`` threads, in order.

    For independent pieces of work whose heavy parts release the GIL (NumPy products, torch
    kernels, openTSNE's compiled loops), such as the embedding's per-checkpoint affinities and
    quality figures: each piece runs single-threaded inside, and the pieces share the cores, so
    no library spins up threads that compete with each other. One thread runs the plain loop.

    >>> map_threads(lambda x: x * x, range(5), 2)
    [0, 1, 4, 9, 16]
    """
    items = list(items)
    threads = min(resolve_jobs(n_jobs), len(items))
    if threads <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(function, items))


def imap_threads(
    function: Callable[[T], R],
    items: Iterable[T],
    n_jobs: int | None,
    *,
    in_flight: int | None = None,
) -> Iterator[R]:
    """Yield ``function(item)`` for each item, in order, on up to ``resolve_jobs(n_jobs)`` threads.

    Like :func:`map_threads`, but ``items`` is consumed lazily: the next item is taken only
    while fewer than ``in_flight`` (default: the thread count) pieces are running, so at most
    that many items are held at once. For a stream of large pieces (one checkpoint's features
    each) whose work is single-threaded inside: memory grows with ``in_flight``, not with the
    length of the stream. One thread (or ``in_flight=1``) runs the plain loop.

    >>> list(imap_threads(lambda x: x * x, iter(range(5)), 2))
    [0, 1, 4, 9, 16]
    """
    threads = resolve_jobs(n_jobs)
    limit = threads if in_flight is None else max(1, min(in_flight, threads))
    if limit <= 1:
        for item in items:
            yield function(item)
        return
    with ThreadPoolExecutor(max_workers=limit) as pool:
        running: deque = deque()
        for item in items:
            running.append(pool.submit(function, item))
            if len(running) >= limit:
                yield running.popleft().result()
        while running:
            yield running.popleft().result()
