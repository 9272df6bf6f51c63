"""The aligned t-SNE's schedule: reference frame, warm starts that stop on convergence, progress."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from openTSNE.affinity import PerplexityBasedNN
from scipy.spatial.distance import cdist

from linlens_widgets.analysis._quality import knn_graph
from linlens_widgets.analysis._tsne import frame_affinities, tsne_dynamic
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
