"""t-SNE over checkpoints with openTSNE: independent frames, or dynamic t-SNE (aligned frames).

Dynamic t-SNE (Rauber, Falcão & Telea, 2016)
--------------------------------------------
The layouts of all ``E`` frames minimise one cost: the sum of every frame's own t-SNE objective
(its perplexity affinities ``P_t``, its own repulsion: frames never push each other around)
plus a movement penalty

    ``lambda / 2 * sum_t sum_i ||y_i@t - y_i@t+1||^2``,  ``lambda = coupling / N``,

so a sample moves between consecutive checkpoints only when its neighbourhoods change enough to
pay for it. A point's affinities sum to about ``1 / N``, so ``coupling`` is the spring stiffness
relative to a point's total within-frame attraction. openTSNE's compiled loops supply the
per-frame gradients: Barnes-Hut, shared by the ``n_jobs`` threads in fixed row blocks (see
:mod:`linlens_widgets.analysis._bh_gradient`: the same gradient whatever the thread count), except
from 10,000 points while the layout is compact (extent <= 80), where openTSNE's FFT interpolation
is cheaper (see :func:`use_fft`: a spread layout makes the FFT grid, and its cost, grow with the
square of its extent). The optimiser is openTSNE's gradient descent (per-coordinate gains,
momentum, step clipping), kept per frame here.

Schedule. Neighbouring checkpoints have nearly the same geometry, so only one frame needs the
full t-SNE schedule from scratch; the others start from a layout that is almost right:

1. **Reference**: the last checkpoint, from the PCA initialisation of its features, with
   openTSNE's schedule (a third of ``n_iter`` with early exaggeration, then ordinary iterations).
2. **Warm starts**, backwards in training time: frame ``t`` starts from frame ``t + 1``'s layout
   and minimises its own objective plus the spring to that (fixed) neighbour: a short phase with
   mild exaggeration (``WARM_EARLY_ITER`` iterations at ``WARM_EXAGGERATION``, instead of a third
   of the schedule at 12: the layout is already untangled, only points whose neighbourhoods
   changed need to cross to other clusters; skipped when the affinities are nearly those of the
   successor), then ordinary iterations until it converges. A frame that keeps less than
   ``RESTART_OVERLAP`` of its successor's affinity mass (most neighbourhoods new, as while a
   network first learns) restarts instead: the successor's layout shrunk to the initial size,
   ``RESTART_EARLY_ITER`` iterations of the reference's early exaggeration (no spring: the
   shrunk layout keeps the orientation), then ordinary iterations with the spring until it
   converges. Left in its successor's layout, such a frame stays at a far higher KL divergence.
3. **Refinement sweep**, forwards: each frame again, now with its springs to both neighbours
   (held fixed), until it converges: block-coordinate descent on the full coupled cost, one
   frame at a time, so each frame stops as soon as it has converged instead of paying for the
   slowest one (a joint descent of all frames computes every frame's gradient at every
   iteration: twice the work measured here).

Convergence: every ``25`` iterations the frame's objective (its KL divergence plus its springs)
is evaluated; the frame stops once that fell by less than ``tol`` (relative) over the last
window, and after ``n_iter`` iterations at most.
Every frame descends from the reference layout through its neighbours, so all frames share one
coordinate system: no mirror flips or rotations between frames.

Independent frames (``align=False``, the baseline) run one ordinary openTSNE per checkpoint from
its own PCA initialisation, for the full ``n_iter``; their orientation is arbitrary from frame to
frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import scipy.sparse as sp
from openTSNE import TSNEEmbedding
from openTSNE.affinity import PrecomputedAffinities, joint_probabilities_nn
from openTSNE.initialization import pca as pca_init
from openTSNE.tsne import kl_divergence_fft

from linlens_widgets.analysis._bh_gradient import BarnesHutGradient
from linlens_widgets.analysis._quality import knn_graph

EARLY_EXAGGERATION = 12.0
#: Exaggeration and iterations of a warm-started frame's short untangling phase.
WARM_EXAGGERATION = 4.0
WARM_EARLY_ITER = 50
#: Affinity overlap with the successor from which a warm start skips its exaggerated phase.
SAME_AFFINITIES = 0.95
#: Affinity overlap with the successor below which a frame restarts its early exaggeration.
RESTART_OVERLAP = 0.5
#: Early-exaggeration iterations of a restarted frame.
RESTART_EARLY_ITER = 125
#: Standard deviation of openTSNE's initial layouts (first coordinate).
_INITIAL_STD = 1e-4
#: Default relative decrease of the objective over one check window below which a phase stops.
CONVERGENCE_TOL = 2e-3
_EARLY_MOMENTUM = 0.5
_FINAL_MOMENTUM = 0.8
#: FFT-interpolated gradients only from this many points and up to this layout extent.
_FFT_FROM = 10_000
_FFT_MAX_EXTENT = 80.0
_CHECK_EVERY = 25
_MIN_GAIN = 0.01
_MAX_STEP_NORM = 5.0
_BH_THETA = 0.5
_FFT_PARAMS = {"n_interpolation_points": 3, "min_num_intervals": 50, "ints_in_interval": 1}
#: Exact neighbour search (blocked brute force) up to this many points; Annoy above.
_EXACT_KNN_MAX = 20_000


class Progress(Protocol):
    """What the optimisers report: stages (frames) with an iteration budget, and iterations."""

    def stage(self, name: str, budget: int) -> None:
        """Start a stage that runs at most ``budget`` iterations."""

    def advance(self, iterations: int) -> None:
        """Count ``iterations`` more iterations of the current stage."""

    def finish(self) -> None:
        """End the current stage (possibly before its budget: the rest is dropped)."""


def frame_affinities(
    reduced: np.ndarray, perplexity: float, *, seed: int = 0, n_jobs: int = 1
) -> sp.csr_matrix:
    """Symmetric perplexity-based kNN affinities of one checkpoint, normalised to sum 1.

    Parameters
    ----------
    reduced : np.ndarray
        ``(N, d)`` (PCA-reduced) features of one checkpoint.
    perplexity : float
        t-SNE perplexity; ``3 * perplexity`` neighbours are used (at most ``N - 1``).
    seed : int, default 0
        Seed of the approximate neighbour search (above 20,000 points).
    n_jobs : int, default 1
        Threads for the neighbour search and the perplexity calibration.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(N, N)`` affinities ``P`` with ``P.sum() == 1``.

    Notes
    -----
    Up to 20,000 points the neighbours are exact, from a blocked brute-force search: on
    50 PCA dimensions that is a few dense products, several times faster than building the
    Annoy index openTSNE would use above 1,000 points, and exact. Above, openTSNE's Annoy.
    """
    n = reduced.shape[0]
    k = min(n - 1, int(3 * perplexity))
    if n <= _EXACT_KNN_MAX:
        neighbours, distances = knn_graph(reduced, k)
        p = joint_probabilities_nn(neighbours, distances, [perplexity], n_jobs=n_jobs)
    else:
        from openTSNE.affinity import PerplexityBasedNN

        p = PerplexityBasedNN(
            np.ascontiguousarray(reduced, dtype=np.float64),
            perplexity=perplexity,
            k_neighbors=k,
            n_jobs=n_jobs,
            random_state=seed,
        ).P
    p = sp.csr_matrix(p, dtype=np.float64)
    return sp.csr_matrix(p / p.sum())


def use_fft(layout: np.ndarray) -> bool:
    """Whether ``layout``'s repulsive forces are cheaper by FFT interpolation than by Barnes-Hut.

    The FFT grid has one interval per unit of the layout's extent (at least 50), so its cost
    grows with the square of the extent, while Barnes-Hut's hardly depends on it. Measured at
    N = 10,000 (one thread, openTSNE 1.0.4): Barnes-Hut 0.05-0.07 s per gradient whatever the
    extent; FFT 0.013-0.022 s up to an extent of about 70, 0.042 s at 107 and 0.15 s at 179 (a
    converged layout). openTSNE picks FFT for every iteration from 10,000 points, which suits
    its early exaggeration (a compact layout) but not frames that start from, and stay at, a
    converged layout's extent. So: FFT from ``_FFT_FROM`` points while the extent is at most
    ``_FFT_MAX_EXTENT``, Barnes-Hut otherwise.
    """
    if layout.shape[0] < _FFT_FROM:
        return False
    extent = float((layout.max(axis=0) - layout.min(axis=0)).max())
    return extent <= _FFT_MAX_EXTENT


def initial_layout(reduced: np.ndarray, seed: int = 0) -> np.ndarray:
    """Start a layout at the PCA of one frame's features (openTSNE's scheme: std 1e-4)."""
    return pca_init(np.ascontiguousarray(reduced, dtype=np.float64), 2, random_state=seed)


def _phases(n_iter: int) -> tuple[int, int]:
    """Split ``n_iter`` into early-exaggeration (a third) and ordinary iterations."""
    if n_iter < 2:
        raise ValueError(f"n_iter must be >= 2, got {n_iter}")
    n_early = max(1, n_iter // 3)
    return n_early, n_iter - n_early


def tsne_independent(
    reduced: Sequence[np.ndarray],
    frames: Sequence[sp.csr_matrix],
    *,
    n_iter: int = 750,
    seed: int = 0,
    n_jobs: int = 1,
    progress: Progress | None = None,
) -> np.ndarray:
    """One ordinary openTSNE per checkpoint from its own PCA initialisation, ``n_iter`` each.

    Returns
    -------
    np.ndarray
        ``(E, N, 2)`` float64 positions, each frame in its own arbitrary orientation.
    """
    n_early, n_late = _phases(n_iter)
    out = []
    for t, (x, p) in enumerate(zip(reduced, frames, strict=True)):
        if progress is not None:
            progress.stage(f"frame {t + 1}/{len(frames)}", n_iter)
        emb = TSNEEmbedding(
            initial_layout(x, seed),
            PrecomputedAffinities(p, normalize=False),
            negative_gradient_method="auto",
            random_state=seed,
            n_jobs=n_jobs,
            **_ticker(progress),
        )
        emb.optimize(
            n_early, exaggeration=EARLY_EXAGGERATION, momentum=_EARLY_MOMENTUM, inplace=True
        )
        emb.optimize(n_late, exaggeration=1.0, momentum=_FINAL_MOMENTUM, inplace=True)
        out.append(np.asarray(emb, dtype=np.float64))
        if progress is not None:
            progress.finish()
    return np.stack(out)


def _ticker(progress: Progress | None) -> dict:
    """Build the openTSNE callback keywords that report progress every 25 iterations."""
    if progress is None:
        return {}

    def callback(iteration: int, error: float, embedding: np.ndarray) -> bool:
        progress.advance(_CHECK_EVERY)
        return False

    return {"callbacks": callback, "callbacks_every_iters": _CHECK_EVERY}


class _Descent:
    """openTSNE's gradient descent on one frame: per-coordinate gains, momentum, step clipping.

    The same update rule as ``openTSNE.tsne.gradient_descent``, held per frame so that frames
    can start, stop and continue independently.
    """

    def __init__(self, start: np.ndarray):
        self.y = np.array(start, dtype=np.float64, order="C")
        self.update = np.zeros_like(self.y)
        self.gains = np.ones_like(self.y)

    def step(self, gradient: np.ndarray, learning_rate: float, momentum: float) -> None:
        """Move the layout one step against ``gradient`` and re-centre it."""
        flipped = np.sign(self.update) != np.sign(gradient)
        self.gains = np.where(flipped, self.gains + 0.2, self.gains * 0.8 + _MIN_GAIN)
        self.update = momentum * self.update - learning_rate * self.gains * gradient
        norms = np.linalg.norm(self.update, axis=1)
        big = norms > _MAX_STEP_NORM
        self.update[big] *= (_MAX_STEP_NORM / norms[big])[:, None]
        self.y += self.update
        self.y -= self.y.mean(axis=0)


class _Chain:
    """The frames' layouts along training time and the coupled cost that ties them.

    A frame that has not been placed yet (``None``) exerts no spring on its neighbours.
    """

    def __init__(
        self, frames: Sequence[sp.csr_matrix], coupling: float, barnes_hut: BarnesHutGradient
    ):
        self.frames = list(frames)
        self.n = frames[0].shape[0]
        self.lam = coupling / self.n
        self.barnes_hut = barnes_hut
        self.states: list[_Descent | None] = [None] * len(self.frames)
        self._scaled: tuple[tuple[int, float], sp.csr_matrix] | None = None

    def layout(self, t: int) -> np.ndarray:
        state = self.states[t]
        if state is None:
            raise RuntimeError(f"frame {t} has not been placed")
        return state.y

    def affinities(self, t: int, exaggeration: float = 1.0) -> sp.csr_matrix:
        """Frame ``t``'s affinities times ``exaggeration``.

        The last scaled copy is kept (one only, so memory does not grow with the frames): an
        exaggerated phase asks for the same one at every iteration, and a fresh copy of the
        sparse matrix each time was a serial cost that no thread could share.
        """
        if exaggeration == 1.0:
            return self.frames[t]
        key = (t, float(exaggeration))
        if self._scaled is None or self._scaled[0] != key:
            self._scaled = (key, self.frames[t] * exaggeration)
        return self._scaled[1]

    def _placed_neighbours(self, t: int) -> list[np.ndarray]:
        return [
            self.layout(s)
            for s in (t - 1, t + 1)
            if 0 <= s < len(self.frames) and self.states[s] is not None
        ]

    def kl_gradient(
        self, t: int, exaggeration: float = 1.0, evaluate: bool = False
    ) -> tuple[float, np.ndarray]:
        """Frame ``t``'s own t-SNE gradient (and KL divergence when ``evaluate``)."""
        p = self.affinities(t, exaggeration)
        y = self.layout(t)
        if use_fft(y):
            kl, grad = kl_divergence_fft(
                y,
                p,
                1,
                fft_params=_FFT_PARAMS,
                n_jobs=self.barnes_hut.n_jobs,
                should_eval_error=evaluate,
            )
        else:
            kl, grad = self.barnes_hut(y, p, evaluate=evaluate)
        if evaluate and exaggeration != 1.0:
            kl = kl / exaggeration - np.log(exaggeration)
        return float(kl), grad

    def gradient(
        self, t: int, evaluate: bool = False, exaggeration: float = 1.0
    ) -> tuple[float, np.ndarray]:
        """Gradient of frame ``t``'s KL plus its springs to the placed neighbours.

        The value (when ``evaluate``) counts each of those springs in full.
        """
        kl, grad = self.kl_gradient(t, exaggeration, evaluate=evaluate)
        energy = 0.0
        if self.lam > 0:
            y = self.layout(t)
            for other in self._placed_neighbours(t):
                diff = y - other
                grad += self.lam * diff
                if evaluate:
                    energy += 0.5 * self.lam * float((diff**2).sum())
        return kl + energy, grad


