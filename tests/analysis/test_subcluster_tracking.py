"""Sub-clusters found once and followed through training: persistence, separation, group means."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, silhouette_score

import linlens_widgets as ll
from linlens_widgets.analysis import clustering
from linlens_widgets.analysis import subcluster_tracking as tracking
from linlens_widgets.analysis.store import AnalysisStore
from linlens_widgets.analysis.weights import run_weights
from linlens_widgets.runs.indexing import CheckpointIndexError

C, D = 2, 6  # weights are (N, C, D): two output rows of six inputs


def planted(
    n_frames: int, styled: list[bool], *, sizes: tuple[int, ...] = (20, 15, 12), seed: int = 0
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Per-checkpoint weights of class 1 (sub-groups where ``styled``) and a class-0 blob.

    At a styled checkpoint class 1's samples sit around one centre per group (a rotated, shifted
    copy of the same centres each time, so only the geometry is shared); otherwise they are one
    Gaussian blob. Every checkpoint adds its own small noise.

    Returns ``(weights: E arrays (N, C, D), labels (N,), true group of each class-1 sample)``.
    """
    rng = np.random.default_rng(seed)
    dims = C * D
    truth = np.repeat(np.arange(len(sizes)), sizes)
    n1, n0 = len(truth), 25
    labels = np.array([1] * n1 + [0] * n0)
    centres = rng.normal(0.0, 3.0, (len(sizes), dims))
    offsets = rng.normal(0.0, 0.5, (n1, dims))  # each sample keeps its place within its group
    frames = []
    for styled_here in styled[:n_frames]:
        ones = (centres[truth] if styled_here else 0.0) + offsets
        zeros = rng.normal(5.0, 1.0, (n0, dims))
        points = np.concatenate([ones, zeros]) + rng.normal(0.0, 0.05, (n1 + n0, dims))
        rotation, _ = np.linalg.qr(rng.normal(size=(dims, dims)))
        frames.append((points @ rotation + 1.0).reshape(-1, C, D).astype(np.float32))
    return frames, labels, truth


def test_persistent_groups_are_found_and_followed_at_every_checkpoint() -> None:
    weights, labels, truth = planted(5, [True] * 5)
    track = ll.metrics.track_subclusters_in(weights, labels, 1, epochs=[0, 1, 2, 4, 8])
    assert track.k == 3
    in_class = track.group_ids[labels == 1]
    assert adjusted_rand_score(truth, in_class) == pytest.approx(1.0)
    assert np.all(track.group_ids[labels == 0] == -1)
    np.testing.assert_allclose(track.persistence, 1.0, atol=1e-9)
    assert np.all(track.separation > 0.2)
    assert track.persistence.shape == track.separation.shape == (5,)
    np.testing.assert_array_equal(track.epochs, [0, 1, 2, 4, 8])
    np.testing.assert_array_equal(track.checkpoint_ids, np.arange(5))


def test_the_reference_partition_is_largest_first_with_sorted_members() -> None:
    weights, labels, _ = planted(2, [True, True])
    track = ll.metrics.track_subclusters_in(weights, labels, 1)
    assert track.sizes.tolist() == [20, 15, 12]
    assert [len(m) for m in track.members] == [20, 15, 12]
    assert all(np.all(np.diff(m) > 0) for m in track.members)
    np.testing.assert_array_equal(np.sort(np.concatenate(track.members)), np.arange(47))


def test_groups_planted_only_at_the_end_have_low_persistence_early() -> None:
    weights, labels, truth = planted(5, [False, False, False, True, True])
    track = ll.metrics.track_subclusters_in(weights, labels, 1)
    assert track.k == 3
    assert adjusted_rand_score(truth, track.group_ids[labels == 1]) == pytest.approx(1.0)
    assert np.all(track.persistence[:3] < 0.3)
    np.testing.assert_allclose(track.persistence[3:], 1.0, atol=1e-9)
    assert np.all(track.separation[:3] < 0.05)  # a blob: the groups are no better than chance
    assert np.all(track.separation[3:] > 0.2)


def test_an_earlier_reference_follows_the_groups_forward() -> None:
    weights, labels, _ = planted(4, [True, True, False, False])
    track = ll.metrics.track_subclusters_in(weights, labels, 1, reference=0)
    assert track.reference == 0 and track.k == 3
    np.testing.assert_allclose(track.persistence[:2], 1.0, atol=1e-9)
    assert np.all(track.persistence[2:] < 0.3)


def test_separation_at_the_reference_is_the_gain_of_the_chosen_split() -> None:
    weights, labels, _ = planted(3, [True] * 3)
    track = ll.metrics.track_subclusters_in(weights, labels, 1, min_gain=0.05)
    assert track.separation[-1] >= 0.05  # the reference split passed the same test
    # the same scale as `subclusters`: recompute the gain of the reference cut by hand
    rows = weights[-1][labels == 1].reshape(47, -1).astype(np.float64)
    x = clustering.pca_scores(rows, 20, 0)
    assign = track.group_ids[labels == 1]
    gain = silhouette_score(x, assign) - clustering.null_silhouette(clustering.null_draws(x, 0), 3)
    assert track.separation[-1] == pytest.approx(gain)


def test_a_class_without_structure_is_one_group_with_zero_persistence() -> None:
    weights, labels, _ = planted(3, [False] * 3)
    track = ll.metrics.track_subclusters_in(weights, labels, 1)
    assert track.k == 1
    assert np.all(track.group_ids[labels == 1] == 0) and np.all(track.group_ids[labels == 0] == -1)
    np.testing.assert_array_equal(track.persistence, 0.0)
    np.testing.assert_array_equal(track.separation, 0.0)
    assert track.mean_weights.shape == (3, 1, C, D)
    for e, w in enumerate(weights):
        np.testing.assert_allclose(track.mean_weights[e, 0], w[labels == 1].mean(0), rtol=1e-5)


