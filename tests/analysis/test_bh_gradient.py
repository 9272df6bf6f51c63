"""The aligned t-SNE's Barnes-Hut gradient, shared by a team of threads in fixed row blocks."""

from __future__ import annotations

import doctest
import itertools
import threading

import numpy as np
import pytest
from openTSNE.tsne import kl_divergence_bh

from linlens_widgets.analysis import _bh_gradient
from linlens_widgets.analysis._bh_gradient import BarnesHutGradient, row_blocks
from linlens_widgets.analysis._tsne import frame_affinities

N = 1_100  # five repulsive blocks of at most 256 rows


@pytest.fixture(scope="module")
def frame() -> tuple[np.ndarray, object]:
    """A spread 2-D layout and the perplexity affinities of 10-D clustered points."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0.0, 5.0, (4, 10))
    x = centres[rng.integers(0, 4, N)] + rng.normal(size=(N, 10))
    layout = x[:, :2] * 3.0 + rng.normal(size=(N, 2))
    return np.ascontiguousarray(layout), frame_affinities(x, 30)


@pytest.mark.parametrize("n_jobs", [1, 2, 3])
def test_gradient_and_kl_match_opentsne(frame, n_jobs):
    y, p = frame
    kl_ref, grad_ref = kl_divergence_bh(y, p, 1, bh_params={"theta": 0.5}, should_eval_error=True)
    with BarnesHutGradient(n_jobs=n_jobs) as gradient:
        kl, grad = gradient(y, p, evaluate=True)
        kl_off, grad_off = gradient(y, p)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-9, atol=1e-12 * np.abs(grad_ref).max())
    assert kl == pytest.approx(kl_ref, rel=1e-9)
    np.testing.assert_array_equal(grad_off, grad)
    assert kl_off == 0.0


def test_the_result_does_not_depend_on_the_thread_count(frame):
    y, p = frame
    results = []
    for n_jobs in (1, 2, 4):
        with BarnesHutGradient(n_jobs=n_jobs) as gradient:
            results.append(gradient(y, p, evaluate=True))
    for kl, grad in results[1:]:
        assert kl == results[0][0]
        np.testing.assert_array_equal(grad, results[0][1])


def test_two_threads_share_the_blocks(frame, monkeypatch):
    y, p = frame
    meet = threading.Barrier(2, timeout=10)  # the first two repulsive blocks run at the same time
    lock = threading.Lock()
    calls: list[int] = []
    real = _bh_gradient._tsne.estimate_negative_gradient_bh

    def repel(*args):
        with lock:
            calls.append(threading.get_ident())
            first_two = len(calls) <= 2
        if first_two:
            meet.wait()
        return real(*args)

    monkeypatch.setattr(_bh_gradient._tsne, "estimate_negative_gradient_bh", repel)
    with BarnesHutGradient(n_jobs=2) as gradient:
        gradient(y, p)
    assert len(calls) == len(row_blocks(N))
    assert len(set(calls[:2])) == 2


def test_a_failing_tree_is_raised_not_waited_for(frame, monkeypatch):
    y, p = frame

    def broken(data):
        raise MemoryError("no room for the tree")

    monkeypatch.setattr(_bh_gradient, "QuadTree", broken)
    with BarnesHutGradient(n_jobs=2) as gradient, pytest.raises(MemoryError, match="tree"):
        gradient(y, p)


def test_blocks_cover_the_rows_once_and_ignore_threads():
    for n in (1, 255, 256, 2_000, 10_000, 100_001):
        blocks = row_blocks(n)
        assert blocks[0][0] == 0 and blocks[-1][1] == n
        assert all(a < z for a, z in blocks)
        assert all(z == a2 for (_, z), (a2, _) in itertools.pairwise(blocks))
        assert len(blocks) <= 64
    assert doctest.testmod(_bh_gradient).failed == 0


def test_bad_thread_count_is_refused():
    with pytest.raises(ValueError, match="n_jobs must be >= 1"):
        BarnesHutGradient(n_jobs=0)
