import pytest
import traitlets

import linlens_widgets as ll


def test_frames_labels_and_sparkline_series(run):
    s = ll.EpochScrubber(run)
    assert s.epoch == len(run.checkpoints) - 1
    assert len(s._frames) == len(run.checkpoints)
    assert s._frames[1]["label"].startswith("epoch 1 · step 10 · test acc 60.0%")
    names = [x["name"] for x in s._series]
    assert names == ["test acc", "train loss"]
    assert s._series[0]["values"] == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9])


def test_epoch_validation_and_speed(run):
    s = ll.EpochScrubber(run, epoch=0)
    with pytest.raises(ValueError, match="epoch 5"):
        s.epoch = 5
    with pytest.raises(ValueError, match="speed"):
        s.speed = 3
    s.speed = 4
    s.play()
    assert s.playing
    s.pause()
    assert not s.playing


def test_link_scrubber_to_view_and_compare(run, traj):
    s = ll.EpochScrubber(run, epoch=0)
    view = ll.EmbeddingView(traj, run=run)
    cmp = ll.WeightCompare(run)
    traitlets.link((s, "epoch"), (view, "epoch"))
    traitlets.link((s, "epoch"), (cmp, "epoch"))
    s.epoch = 3
    assert view.epoch == 3 and cmp.epoch == 3
    view.epoch = 1
    assert s.epoch == 1 and cmp.epoch == 1


def test_scrubber_over_a_trajectory(traj):
    s = ll.EpochScrubber(traj)
    assert s.n_epochs == traj.positions.shape[0]
    assert s._series == []
