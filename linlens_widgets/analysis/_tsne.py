"""t-SNE over checkpoints with openTSNE: independent frames, or dynamic t-SNE (aligned frames).

Dynamic t-SNE (Rauber, Falcão & Telea, 2016)
--------------------------------------------
All ``E`` frames are optimised together. The cost is the sum of every frame's own t-SNE
objective (its perplexity affinities ``P_t``, its own repulsion: frames never push each other
around) plus a movement penalty

    ``lambda / 2 * sum_t sum_i ||y_i@t - y_i@t+1||^2``,  ``lambda = coupling / N``,

so a sample moves between consecutive checkpoints only when its neighbourhoods change enough to
pay for it. A point's affinities sum to about ``1 / N``, so ``coupling`` is the spring stiffness
relative to a point's total within-frame attraction. openTSNE supplies the per-frame gradients
(Barnes-Hut below 10,000 points, FFT interpolation above) and the optimiser (gains, momentum,
early exaggeration, which also scales the penalty); the callable objective below combines them.
Every frame starts from the PCA initialisation of the *last* checkpoint, so all frames share one
coordinate system from the first iteration: no mirror flips or rotations between frames.

Independent frames (``align=False``, the baseline) run one ordinary openTSNE per checkpoint from
its own PCA initialisation; their orientation is arbitrary from frame to frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
from openTSNE import TSNEEmbedding
from openTSNE.affinity import PerplexityBasedNN, PrecomputedAffinities
from openTSNE.initialization import pca as pca_init
from openTSNE.tsne import kl_divergence_bh, kl_divergence_fft

ProgressFn = Callable[[int], None]

EARLY_EXAGGERATION = 12.0
_EARLY_MOMENTUM = 0.5
_FINAL_MOMENTUM = 0.8
_FFT_ABOVE = 10_000
_TICK = 25


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
        Seed of the approximate neighbour search (exact search is used below 1,000 points).
    n_jobs : int, default 1
        Threads for the neighbour search.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(N, N)`` affinities ``P`` with ``P.sum() == 1``.
    """
    n = reduced.shape[0]
    aff = PerplexityBasedNN(
        np.ascontiguousarray(reduced, dtype=np.float64),
        perplexity=perplexity,
        k_neighbors=min(n - 1, int(3 * perplexity)),
        n_jobs=n_jobs,
        random_state=seed,
    )
    p = sp.csr_matrix(aff.P, dtype=np.float64)
    return sp.csr_matrix(p / p.sum())


def initial_layout(reduced: np.ndarray, seed: int = 0) -> np.ndarray:
    """Start a layout at the PCA of one frame's features (openTSNE's scheme: std 1e-4)."""
    return pca_init(np.ascontiguousarray(reduced, dtype=np.float64), 2, random_state=seed)


def _ticker(on_iterations: ProgressFn | None) -> dict:
    """Build the openTSNE callback keywords that report progress every few iterations."""
    if on_iterations is None:
        return {}

    def callback(iteration: int, error: float, embedding: np.ndarray) -> bool:
        on_iterations(_TICK)
        return False

    return {"callbacks": callback, "callbacks_every_iters": _TICK}


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
    on_iterations: ProgressFn | None = None,
) -> np.ndarray:
    """One ordinary openTSNE per checkpoint from its own PCA initialisation.

    Returns
    -------
    np.ndarray
        ``(E, N, 2)`` float64 positions, each frame in its own arbitrary orientation.
    """
    n_early, n_late = _phases(n_iter)
    out = []
    for x, p in zip(reduced, frames, strict=True):
        emb = TSNEEmbedding(
            initial_layout(x, seed),
            PrecomputedAffinities(p, normalize=False),
            negative_gradient_method="auto",
            random_state=seed,
            n_jobs=n_jobs,
            **_ticker(on_iterations),
        )
        emb.optimize(
            n_early, exaggeration=EARLY_EXAGGERATION, momentum=_EARLY_MOMENTUM, inplace=True
        )
        emb.optimize(n_late, exaggeration=1.0, momentum=_FINAL_MOMENTUM, inplace=True)
        out.append(np.asarray(emb, dtype=np.float64))
    return np.stack(out)