class _Stopper:
    """Stops a phase once its objective falls by less than ``tol`` (relative) per check window."""

    def __init__(self, tol: float):
        self.tol = tol
        self.last = np.inf

    def converged(self, objective: float) -> bool:
        """Record the objective of this check; whether the phase has converged (never for 0)."""
        done = self.tol > 0 and self.last - objective < self.tol * abs(objective)
        self.last = objective
        return done


def _reference(
    chain: _Chain, t: int, start: np.ndarray, n_iter: int, progress: Progress | None
) -> None:
    """Optimise frame ``t`` alone with openTSNE's full schedule (early exaggeration first)."""
    n_early, _ = _phases(n_iter)
    state = chain.states[t] = _Descent(start)
    for i in range(n_iter):
        early = i < n_early
        exaggeration = EARLY_EXAGGERATION if early else 1.0
        _, grad = chain.kl_gradient(t, exaggeration)
        state.step(
            grad,
            learning_rate=chain.n / exaggeration,
            momentum=_EARLY_MOMENTUM if early else _FINAL_MOMENTUM,
        )
        _advance(progress)


def affinity_overlap(p: sp.csr_matrix, q: sp.csr_matrix) -> float:
    """Shared affinity mass ``sum(min(P, Q))`` of two frames (1: same graph, 0: disjoint)."""
    return float(p.minimum(q).sum())


