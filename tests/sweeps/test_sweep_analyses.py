"""A sweep point's lens analyses: each requested analysis gives its final values."""

from __future__ import annotations

from pathlib import Path

import pytest

import linlens_widgets as ll
from linlens_widgets.sweeps import task


def make(width: int, seed: int = 0):
    return ll.models.mlp(64, [width], 10, seed=seed)


@pytest.mark.parametrize(
    ("analysis", "columns"),
    [
        ("class_similarity", ("intra", "inter")),
        ("subclusters", ("subclusters", "subclusters_mean")),
    ],
)
def test_a_point_reports_the_final_value_of_its_lens_analysis(
    tmp_path: Path, analysis: str, columns: tuple[str, ...]
) -> None:
    settings = {
        "train_kwargs": {"epochs": 1, "checkpoints": 3, "probe": 60},
        "analyses": [analysis],
    }
    entry = task.run_point(
        make, ll.datasets.digits(), "w", {"width": 8}, settings, str(tmp_path / "w")
    )
    assert entry["status"] == "ok", entry["error"]
    assert set(columns) <= set(entry["metrics"])
    if analysis == "subclusters":  # every class keeps at least one group: the count covers them
        assert entry["metrics"]["subclusters"] >= 10
        assert entry["metrics"]["subclusters_mean"] == pytest.approx(
            entry["metrics"]["subclusters"] / 10
        )
