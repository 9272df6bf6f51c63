"""The run's tracked sub-clusters, computed once and kept in the run's analysis store.

The explorer's Colour menu lists "sub-clusters of c" (each class with two or more tracked groups)
only when the run stores its tracks, since tracking costs a pass over every checkpoint. The demo
tracks them once with its cached run, so the explorer of its notebook and of its page offer them
at no cost, and choose the default A away from them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from linlens_widgets.cli.terminal import say

if TYPE_CHECKING:
    from linlens_widgets.runs.store import Run


def track_subclusters(run: Run) -> None:
    """Compute (or reuse) every class's tracked sub-clusters, kept in the run's analysis store.

    The tracks are those of ``ll.metrics.track_all_subclusters(run)`` with its defaults (found at
    the last checkpoint, followed through training): the ones the explorer reads.
    """
    from linlens_widgets.analysis.store import AnalysisStore
    from linlens_widgets.analysis.subcluster_tracking import ATTACHMENT, track_all_subclusters

    if ATTACHMENT not in AnalysisStore(run):
        say(f"tracking the sub-clusters of every class over {len(run.checkpoints)} checkpoints")
    track_all_subclusters(run, progress=True)
