"""The aligned t-SNE's schedule: reference frame, warm starts that stop on convergence, progress."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from openTSNE.affinity import PerplexityBasedNN
from scipy.spatial.distance import cdist

from linlens_widgets.analysis import _tsne
from linlens_widgets.analysis._quality import knn_graph
from linlens_widgets.analysis._tsne import (
    RESTART_OVERLAP,
    affinity_overlap,
    frame_affinities,
    tsne_dynamic,
    use_fft,
)
from linlens_widgets.analysis.embed import _TsneBar

N_ITER = 300


class Recorder:
    """A :class:`~linlens_widgets.analysis._tsne.Progress` that records each stage's iterations."""

    def __init__(self) -> None:
        self.stages: list[tuple[str, int, int]] = []

    def stage(self, name: str, budget: int) -> None:
        self.stages.append((name, budget, 0))

    def advance(self, iterations: int) -> None:
        name, budget, used = self.stages[-1]
        self.stages[-1] = (name, budget, used + iterations)

    def finish(self) -> None:
        pass


def _rotated_copies(x: np.ndarray, n: int, seed: int = 5) -> list[np.ndarray]:
    """The same geometry ``n`` times, each in its own random orthonormal coordinates."""
    rng = np.random.default_rng(seed)
    return [x @ np.linalg.qr(rng.normal(size=(x.shape[1], x.shape[1])))[0] for _ in range(n)]


def test_warm_started_frames_stop_early_and_keep_the_reference_orientation(drifting):
    x, _ = drifting
    reduced = _rotated_copies(x[0], 3)
    frames = [frame_affinities(r, 10) for r in reduced]
    progress = Recorder()
    layout = tsne_dynamic(reduced, frames, 0.01, n_iter=N_ITER, progress=progress)

    names = [name for name, _, _ in progress.stages]
    assert names == [
        "frame 3/3 (reference)",
        "frame 2/3 (warm start)",
        "frame 1/3 (warm start)",
        "frame 1/3 (refine)",
        "frame 2/3 (refine)",
        "frame 3/3 (refine)",
    ]
    reference, *warm = progress.stages
    assert reference[2] == N_ITER  # the reference runs the full schedule
    # identical geometry: every warm-started and refined frame converges at once
    assert all(used < budget / 2 for _, budget, used in warm)
    # no flip or rotation: the raw coordinates of every frame are the reference's
    scale = np.abs(layout[-1]).max()
    assert np.abs(layout[0] - layout[-1]).max() < 0.02 * scale
    assert np.abs(layout[1] - layout[-1]).max() < 0.02 * scale


def test_a_mirrored_checkpoint_is_not_flipped(drifting):
    x, _ = drifting
    reduced = [x[0], -x[0]]  # a reflection of the features: same geometry, mirrored coordinates
    frames = [frame_affinities(r, 10) for r in reduced]
    layout = tsne_dynamic(reduced, frames, 0.01, n_iter=N_ITER)
    scale = np.abs(layout[-1]).max()
    assert np.abs(layout[0] - layout[1]).max() < 0.02 * scale


def test_zero_tolerance_runs_every_stage_to_its_budget(drifting):
    x, _ = drifting
    frames = [frame_affinities(r, 10) for r in x[:2]]
    progress = Recorder()
    tsne_dynamic(list(x[:2]), frames, 0.01, n_iter=60, tol=0.0, progress=progress)
    assert [used for _, _, used in progress.stages] == [60, 60, 60, 60]


def test_a_changed_geometry_takes_longer_than_an_unchanged_one(drifting):
    x, _ = drifting
    rng = np.random.default_rng(1)  # other clusters: every neighbourhood changes
    other = np.repeat(rng.normal(0.0, 4.0, (3, 10)), 30, axis=0) + rng.normal(size=(90, 10))
    other = rng.permutation(other).astype(np.float32)
    used = {}
    for name, first in (("changed", other), ("unchanged", x[0])):
        reduced = [first, x[0]]
        progress = Recorder()
        frames = [frame_affinities(r, 10) for r in reduced]
        tsne_dynamic(reduced, frames, 0.01, n_iter=N_ITER, progress=progress)
        used[name] = progress.stages[1][2]  # the warm-started frame
    assert used["changed"] > used["unchanged"]


