"""Operand marks, highlighted neighbours, trails and the sub-cluster colour mode of the scatter."""

from types import SimpleNamespace

import numpy as np
import pytest
import traitlets

import linlens_widgets as ll
from linlens_widgets.widgets.embedding import subcluster_counts, subcluster_groups


def _groups(run) -> np.ndarray:
    """Class 1 split into two groups by index parity; class 2 one group; class 0 none."""
    labels = np.asarray(run.probe_labels)
    groups = np.full(run.n, -1, np.int32)
    ones = np.flatnonzero(labels == 1)
    groups[ones] = np.arange(len(ones)) % 2
    groups[labels == 2] = 0
    return groups


def test_marks_and_highlights_sync_sorted_and_unique(run, traj):
    view = ll.EmbeddingView(traj, run=run)
    view.marked_a = [5, 3, 5]
    view.marked_b = [7]
    view.highlighted = [2, 1]
    view.trails = True
    state = view.get_state()
    assert state["marked_a"] == [3, 5]
    assert state["marked_b"] == [7]
    assert state["highlighted"] == [1, 2]
    assert state["trails"] is True


@pytest.mark.parametrize("name", ["marked_a", "marked_b", "highlighted"])
@pytest.mark.parametrize("bad", [[-1], [24], [1.5], ["3"], [True]])
def test_marks_out_of_range_or_not_ints_are_trait_errors(run, traj, name, bad):
    view = ll.EmbeddingView(traj, run=run)
    with pytest.raises(traitlets.TraitError, match=name):
        setattr(view, name, bad)
    assert getattr(view, name) == []


def test_subcluster_colours_follow_the_groups(run, traj):
    groups = _groups(run)
    view = ll.EmbeddingView(traj, run=run)
    view.color_subclusters(1, tracks=groups)
    assert view.color == "subclusters"
    assert view.groups_class == 1
    sent = view.get_state()["_groups"]
    assert sent["dtype"] == "int32" and sent["shape"] == [run.n]
    np.testing.assert_array_equal(np.frombuffer(sent["view"], np.int32), groups)
    # scrubbing sends nothing new: the same groups are coloured at every checkpoint
    changed = []
    view.observe(lambda c: changed.append(c["name"]), names=traitlets.All)
    view.checkpoint = 0
    assert changed == ["checkpoint"]


def test_subclusters_from_tracks_and_constructor_keyword(run, traj, monkeypatch):
    groups = _groups(run)
    labels = np.asarray(run.probe_labels)
    tracks = {c: SimpleNamespace(group_ids=np.where(labels == c, groups, -1)) for c in (0, 1, 2)}
    np.testing.assert_array_equal(subcluster_groups(tracks, run.n), groups)
    assert subcluster_counts(groups, labels) == {1: 2, 2: 1}
    monkeypatch.setattr("linlens_widgets.widgets.embedding._track_all", lambda r: tracks)
    view = ll.EmbeddingView(traj, run=run, color="subclusters:1")
    assert (view.color, view.groups_class) == ("subclusters", 1)
    ex = ll.LensExplorer(run, trajectory=traj, color="subclusters:1", panel=False)
    assert (ex.embedding.color, ex.embedding.groups_class) == ("subclusters", 1)


def test_subcluster_errors_name_the_problem(run, traj):
    view = ll.EmbeddingView(traj, run=run)
    with pytest.raises(ValueError, match="subclusters"):
        view.color = "subclusters"
    with pytest.raises(traitlets.TraitError, match="classes with two or more: \\[1\\]"):
        view.color_subclusters(2, tracks=_groups(run))
    with pytest.raises(ValueError, match="shape"):
        view.color_subclusters(1, tracks=np.zeros(3, int))
    for bad in ("subclusters:one", "subclusters:-1", "subclusters:1_0", "subclusters: 1"):
        with pytest.raises(ValueError, match="integer class"):
            ll.EmbeddingView(traj, run=run, color=bad)
    with pytest.raises(ValueError, match="needs the run"):
        ll.EmbeddingView(traj.positions, color="subclusters:1")


def test_colour_menu_offers_tracked_subclusters_and_default_a_avoids_them(run, traj, monkeypatch):
    """The menu's "sub-clusters of c" come from Python (classes with two or more groups, values
    the contract's pattern allows); the explorer's default A is not on top of them."""
    import re

    from linlens_widgets.widgets.embedding import MENU_PATTERN, menu_classes

    groups = _groups(run)
    labels = np.asarray(run.probe_labels)
    tracks = {c: SimpleNamespace(group_ids=np.where(labels == c, groups, -1)) for c in (0, 1, 2)}
    monkeypatch.setattr("linlens_widgets.widgets.embedding._track_all", lambda r: tracks)
    assert ll.EmbeddingView(traj, run=run)._groups is None  # nothing stored, nothing computed
    view = ll.EmbeddingView(traj, run=run, subclusters=True)
    assert menu_classes(view._groups, labels) == [1]
    assert all(re.match(MENU_PATTERN, f"subclusters:{c}") for c in menu_classes(groups, labels))
    assert not re.match(MENU_PATTERN, "subclusters:one")
    ex = ll.LensExplorer(run, trajectory=traj, subclusters=True, panel=False)
    a, b = ex.compare.a[0], ex.compare.b[0]
    assert labels[a] != 1, f"the default A {a} sits in the class with sub-clusters"
    assert labels[b] != 1, f"the default B {b} sits in the class with sub-clusters"
    assert labels[b] != labels[a], "the default B compares across classes"
    assert ll.LensExplorer(run, trajectory=traj, a=3, subclusters=True, panel=False).compare.a == [
        3
    ]