def test_mean_weights_are_each_groups_mean_at_each_checkpoint() -> None:
    weights, labels, _ = planted(3, [True] * 3)
    track = ll.metrics.track_subclusters_in(weights, labels, 1)
    assert track.mean_weights.shape == (3, 3, C, D) and track.mean_weights.dtype == np.float32
    for e, w in enumerate(weights):
        for g, members in enumerate(track.members):
            np.testing.assert_allclose(track.mean_weights[e, g], w[members].mean(0), atol=1e-5)


def test_bad_input_is_named() -> None:
    weights, labels, _ = planted(2, [True, True])
    with pytest.raises(ValueError, match="no sample has label 7"):
        ll.metrics.track_subclusters_in(weights, labels, 7)
    with pytest.raises(ValueError, match="weights is empty"):
        ll.metrics.track_subclusters_in([], labels, 1)
    with pytest.raises(ValueError, match=r"weights\[1\] has 10 samples"):
        ll.metrics.track_subclusters_in([weights[0], weights[1][:10]], labels, 1)
    with pytest.raises(CheckpointIndexError, match="out of range"):
        ll.metrics.track_subclusters_in(weights, labels, 1, reference=2)
    with pytest.raises(CheckpointIndexError, match="not an epoch"):
        ll.metrics.track_subclusters_in(weights, labels, 1, reference=1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cls must be an integer"):
        ll.metrics.track_subclusters_in(weights, labels, "1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="epochs must have one value per checkpoint"):
        ll.metrics.track_subclusters_in(weights, labels, 1, epochs=[0.0])
    with pytest.raises(ValueError, match="at least 1"):
        ll.metrics.track_subclusters_in(weights, labels, 1, max_k=0)


# --------------------------------------------------------------------------- on a run


@pytest.fixture(scope="module")
def run() -> ll.Run:
    """A tiny digits run: 64-16-16-10, two epochs, five log-spaced checkpoints."""
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [16, 16], data.n_classes, seed=0)
    return ll.train(model, data, epochs=2, checkpoints=5, probe=200, progress=False)


def test_every_class_of_a_run_is_tracked_and_attached(run: ll.Run) -> None:
    tracks = ll.metrics.track_all_subclusters(run, progress=False)
    labels = run.probe_labels.numpy()
    assert list(tracks) == sorted(np.unique(labels).tolist())
    n, e = len(labels), len(run.checkpoints)
    for c, track in tracks.items():
        assert track.cls == c and track.reference == e - 1
        assert track.group_ids.shape == (n,)
        np.testing.assert_array_equal(track.group_ids >= 0, labels == c)
        assert track.persistence.shape == track.separation.shape == (e,)
        assert track.mean_weights.shape == (e, track.k, run.n_classes, 64)
        np.testing.assert_allclose(track.epochs, [ck.epoch for ck in run.checkpoints])
        if track.k > 1:
            assert track.persistence[-1] == pytest.approx(1.0)
    # the group means are the means of the run's own effective weights
    one = tracks[1]
    w0 = run_weights(run).effective_weights(0).weight.numpy()
    np.testing.assert_allclose(one.mean_weights[0, 0], w0[one.members[0]].mean(0), atol=1e-5)
    assert AnalysisStore(run).get(tracking.ATTACHMENT) is not None


def test_attached_tracks_are_reused_and_survive_save_and_load(
    run: ll.Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ll.metrics.track_all_subclusters(run, progress=False)
    run.save(tmp_path / "r")
    loaded = ll.Run.load(tmp_path / "r")

    def no_recompute(*args: object, **kwargs: object) -> None:
        raise AssertionError("tracks recomputed")

    monkeypatch.setattr(tracking, "_track", no_recompute)
    again = ll.metrics.track_all_subclusters(loaded, progress=False)
    single = ll.metrics.track_subclusters(loaded, 1, progress=False)  # read from the whole run
    for c, track in first.items():
        np.testing.assert_array_equal(again[c].group_ids, track.group_ids)
        np.testing.assert_allclose(again[c].persistence, track.persistence)
        np.testing.assert_allclose(again[c].mean_weights, track.mean_weights)
    np.testing.assert_allclose(single.separation, first[1].separation)
    with pytest.raises(AssertionError, match="recomputed"):  # other parameters: computed again
        ll.metrics.track_all_subclusters(loaded, min_gain=0.2, progress=False)


def test_one_class_of_a_run_matches_the_whole_run(run: ll.Run) -> None:
    whole = ll.metrics.track_all_subclusters(run, cache=False, progress=False)
    one = ll.metrics.track_subclusters(run, 3, checkpoints=[0, -1], progress=False)
    np.testing.assert_array_equal(one.checkpoint_ids, [0, len(run.checkpoints) - 1])
    np.testing.assert_array_equal(one.group_ids, whole[3].group_ids)
    np.testing.assert_allclose(one.persistence, whole[3].persistence[[0, -1]])
    with pytest.raises(ValueError, match="no sample has label 11"):
        ll.metrics.track_subclusters(run, 11, progress=False)
    with pytest.raises(CheckpointIndexError):
        ll.metrics.track_subclusters(run, 1, reference=len(run.checkpoints), progress=False)


def test_metrics_gathers_the_tracking() -> None:
    for name in ("SubclusterTrack", "track_subclusters", "track_all_subclusters"):
        assert getattr(ll.metrics, name) is getattr(tracking, name)
        assert name in ll.metrics.__all__
