import pytest
import traitlets

import linlens_widgets as ll
from linlens_widgets.widgets.contract import CONTRACT


def test_frames_labels_and_sparkline_series(run):
    s = ll.CheckpointScrubber(run)
    assert s.checkpoint == len(run.checkpoints) - 1
    assert len(s._frames) == len(run.checkpoints)
    assert s._frames[1]["label"].startswith("epoch 1 · step 10 · test acc 60.0%")
    names = [x["name"] for x in s._series]
    assert names == ["test acc", "train loss"]
    assert s._series[0]["values"] == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9])


def test_checkpoint_validation_and_speed(run):
    s = ll.CheckpointScrubber(run, checkpoint=0)
    with pytest.raises(ValueError, match="checkpoint index 5 is out of range"):
        s.checkpoint = 5
    with pytest.raises(traitlets.TraitError, match="expected an int"):
        s.checkpoint = 2.5
    s.checkpoint = -2
    assert s.checkpoint == 3
    with pytest.raises(ValueError, match="speed"):
        s.speed = 3
    s.speed = 4
    s.play()
    assert s.playing
    s.pause()
    assert not s.playing


def test_speeds_are_the_contracts(run):
    s = ll.CheckpointScrubber(run)
    for v in CONTRACT["speeds"]:
        s.speed = v
        assert s.speed == v
    with pytest.raises(ValueError, match="speed must be one of"):
        s.speed = max(CONTRACT["speeds"]) * 2


def test_a_subset_of_checkpoints_labels_and_frames_follow_the_run(run):
    s = ll.CheckpointScrubber(run, checkpoints=[0, 2, -1], checkpoint=1)
    assert s.checkpoint_ids.tolist() == [0, 2, 4]
    assert s.n_checkpoints == 3
    assert [f["step"] for f in s._frames] == [0, 20, 40]
    assert s.frame["epoch"] == pytest.approx(2.0)  # training time of run checkpoint 2
    s.checkpoint = 2
    assert s.frame["label"].startswith("epoch 4 · step 40")
    assert s._series[0]["values"] == pytest.approx([0.5, 0.7, 0.9])
    with pytest.raises(ValueError, match="checkpoint index 7"):
        ll.CheckpointScrubber(run, checkpoints=[0, 7])


def test_scrubber_over_a_trajectory(traj):
    s = ll.CheckpointScrubber(traj)
    assert s.n_checkpoints == traj.positions.shape[0]
    assert [f["step"] for f in s._frames] == traj.steps.tolist()
    assert s._series == []


def test_refuses_what_it_cannot_scrub():
    with pytest.raises(TypeError, match="CheckpointScrubber needs a Run or a Trajectory"):
        ll.CheckpointScrubber([1, 2, 3])