def test_bad_schedule_arguments_name_the_problem(drifting):
    x, _ = drifting
    frames = [frame_affinities(r, 10) for r in x[:2]]
    with pytest.raises(ValueError, match="tol must be >= 0"):
        tsne_dynamic(list(x[:2]), frames, 0.01, tol=-1.0)
    with pytest.raises(ValueError, match="n_iter must be >= 2"):
        tsne_dynamic(list(x[:2]), frames, 0.01, n_iter=1)


def test_knn_graph_is_exact():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 7)).astype(np.float32)
    neighbours, distances = knn_graph(x, 9)
    d = cdist(x.astype(np.float64), x.astype(np.float64))
    np.fill_diagonal(d, np.inf)
    expected = np.argsort(d, axis=1, kind="stable")[:, :9]
    np.testing.assert_array_equal(neighbours, expected)
    np.testing.assert_allclose(distances, np.take_along_axis(d, expected, axis=1), rtol=1e-4)


def test_frame_affinities_match_opentsne_exact_neighbours(drifting):
    x, _ = drifting
    ours = frame_affinities(x[0], 10)
    theirs = PerplexityBasedNN(x[0].astype(np.float64), perplexity=10, method="exact").P
    theirs = sp.csr_matrix(theirs / theirs.sum())
    assert ours.sum() == pytest.approx(1.0)
    assert abs(ours - ours.T).max() < 1e-12
    np.testing.assert_allclose(ours.toarray(), theirs.toarray(), atol=1e-6)


def test_progress_bar_ends_at_the_iterations_run_and_does_not_stay(drifting):
    x, _ = drifting
    reduced = _rotated_copies(x[0], 3)
    frames = [frame_affinities(r, 10) for r in reduced]
    with _TsneBar(disable=False) as bar:
        tsne_dynamic(reduced, frames, 0.01, n_iter=N_ITER, progress=bar)
        assert bar.bar.n == bar.bar.total < 6 * N_ITER  # early stops gave budget back
        assert "frame 3/3 (refine)" in bar.bar.desc
    assert bar.bar.leave is False


def _shuffled_within_clusters(x: np.ndarray, labels: np.ndarray, seed: int = 3) -> np.ndarray:
    """The same clusters, each point moved to another point's place in its own cluster.

    Every neighbourhood changes, the arrangement of the clusters does not.
    """
    rng = np.random.default_rng(seed)
    order = np.arange(len(x))
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        order[members] = rng.permutation(members)
    return x[order]


def test_a_frame_whose_neighbourhoods_changed_restarts_and_keeps_the_orientation(
    drifting, monkeypatch
):
    x, labels = drifting
    last = x[0]
    first = _shuffled_within_clusters(last, labels)
    frames = [frame_affinities(r, 10) for r in (first, last)]
    assert affinity_overlap(frames[0], frames[1]) < RESTART_OVERLAP
    assert affinity_overlap(frames[1], frames[1]) == pytest.approx(1.0)

    restarted: list[int] = []
    real_restart = _tsne._restart

    def spy(chain, t, *args, **kwargs):
        restarted.append(t)
        return real_restart(chain, t, *args, **kwargs)

    monkeypatch.setattr(_tsne, "_restart", spy)
    layout = tsne_dynamic([first, last], frames, 0.01, n_iter=N_ITER)
    assert restarted == [0]
    # no flip or rotation: each cluster sits where it sat in the next frame
    centres = [np.stack([y[labels == c].mean(axis=0) for c in range(3)]) for y in layout]
    gaps = np.linalg.norm(centres[0][:, None] - centres[1][None], axis=2)
    np.testing.assert_array_equal(gaps.argmin(axis=1), np.arange(3))

    tsne_dynamic([last, last], [frames[1], frames[1]], 0.01, n_iter=N_ITER)
    assert restarted == [0]  # an unchanged frame is warm-started, not restarted


def test_fft_gradients_only_for_large_compact_layouts():
    rng = np.random.default_rng(0)
    compact = rng.normal(0.0, 1e-4, (_tsne._FFT_FROM, 2))
    assert use_fft(compact)
    assert not use_fft(compact * 1e6)  # a converged layout's extent: Barnes-Hut is cheaper
    assert not use_fft(compact[: _tsne._FFT_FROM - 1])  # below openTSNE's FFT size


def test_knn_graph_is_exact_far_from_the_origin_and_with_many_candidates():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 5)) + 1e4  # a large common offset: single-precision rounding
    neighbours, _ = knn_graph(x, 40)
    d = cdist(x, x)
    np.fill_diagonal(d, np.inf)
    np.testing.assert_array_equal(neighbours, np.argsort(d, axis=1, kind="stable")[:, :40])
