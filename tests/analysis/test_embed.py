from __future__ import annotations

import numpy as np
import pytest
import torch

from linlens_widgets.analysis._quality import mean_displacement
from linlens_widgets.analysis.embed import embed_features

FAST = {"perplexity": 10, "n_iter": 150, "progress": False}


def test_aligned_tsne_is_steadier_than_independent_and_keeps_neighbourhoods(drifting):
    x, y = drifting
    aligned = embed_features(x, y, **FAST)
    independent = embed_features(x, y, align=False, **FAST)
    assert aligned.positions.shape == (4, 90, 2) and aligned.positions.dtype == np.float32
    assert np.abs(aligned.positions).max() <= 1.0
    assert mean_displacement(aligned.positions) * 2 < mean_displacement(independent.positions)
    assert aligned.knn_recall.min() > independent.knn_recall.mean() - 0.1
    assert np.all(np.isfinite(aligned.kl)) and np.all(aligned.kl > 0)
    np.testing.assert_array_equal(aligned.labels, y)
    assert aligned.params["align"] is True and aligned.method == "tsne"


def test_coupling_trades_steadiness(drifting):
    x, y = drifting
    loose = embed_features(x, y, coupling=0.0005, **FAST)
    stiff = embed_features(x, y, coupling=0.1, **FAST)
    assert stiff.steadiness() < loose.steadiness()


def test_same_geometry_in_rotated_coordinates_gives_a_still_layout(drifting):
    # identical geometry at every checkpoint, but each frame in its own coordinate system
    x, y = drifting
    rng = np.random.default_rng(5)
    frames = np.stack([x[0] @ np.linalg.qr(rng.normal(size=(10, 10)))[0] for _ in range(3)])
    traj = embed_features(frames, y, **FAST)
    assert traj.steadiness() < 0.02
    # no flip or rotation either: the raw positions (no Procrustes) stay put
    assert np.abs(traj.positions[0] - traj.positions[-1]).max() < 0.05
    pca = embed_features(frames, y, method="pca", progress=False)
    np.testing.assert_allclose(pca.positions[0], pca.positions[2], atol=1e-4)


def test_pca_method_aligns_sign_flips_only_when_asked(drifting):
    x, y = drifting
    flipped = np.stack([x[0], -x[0], x[0]])
    aligned = embed_features(flipped, y, method="pca", progress=False)
    assert aligned.steadiness() < 1e-5
    np.testing.assert_allclose(aligned.positions[0], aligned.positions[1], atol=1e-5)
    assert np.isnan(aligned.kl).all() and (aligned.knn_recall > 0.3).all()


def test_the_thread_count_changes_the_speed_not_the_layout(drifting):
    x, y = drifting
    one = embed_features(x, y, n_jobs=1, **FAST)
    two = embed_features(x, y, n_jobs=2, **FAST)
    np.testing.assert_array_equal(one.positions, two.positions)
    np.testing.assert_array_equal(one.kl, two.kl)
    np.testing.assert_array_equal(one.knn_recall, two.knn_recall)


def test_generator_of_tensors_is_consumed_once(drifting):
    x, y = drifting
    gen = (torch.from_numpy(f) for f in x[:2])
    traj = embed_features(gen, torch.from_numpy(y), method="pca", progress=False)
    assert traj.positions.shape == (2, 90, 2)


def test_bad_input_names_the_problem(drifting):
    x, y = drifting
    with pytest.raises(ValueError, match=r"N=90 .* perplexity=40"):
        embed_features(x, y, perplexity=40, progress=False)
    bad = x.copy()
    bad[2, 5, 3] = np.nan
    with pytest.raises(ValueError, match="checkpoint position 2 contain 1 non-finite"):
        embed_features(bad, y, **FAST)
    with pytest.raises(ValueError, match="no checkpoints"):
        embed_features([], y, **FAST)
    with pytest.raises(ValueError, match="N=80 rows, expected 90"):
        embed_features([x[0], x[1][:80]], y, method="pca", progress=False)
    with pytest.raises(ValueError, match="method must be"):
        embed_features(x, y, method="mds")
    with pytest.raises(ValueError, match="coupling must be >= 0"):
        embed_features(x, y, coupling=-1)


def test_umap_is_refused_with_the_methods_offered(drifting):
    with pytest.raises(ValueError, match=r"method='umap' is not offered.*'tsne'.*'pca'"):
        embed_features(drifting[0], method="umap", progress=False)
    with pytest.raises(ValueError, match="method must be 'tsne' or 'pca'"):
        embed_features(drifting[0], method="isomap", progress=False)