class _DynamicObjective:
    """Per-frame t-SNE gradients plus the movement penalty, in openTSNE's objective signature.

    openTSNE's optimiser exaggerates the affinity matrix it is given in place; the factor is
    read back from that matrix's sum, so the per-frame affinities and the penalty are
    exaggerated alike.
    """

    def __init__(self, frames: Sequence[sp.csr_matrix], coupling: float):
        self.frames = list(frames)
        self.n = frames[0].shape[0]
        self.lam = coupling / self.n
        self.total = float(sum(p.data.sum() for p in frames))
        self._scaled: tuple[float, list[sp.csr_matrix]] = (1.0, self.frames)

    def _frames_at(self, exaggeration: float) -> list[sp.csr_matrix]:
        if self._scaled[0] != exaggeration:
            self._scaled = (exaggeration, [p * exaggeration for p in self.frames])
        return self._scaled[1]

    def __call__(
        self,
        embedding: np.ndarray,
        P: sp.csr_matrix,
        dof: float,
        bh_params: dict,
        fft_params: dict,
        n_jobs: int = 1,
        should_eval_error: bool = False,
        **_: object,
    ) -> tuple[float, np.ndarray]:
        exaggeration = round(float(P.data.sum()) / self.total, 6)
        n_frames = len(self.frames)
        y = np.asarray(embedding).reshape(n_frames, self.n, -1)
        grad = np.empty_like(y)
        error = 0.0
        gradient_fn = kl_divergence_bh if self.n < _FFT_ABOVE else kl_divergence_fft
        for t, p in enumerate(self._frames_at(exaggeration)):
            err, grad[t] = gradient_fn(
                np.ascontiguousarray(y[t]),
                p,
                dof,
                bh_params=bh_params,
                fft_params=fft_params,
                n_jobs=n_jobs,
                should_eval_error=should_eval_error,
            )
            error += float(err) / n_frames
        if self.lam > 0 and n_frames > 1:
            pull = (y[:-1] - y[1:]) * (self.lam * exaggeration)
            grad[:-1] += pull
            grad[1:] -= pull
        return error, grad.reshape(embedding.shape)


def tsne_dynamic(
    reduced: Sequence[np.ndarray],
    frames: Sequence[sp.csr_matrix],
    coupling: float,
    *,
    n_iter: int = 750,
    seed: int = 0,
    n_jobs: int = 1,
    on_iterations: ProgressFn | None = None,
) -> np.ndarray:
    """Dynamic t-SNE of all frames at once (see the module docstring).

    Parameters
    ----------
    reduced : sequence of np.ndarray
        Per-checkpoint ``(N, d)`` features; only the last is used (for the initialisation).
    frames : sequence of scipy.sparse.csr_matrix
        Per-checkpoint ``(N, N)`` affinities from :func:`frame_affinities`.
    coupling : float
        Movement-penalty stiffness (>= 0); 0 optimises the frames independently from a shared
        start.
    n_iter : int, default 750
        Iterations, a third of them with early exaggeration.
    seed : int, default 0
        Random state handed to openTSNE.
    n_jobs : int, default 1
        Threads for the gradient.
    on_iterations : callable, optional
        Called with the number of iterations done since the last call (for a progress bar).

    Returns
    -------
    np.ndarray
        ``(E, N, 2)`` float64 positions in one shared coordinate system.
    """
    if coupling < 0:
        raise ValueError(f"coupling must be >= 0, got {coupling}")
    n_frames, n = len(frames), frames[0].shape[0]
    start = initial_layout(reduced[-1], seed)
    init = np.ascontiguousarray(np.concatenate([start] * n_frames))
    n_early, n_late = _phases(n_iter)
    emb = TSNEEmbedding(
        init,
        PrecomputedAffinities(sp.block_diag(frames, format="csr"), normalize=False),
        negative_gradient_method=_DynamicObjective(frames, coupling),
        random_state=seed,
        n_jobs=n_jobs,
        **_ticker(on_iterations),
    )
    # openTSNE's "auto" learning rate would use E*N points; each frame has N.
    emb.optimize(
        n_early,
        exaggeration=EARLY_EXAGGERATION,
        momentum=_EARLY_MOMENTUM,
        learning_rate=n / EARLY_EXAGGERATION,
        inplace=True,
    )
    emb.optimize(
        n_late,
        exaggeration=1.0,
        momentum=_FINAL_MOMENTUM,
        learning_rate=float(n),
        inplace=True,
    )
    return np.asarray(emb, dtype=np.float64).reshape(n_frames, n, 2)