def _warm_start(chain: _Chain, t: int, n_iter: int, tol: float, progress: Progress | None) -> int:
    """Place frame ``t`` from its successor's layout, then let it settle; returns iterations.

    How it starts depends on how much of the successor's affinity graph frame ``t`` keeps
    (overlap ``sum(min(P_t, P_t+1))``):

    * ``>= SAME_AFFINITIES``: from the successor's layout as it is; nothing to untangle.
    * ``>= RESTART_OVERLAP``: a short exaggerated phase first (``WARM_EARLY_ITER`` iterations
      at ``WARM_EXAGGERATION``) lets points whose neighbourhoods changed cross to their new
      clusters (plain t-SNE gradients cannot carry them through other clusters), while the
      spring to the successor keeps the orientation.
    * below: most neighbourhoods are new, so the successor's layout would only trap points in
      clusters they no longer belong to. The frame restarts from that layout shrunk to the
      size of openTSNE's initialisation (which keeps its orientation and coarse arrangement)
      with the reference's early exaggeration for ``RESTART_EARLY_ITER`` iterations, then
      expands against its spring like any other frame.
    """
    successor = chain.layout(t + 1)
    overlap = affinity_overlap(chain.frames[t], chain.frames[t + 1])
    if overlap < RESTART_OVERLAP:
        return _restart(chain, t, successor, n_iter, tol, progress)
    state = chain.states[t] = _Descent(successor)
    n_early = min(WARM_EARLY_ITER, n_iter // 3) if overlap < SAME_AFFINITIES else 0
    for _ in range(n_early):
        _, grad = chain.gradient(t, exaggeration=WARM_EXAGGERATION)
        state.step(grad, learning_rate=chain.n / WARM_EXAGGERATION, momentum=_EARLY_MOMENTUM)
        _advance(progress)
    return n_early + _settle(chain, t, n_iter - n_early, tol, progress)


def _restart(
    chain: _Chain,
    t: int,
    successor: np.ndarray,
    n_iter: int,
    tol: float,
    progress: Progress | None,
) -> int:
    """Re-run early exaggeration on frame ``t`` from its successor's layout, shrunk; then settle.

    The exaggerated phase has no spring (the shrunk layout is far from the successor's scale,
    and the phase only decides which cluster each point joins); the settling phase has it.
    """
    state = chain.states[t] = _Descent(shrunk(successor))
    n_early = min(RESTART_EARLY_ITER, n_iter // 3)
    for _ in range(n_early):
        _, grad = chain.kl_gradient(t, EARLY_EXAGGERATION)
        state.step(grad, learning_rate=chain.n / EARLY_EXAGGERATION, momentum=_EARLY_MOMENTUM)
        _advance(progress)
    return n_early + _settle(chain, t, n_iter - n_early, tol, progress)


def shrunk(layout: np.ndarray) -> np.ndarray:
    """``layout`` centred and scaled to openTSNE's initial size (first coordinate's std 1e-4)."""
    y = np.asarray(layout, dtype=np.float64)
    y = y - y.mean(axis=0)
    std = float(y[:, 0].std())
    return y * (_INITIAL_STD / std) if std > 0 else y


def _settle(chain: _Chain, t: int, n_iter: int, tol: float, progress: Progress | None) -> int:
    """Optimise frame ``t`` against its springs to the placed (fixed) neighbours until it converges.

    Returns the iterations run.
    """
    state = chain.states[t]
    assert state is not None
    stopper = _Stopper(tol)
    for i in range(n_iter):
        check = i % _CHECK_EVERY == 0
        value, grad = chain.gradient(t, evaluate=check)
        if check and stopper.converged(value):
            return i
        state.step(grad, learning_rate=float(chain.n), momentum=_FINAL_MOMENTUM)
        _advance(progress)
    return n_iter


def _advance(progress: Progress | None) -> None:
    if progress is not None:
        progress.advance(1)


def tsne_dynamic(
    reduced: Sequence[np.ndarray],
    frames: Sequence[sp.csr_matrix],
    coupling: float,
    *,
    n_iter: int = 750,
    seed: int = 0,
    n_jobs: int = 1,
    tol: float = CONVERGENCE_TOL,
    progress: Progress | None = None,
) -> np.ndarray:
    """Dynamic t-SNE of all frames (see the module docstring for the cost and the schedule).

    Parameters
    ----------
    reduced : sequence of np.ndarray
        Per-checkpoint ``(N, d)`` features; only the last is used (for the initialisation).
    frames : sequence of scipy.sparse.csr_matrix
        Per-checkpoint ``(N, N)`` affinities from :func:`frame_affinities`.
    coupling : float
        Movement-penalty stiffness (>= 0); 0 optimises the frames independently, each started
        from its successor's layout.
    n_iter : int, default 750
        Iterations of the reference frame (a third with early exaggeration); also the most any
        frame may run in the warm start and in the refinement sweep.
    seed : int, default 0
        Seed of the PCA initialisation.
    n_jobs : int, default 1
        Threads for the gradient (the layout does not depend on it at Barnes-Hut sizes).
    tol : float, default 2e-3
        Convergence threshold: relative decrease of the objective per 25 iterations. 0 runs
        every phase for ``n_iter`` iterations.
    progress : Progress, optional
        Told about each frame (stage) and iteration.

    Returns
    -------
    np.ndarray
        ``(E, N, 2)`` float64 positions in one shared coordinate system.
    """
    if coupling < 0:
        raise ValueError(f"coupling must be >= 0, got {coupling}")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    _phases(n_iter)
    with BarnesHutGradient(n_jobs=n_jobs, theta=_BH_THETA) as barnes_hut:
        chain = _Chain(frames, coupling, barnes_hut)
        _schedule(chain, reduced, n_iter, seed, tol, progress)
    return np.stack([chain.layout(t) for t in range(len(frames))])


def _schedule(
    chain: _Chain,
    reduced: Sequence[np.ndarray],
    n_iter: int,
    seed: int,
    tol: float,
    progress: Progress | None,
) -> None:
    """Place the reference frame, warm-start the others backwards, refine them forwards."""
    n_frames, last = len(chain.frames), len(chain.frames) - 1
    _stage(progress, f"frame {n_frames}/{n_frames} (reference)", n_iter)
    _reference(chain, last, initial_layout(reduced[-1], seed), n_iter, progress)
    _finish(progress)
    for t in range(last - 1, -1, -1):
        _stage(progress, f"frame {t + 1}/{n_frames} (warm start)", n_iter)
        _warm_start(chain, t, n_iter, tol, progress)
        _finish(progress)
    for t in range(n_frames if n_frames > 1 else 0):
        _stage(progress, f"frame {t + 1}/{n_frames} (refine)", n_iter)
        _settle(chain, t, n_iter, tol, progress)
        _finish(progress)


def _stage(progress: Progress | None, name: str, budget: int) -> None:
    if progress is not None:
        progress.stage(name, budget)


def _finish(progress: Progress | None) -> None:
    if progress is not None:
        progress.finish()
