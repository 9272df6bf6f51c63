"""One frame's Barnes-Hut t-SNE gradient, shared by a team of threads in fixed row blocks.

openTSNE's :func:`openTSNE.tsne.kl_divergence_bh` builds the quad tree on one thread with the
GIL held, then runs its two compiled loops (the repulsive forces through the tree, the
attractive forces along the affinity graph) one after the other, each an OpenMP fork-join. At
the embedding's sizes one iteration is short (2,000 points, one thread: about 0.6 ms for the
tree, 5 ms repulsive, 1.4 ms attractive), so the serial tree is a tenth of it, and on a busy
machine every fork-join waits for whichever OpenMP thread was descheduled: at a load of 4 on two
cores, openTSNE's gradient on two threads took 45 ms and 21 ms of CPU against 8 ms and 5 ms on
one.

:class:`BarnesHutGradient` computes the same gradient from the same compiled loops, each called
on one thread for a block of rows: the team takes blocks from one queue, so an attractive block
runs while another thread builds the tree, and a descheduled thread holds up one block, not
the iteration; the threads sleep instead of spinning between iterations. The blocks depend
only on the number of points, never on the thread count, and their partial sums are added in
block order: the gradient, hence the layout, is the same bit for bit whatever ``n_jobs``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from openTSNE import _tsne
from openTSNE.quad_tree import QuadTree

__all__ = ["BarnesHutGradient", "row_blocks"]

EPSILON = float(np.finfo(np.float64).eps)
#: Rows per block of the repulsive loop (at least; and at most this many blocks).
_REPEL_ROWS, _REPEL_BLOCKS = 256, 64
#: Rows per block of the attractive loop (at least; and at most this many blocks): one block up
#: to 2,048 points (about 1 ms at 2,000), long enough to cover the tree's build on another thread.
_ATTRACT_ROWS, _ATTRACT_BLOCKS = 2048, 16


def row_blocks(
    n: int, min_rows: int = _REPEL_ROWS, max_blocks: int = _REPEL_BLOCKS
) -> list[tuple[int, int]]:
    """Split ``n`` rows into contiguous blocks that depend on ``n`` alone (never on threads).

    Blocks of at least ``min_rows`` rows (a call costs a few microseconds against about 0.5 ms
    of repulsive work per 256 rows at 2,000 points) and at most ``max_blocks`` of them (enough
    to balance 16 threads).

    >>> row_blocks(600)
    [(0, 256), (256, 512), (512, 600)]
    >>> len(row_blocks(100_000))
    64
    """
    size = max(min_rows, -(-n // max_blocks))
    return [(a, min(a + size, n)) for a in range(0, n, size)]


class BarnesHutGradient:
    """The t-SNE gradient of one frame (Barnes-Hut, Cauchy kernel) on ``n_jobs`` threads.

    Parameters
    ----------
    n_jobs : int
        Threads of the team, the calling thread included (1: everything on the calling thread).
    theta : float, default 0.5
        Barnes-Hut accuracy (openTSNE's default).

    Use as a context manager (or call :meth:`close`) so that the helper threads end.
    """

    def __init__(self, n_jobs: int, theta: float = 0.5):
        if n_jobs < 1:
            raise ValueError(f"n_jobs must be >= 1, got {n_jobs}")
        self.n_jobs = n_jobs
        self.theta = theta
        self._pool = ThreadPoolExecutor(n_jobs - 1) if n_jobs > 1 else None

    def __enter__(self) -> BarnesHutGradient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the helper threads."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __call__(
        self, y: np.ndarray, p: sp.csr_matrix, evaluate: bool = False
    ) -> tuple[float, np.ndarray]:
        """Return the KL divergence (if ``evaluate``, else 0) and gradient of ``y`` for ``p``.

        The same quantities as ``openTSNE.tsne.kl_divergence_bh(y, p, 1, {"theta": theta})``,
        up to the order in which floating-point partial sums are added.

        Order of the work: the attractive blocks first, then the tree, then the repulsive
        blocks. Building the tree holds the GIL, so only a thread already inside a compiled
        loop (which releases it) can work meanwhile: the first thread starts an attractive
        block, the next one builds the tree.
        """
        y = np.ascontiguousarray(y, dtype=np.float64)
        n = y.shape[0]
        pulls = row_blocks(n, _ATTRACT_ROWS, _ATTRACT_BLOCKS)
        pushes = row_blocks(n)
        repulsive = np.zeros_like(y)
        attractive = np.zeros_like(y)
        sum_q = np.zeros(len(pushes))
        sum_p = np.zeros(len(pulls))
        kl = np.zeros(len(pulls))
        built = threading.Event()
        tree: list[QuadTree] = []

        def build() -> None:
            try:
                tree.append(QuadTree(y))
            finally:
                built.set()

        def attract(b: int, a: int, z: int) -> None:
            sum_p[b], kl[b] = _tsne.estimate_positive_gradient_nn(
                p.indices,
                p.indptr[a : z + 1],
                p.data,
                y[a:z],
                y,
                attractive[a:z],
                1,
                num_threads=1,
                should_eval_error=evaluate,
            )

        def repel(b: int, a: int, z: int) -> None:
            built.wait()
            if not tree:  # the build failed: its thread reports the error
                return
            # each block is normalised by its own sum of q; rescaled to the total below
            sum_q[b] = _tsne.estimate_negative_gradient_bh(
                tree[0], y[a:z], repulsive[a:z], self.theta, 1, 1, True
            )

        tasks: list[Callable[[], None]] = [
            lambda b=b, a=a, z=z: attract(b, a, z) for b, (a, z) in enumerate(pulls)
        ]
        tasks.append(build)
        tasks += [lambda b=b, a=a, z=z: repel(b, a, z) for b, (a, z) in enumerate(pushes)]
        self._run(tasks)

        total_q = float(sum_q.sum())
        sizes = [z - a for a, z in pushes]
        repulsive *= np.repeat((sum_q + EPSILON) / (total_q + EPSILON), sizes)[:, None]
        repulsive += attractive
        value = (
            float(kl.sum()) + float(sum_p.sum()) * np.log(total_q + EPSILON) if evaluate else 0.0
        )
        return value, repulsive

    def _run(self, tasks: list[Callable[[], None]]) -> None:
        """Run ``tasks`` on the team, each once, handed out in order; raise the first error.

        After an error no further task starts; the team's threads are all waited for.
        """
        lock = threading.Lock()
        position = [0]
        errors: list[BaseException] = []

        def drain() -> None:
            while True:
                with lock:
                    i = len(tasks) if errors else position[0]
                    position[0] += 1
                if i >= len(tasks):
                    return
                try:
                    tasks[i]()
                except BaseException as error:  # handed to the calling thread below
                    with lock:
                        errors.append(error)
                    return

        helpers: list[Future[None]] = []
        if self._pool is not None:
            helpers = [self._pool.submit(drain) for _ in range(self.n_jobs - 1)]
        drain()
        for helper in helpers:
            helper.result()
        if errors:
            raise errors[0]
