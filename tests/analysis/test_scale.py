"""The paper's setting on one machine: every core used by default, W_eff never held whole.

The memory test runs the whole product path at a reduced size (a digits MLP, 120 probes) with the
engine's chunk budget set below one checkpoint's W_eff, and spies on the engine: no call may ask
it for the W_eff of the whole probe at once. Before the streamed reductions, the sub-cluster
tracking, the page's probe means, its float16 check and the comparison's class means each did.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import linlens_widgets as ll
from linlens_widgets.analysis import _tsne, threads
from linlens_widgets.analysis import embed as embed_module
from linlens_widgets.analysis.subcluster_tracking import track_all_subclusters
from linlens_widgets.analysis.weights import run_weights
from linlens_widgets.lens import effective

pytestmark = pytest.mark.slow  # trains a small run and embeds it (~20-40 s)

N_PROBE = 120


@pytest.fixture(scope="module")
def small_run():
    """A bias-free digits MLP with three checkpoints and a 120-sample probe."""
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [32, 32], data.n_classes, bias=False, seed=0)
    return ll.train(
        model, data, epochs=3, checkpoints=[0, 1, 3], probe=N_PROBE, progress=False, seed=0
    )


def _four_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)


def test_embedding_uses_every_core_by_default(small_run, monkeypatch):
    _four_cores(monkeypatch)
    seen: list[tuple[str, int]] = []

    def spy(name, real):
        def call(*args, **kwargs):
            seen.append((name, kwargs["n_jobs"]))
            return real(*args, **kwargs)

        return call

    # the aligned t-SNE's gradient team (Barnes-Hut) or openTSNE's FFT gradient; openTSNE's
    # own optimiser for independent frames
    for name in ("BarnesHutGradient", "kl_divergence_fft", "TSNEEmbedding"):
        monkeypatch.setattr(_tsne, name, spy(name, getattr(_tsne, name)))
    # the per-checkpoint pieces (affinities, KL, recall) share the cores as a thread map
    mapped: list[int | None] = []
    real_map = embed_module.map_threads

    def map_spy(function, items, n_jobs):
        mapped.append(n_jobs)
        return real_map(function, items, n_jobs)

    monkeypatch.setattr(embed_module, "map_threads", map_spy)
    ll.embed(small_run, recompute=True, progress=False, n_iter=30)
    assert ("BarnesHutGradient", 4) in seen
    ll.embed(small_run, recompute=True, progress=False, n_iter=30, align=False)
    assert ("TSNEEmbedding", 4) in seen
    assert {n_jobs for _, n_jobs in seen} == {4}
    assert len(mapped) >= 3 and set(mapped) == {4}


def test_n_jobs_caps_the_threads(small_run, monkeypatch):
    _four_cores(monkeypatch)
    seen: list[int] = []
    real = _tsne.BarnesHutGradient

    def spy(*args, **kwargs):
        seen.append(kwargs["n_jobs"])
        return real(*args, **kwargs)

    monkeypatch.setattr(_tsne, "BarnesHutGradient", spy)
    ll.embed(small_run, recompute=True, progress=False, n_iter=30, n_jobs=1)
    assert seen and set(seen) == {1}


def test_features_run_on_every_core_and_restore_torch_threads(small_run, monkeypatch):
    _four_cores(monkeypatch)
    before = torch.get_num_threads()
    used: list[int] = []
    real = effective.weight_features

    def spy(*args, **kwargs):
        used.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr("linlens_widgets.analysis.weights.weight_features", spy)
    weights = run_weights(small_run)
    weights.cache.clear()
    weights.weight_features(0)
    weights.weight_features(1, n_jobs=2)
    assert used == [4, 2]
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_bad_n_jobs_is_refused(bad):
    with pytest.raises(ValueError, match="n_jobs must be None or -1"):
        threads.resolve_jobs(bad)


def test_no_step_holds_a_whole_checkpoints_weff(small_run, tmp_path, monkeypatch):
    """Embedding, sub-clusters, comparison and the saved page stream W_eff in bounded chunks."""
    weights = run_weights(small_run)
    weights.cache.clear()
    one_checkpoint = N_PROBE * 10 * 64 * 4
    monkeypatch.setattr(weights, "chunk_bytes", one_checkpoint // 3)
    asked: list[int] = []
    real_run = effective._Engine.run

    def spy_run(self, **kwargs):
        for start, chunk in real_run(self, **kwargs):
            asked.append(len(chunk))
            yield start, chunk

    monkeypatch.setattr(effective._Engine, "run", spy_run)

    traj = ll.embed(small_run, recompute=True, progress=False, n_iter=30)
    track_all_subclusters(small_run, cache=False, progress=False)
    explorer = ll.LensExplorer(small_run, trajectory=traj, panel=False, class_means=True)
    compare = explorer.compare
    compare.class_means(0)
    compare.probe_mean(1)
    compare.operand_weight(list(range(50)), 2)
    explorer.save_html(tmp_path / "page.html")

    assert asked, "the engine was never asked for W_eff"
    assert max(asked) < N_PROBE, f"a whole checkpoint's W_eff was computed ({max(asked)} rows)"


def test_streamed_means_equal_the_whole_tensors(small_run):
    weights = run_weights(small_run)
    weights.cache.clear()
    weights.chunk_bytes = 7 * 10 * 64 * 4  # chunks of 7 samples
    try:
        groups = np.arange(N_PROBE) % 5 - 1  # -1 leaves a fifth out
        streamed = weights.group_means(1, groups, 4).numpy()
        mean = weights.probe_mean(1).numpy()
        whole = weights.effective_weights(1).weight.double().numpy()
    finally:
        weights.chunk_bytes = 64 << 20
    expected = np.stack([whole[groups == g].mean(axis=0) for g in range(4)])
    np.testing.assert_allclose(streamed, expected, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(mean, whole.mean(axis=0), rtol=1e-5, atol=1e-8)


def test_thread_map_runs_pieces_at_once_and_keeps_their_order():
    import threading

    meet = threading.Barrier(2, timeout=10)  # both pieces must be running at the same time

    def piece(i: int) -> int:
        meet.wait()
        return i * 10

    assert threads.map_threads(piece, [1, 2], 2) == [10, 20]
    assert threads.map_threads(lambda i: -i, range(4), 1) == [0, -1, -2, -3]
    assert threads.map_threads(lambda i: i, [], 2) == []


def test_lazy_thread_map_runs_pieces_at_once_and_holds_at_most_in_flight_items():
    import threading

    meet = threading.Barrier(2, timeout=10)  # the first two pieces must run at the same time
    taken: list[int] = []
    held: list[int] = []

    def stream():
        for i in range(6):
            taken.append(i)
            yield i

    def piece(i: int) -> int:
        if i < 2:
            meet.wait()
        held.append(len(taken) - i)  # items taken from the stream and not yet finished
        return i * 10

    assert list(threads.imap_threads(piece, stream(), 4, in_flight=2)) == [0, 10, 20, 30, 40, 50]
    assert max(held) <= 2
    assert list(threads.imap_threads(lambda i: -i, iter(range(3)), 1)) == [0, -1, -2]
    assert list(threads.imap_threads(lambda i: i, iter([]), 2)) == []


def test_lazy_thread_map_raises_a_piece_s_error():
    def piece(i: int) -> int:
        if i == 2:
            raise ValueError("piece 2 is bad")
        return i

    with pytest.raises(ValueError, match="piece 2 is bad"):
        list(threads.imap_threads(piece, iter(range(5)), 2))
