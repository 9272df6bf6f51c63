from __future__ import annotations

import json

import numpy as np
import pytest

from linlens_widgets.analysis.trajectory import Trajectory, normalise_positions


def test_normalise_uses_one_scale_for_all_frames():
    a = np.array([[[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.0], [10.0, 2.0]]])
    p = normalise_positions(a)
    assert p.dtype == np.float32
    assert np.abs(p).max() == pytest.approx(1.0)
    # frame 0's extent stays 10x smaller than frame 1's: motion is kept, not rescaled away
    ext = [np.ptp(p[0][:, 0]), np.ptp(p[1][:, 0])]
    assert ext[1] / ext[0] == pytest.approx(10.0, rel=1e-5)


def test_normalise_rejects_bad_shapes_and_keeps_coincident_points():
    with pytest.raises(ValueError, match=r"\(E, N, 2\)"):
        normalise_positions(np.zeros((3, 2)))
    assert np.all(normalise_positions(np.ones((2, 3, 2))) == 0)


def test_round_trip_through_arrays_and_json_meta():
    rng = np.random.default_rng(0)
    t = Trajectory(
        normalise_positions(rng.normal(size=(3, 5, 2))),
        epochs=[0.0, 0.5, 2.0],
        steps=[0, 10, 40],
        checkpoint_ids=[0, 4, 9],
        labels=[0, 1, 1, 2, 0],
        kl=[1.0, 0.8, 0.7],
        knn_recall=[0.5, 0.6, 0.7],
        method="tsne",
        params={"perplexity": 2.0, "coupling": 0.01, "checkpoints": [0, 4, 9]},
    )
    arrays, meta = t.to_arrays()
    meta = json.loads(json.dumps(meta))
    back = Trajectory.from_arrays(arrays, meta)
    for name in ("positions", "epochs", "steps", "checkpoint_ids", "labels", "kl", "knn_recall"):
        np.testing.assert_array_equal(getattr(back, name), getattr(t, name))
    assert back.params == t.params and back.method == "tsne"
    assert meta["perplexity"] == 2.0
    assert back.positions.dtype == np.float32 and back.checkpoint_ids.dtype == np.int64
    assert len(back) == 3 and back.frame(1).shape == (5, 2)
    assert "frames=3" in repr(back)


def test_defaults_and_validation():
    t = Trajectory(np.zeros((2, 4, 2)))
    np.testing.assert_array_equal(t.checkpoint_ids, [0, 1])
    assert np.isnan(t.kl).all()
    with pytest.raises(ValueError, match="expected 4 values"):
        Trajectory(np.zeros((2, 4, 2)), labels=[0, 1])
    with pytest.raises(ValueError, match="lack 'positions'"):
        Trajectory.from_arrays({}, {})
