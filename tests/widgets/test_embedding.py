import numpy as np
import pytest
import traitlets

import linlens_widgets as ll
from tests.widgets.conftest import make_trajectory


def test_positions_sent_once_as_one_float32_buffer(run, traj):
    view = ll.EmbeddingView(traj, run=run)
    state = view.get_state()
    pos = state["_positions"]
    assert pos["dtype"] == "float32"
    assert pos["shape"] == [len(run.checkpoints), run.n, 2]
    assert isinstance(pos["view"], memoryview)
    assert pos["view"].nbytes == len(run.checkpoints) * run.n * 2 * 4
    np.testing.assert_array_equal(
        np.frombuffer(pos["view"], np.float32).reshape(pos["shape"]), traj.positions
    )


def test_checkpoint_change_sends_no_new_positions(run, traj):
    view = ll.EmbeddingView(traj, run=run)
    changed = []
    view.observe(lambda c: changed.append(c["name"]), names=traitlets.All)
    view.checkpoint = 0
    view.checkpoint = 3
    assert changed == ["checkpoint", "checkpoint"]


def test_thumbnails_atlas_and_predictions(run, traj):
    view = ll.EmbeddingView(traj, run=run)
    thumbs = view._thumbnails
    assert thumbs.dtype == np.uint8 and thumbs.shape == (run.n, 4, 4, 1)
    np.testing.assert_array_equal(
        thumbs[3, ..., 0],
        np.round(run.probe_inputs[3].numpy().reshape(4, 4) * 255).astype(np.uint8),
    )
    preds = view._predictions
    assert preds.shape == (len(run.checkpoints), run.n)
    np.testing.assert_array_equal(preds[2], run.predictions(2).numpy())
    assert view._classes == list(run.classes)
    assert "test acc 70.0%" in view._checkpoint_labels[2]


def test_no_thumbnails_when_asked(run, traj):
    assert ll.EmbeddingView(traj, run=run, thumbnails=False)._thumbnails is None


def test_default_checkpoint_is_last_and_negative_counts_from_end(run, traj):
    assert ll.EmbeddingView(traj, run=run).checkpoint == len(run.checkpoints) - 1
    assert ll.EmbeddingView(traj, run=run, checkpoint=-2).checkpoint == len(run.checkpoints) - 2


@pytest.mark.parametrize("bad", [5, 99, -6])
def test_checkpoint_not_in_run_is_a_named_value_error(run, traj, bad):
    view = ll.EmbeddingView(traj, run=run)
    with pytest.raises(ValueError, match=f"checkpoint index {bad} is out of range"):
        view.checkpoint = bad


def test_negative_checkpoint_counts_back_from_the_end(run, traj):
    view = ll.EmbeddingView(traj, run=run, checkpoint=0)
    view.checkpoint = -1
    assert view.checkpoint == len(run.checkpoints) - 1
    with pytest.raises(traitlets.TraitError, match="expected an int"):
        view.checkpoint = 1.5  # a float is training time, never a position


def test_selection_validated_and_normalised(run, traj):
    view = ll.EmbeddingView(traj, run=run)
    view.selection = [5, 2, 5]
    assert view.selection == [2, 5]
    with pytest.raises(ValueError, match="index 24"):
        view.selection = [1, 24]
    view.selection = []
    assert view.selection == []


def test_on_select_callback_and_removal(run, traj):
    view = ll.EmbeddingView(traj, run=run)
    seen = []
    view.on_select(seen.append)
    view.selection = [1, 2]
    view.on_select(seen.append, remove=True)
    view.selection = [3]
    assert seen == [[1, 2]]


def test_zoom_to_empty_selection_is_refused(run, traj):
    view = ll.EmbeddingView(traj, run=run)
    with pytest.raises(ValueError, match="selection is empty"):
        view.zoom_to_selection()


def test_mismatched_trajectory_names_both_sizes(run):
    other = make_trajectory(run, n=run.n + 3)
    with pytest.raises(ValueError, match=r"N=27 .* 24 probe samples"):
        ll.EmbeddingView(other, run=run)


def test_color_by_values_and_bad_shapes(run, traj):
    values = np.linspace(0, 1, run.n)
    view = ll.EmbeddingView(traj, run=run, color=values, value_name="margin")
    assert view.color == "value" and view.value_name == "margin"
    assert view._values.dtype == np.float32 and view._values.shape == (run.n,)
    per_checkpoint = np.random.rand(len(run.checkpoints), run.n)
    view.set_values(per_checkpoint, "loss")
    assert view._values.shape == per_checkpoint.shape
    with pytest.raises(ValueError, match=r"shape \(24,\)"):
        ll.EmbeddingView(traj, run=run, color=np.zeros(5))
    with pytest.raises(ValueError, match="color must be"):
        view.color = "rainbow"


def test_correct_colouring_needs_the_run(traj):
    with pytest.raises(ValueError, match="needs the run"):
        ll.EmbeddingView(traj, color="correct")


def test_positions_array_alone(traj):
    view = ll.EmbeddingView(traj.positions)
    assert view.n_points == traj.positions.shape[1] and view._thumbnails is None


def test_non_finite_positions_are_refused(run, traj):
    traj.positions[1, 3, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        ll.EmbeddingView(traj, run=run)


def test_link_checkpoint_between_views(run, traj):
    a = ll.EmbeddingView(traj, run=run)
    b = ll.EmbeddingView(traj, run=run)
    traitlets.link((a, "checkpoint"), (b, "checkpoint"))
    a.checkpoint = 1
    assert b.checkpoint == 1


def test_captions_omit_steps_a_trajectory_does_not_hold() -> None:
    from linlens_widgets.analysis.trajectory import Trajectory

    positions = np.zeros((3, 4, 2), np.float32)
    view = ll.EmbeddingView(Trajectory(positions, epochs=[0.0, 1.0, 2.0]))
    assert view._checkpoint_labels == ["epoch 0", "epoch 1", "epoch 2"]
    stepped = ll.EmbeddingView(Trajectory(positions, epochs=[0.0, 1.0, 2.0], steps=[0, 10, 20]))
    assert stepped._checkpoint_labels[1] == "epoch 1 · step 10"
