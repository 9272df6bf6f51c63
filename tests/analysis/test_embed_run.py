"""``embed`` and the metrics on a real (small) digits run: caching, errors, the paper's finding."""

from __future__ import annotations

import numpy as np
import pytest

import linlens_widgets as ll
from linlens_widgets.analysis import metrics
from linlens_widgets.analysis.store import AnalysisStore
from linlens_widgets.analysis.weights import run_weights

pytestmark = pytest.mark.slow

FAST = {"perplexity": 10, "n_iter": 150, "progress": False}


def test_embed_run_is_cached_in_the_run_and_recomputed_when_parameters_change(digits_run):
    run = digits_run
    traj = ll.embed(run, **FAST)
    assert traj.positions.shape == (4, 240, 2)
    np.testing.assert_array_equal(traj.checkpoint_ids, [0, 1, 2, 3])
    np.testing.assert_allclose(traj.epochs, [c.epoch for c in run.checkpoints])
    np.testing.assert_array_equal(traj.labels, run.probe_labels.numpy())
    arrays, meta = AnalysisStore(run).get("trajectory")
    np.testing.assert_array_equal(arrays["positions"], traj.positions)
    assert meta["method"] == "tsne" and meta["perplexity"] == 10.0

    # same parameters: returned from the analysis store (a marker written there comes back)
    marked = dict(arrays, kl=np.full(4, 123.0))
    AnalysisStore(run).put("trajectory", marked, meta)
    assert ll.embed(run, **FAST).kl[0] == 123.0
    # recompute=True, or different parameters, compute afresh
    assert ll.embed(run, recompute=True, **FAST).kl[0] != 123.0
    pca = ll.embed(run, method="pca", progress=False)
    assert pca.method == "pca" and AnalysisStore(run).get("trajectory")[1]["method"] == "pca"
    sub = ll.embed(run, checkpoints=[0, 3], method="pca", progress=False)
    np.testing.assert_array_equal(sub.checkpoint_ids, [0, 3])


def test_embed_run_errors(digits_run):
    with pytest.raises(ValueError, match=r"N=240 .* perplexity=100"):
        ll.embed(digits_run, perplexity=100, recompute=True, progress=False)
    with pytest.raises(ValueError, match="out of range"):
        ll.embed(digits_run, checkpoints=[7], progress=False)

    class Empty:
        def __init__(self) -> None:
            self.checkpoints: list = []

    with pytest.raises(ValueError, match="no checkpoints"):
        ll.embed(Empty(), progress=False)


def test_training_raises_intra_class_and_lowers_inter_class_similarity(digits_run):
    sims = metrics.over_run(digits_run, metrics.class_similarity, progress=False)
    intra, inter = sims.stack("intra"), sims.stack("inter")
    assert intra[-1] > intra[0] + 0.1
    assert inter[-1] < inter[0]
    raw = metrics.class_similarity(
        run_weights(digits_run).effective_weights(-1),
        digits_run.probe_labels,
        centered=False,
    )
    # the uncentred cosines are dominated by the shared component: the finding is hidden there
    assert raw.inter > 0.5


def test_saved_run_reopens_its_trajectory_without_recomputing(digits_run, tmp_path, monkeypatch):
    from linlens_widgets.analysis import embed as embed_module

    traj = ll.embed(digits_run, method="pca", progress=False)
    digits_run.save(tmp_path / "run")
    loaded = ll.Run.load(tmp_path / "run")

    def refuse(*args, **kwargs):
        raise AssertionError("recomputed although a matching trajectory was saved")

    monkeypatch.setattr(embed_module, "embed_features", refuse)
    again = ll.embed(loaded, method="pca", progress=False)
    np.testing.assert_array_equal(again.positions, traj.positions)
    np.testing.assert_array_equal(again.epochs, traj.epochs)
    with pytest.raises(AssertionError, match="recomputed"):
        ll.embed(loaded, method="pca", seed=1, progress=False)
