"""Derived data is checked or recomputed: an analysis-store entry is reused only when it belongs to
these checkpoints and is what was stored; a damaged entry never makes a run unloadable; nothing is
written into a folder that is not writable (one rule for every store write).

Entries are edited the way a hostile or careless user would: on disk, arrays changed, metadata
kept, then the run loaded again.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

import linlens_widgets as ll
from linlens_widgets.analysis.store import AnalysisStore
from linlens_widgets.runs.analysis_files import read_entries, write_entry
from linlens_widgets.widgets import _network

TABLES = _network.TABLES_ENTRY


def edit_entry(run_dir: Path, name: str, change) -> None:
    """Rewrite ``analysis/<name>.safetensors`` with ``change(arrays)`` applied, meta kept."""
    arrays, meta = read_entries(run_dir / "analysis", "analysis")[name]
    arrays = {k: v.copy() for k, v in arrays.items()}
    change(arrays)
    write_entry(run_dir / "analysis" / f"{name}.safetensors", arrays, meta)


@pytest.fixture
def tabled(run_dir: Path) -> tuple[Path, dict]:
    """The tiny run's folder with its comparison tables stored, and the honest tables."""
    run = ll.Run.load(run_dir)
    ids = list(range(len(run.checkpoints)))
    fresh = _network.comparison_tables(run, ids, progress=False)
    assert (run_dir / "analysis" / f"{TABLES}.safetensors").is_file()
    return run_dir, fresh


def tables_after(run_dir: Path) -> dict:
    run = ll.Run.load(run_dir)
    return _network.comparison_tables(run, list(range(len(run.checkpoints))), progress=False)


def same_tables(got: dict, want: dict) -> None:
    np.testing.assert_allclose(got["probe_mean"], want["probe_mean"], rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(got["neighbors"]["index"], want["neighbors"]["index"])
    np.testing.assert_allclose(
        got["neighbors"]["similarity"].astype(np.float32),
        want["neighbors"]["similarity"].astype(np.float32),
        atol=1e-3,
    )


def test_an_honest_table_is_reused(tabled, monkeypatch) -> None:
    run_dir, fresh = tabled
    monkeypatch.setattr(_network, "_tables", lambda *a: pytest.fail("recomputed"))
    same_tables(tables_after(run_dir), fresh)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda a: a["index"].__setitem__((0, 0, 0), 30000), id="index-30000"),
        pytest.param(lambda a: a["index"].__setitem__((1, 2, 3), -1), id="index-negative"),
        pytest.param(lambda a: a["probe_mean"].__imul__(50), id="probe-mean-x50"),
        pytest.param(lambda a: a["probe_mean"].__setitem__((0, 0, 0), np.nan), id="mean-nan"),
        pytest.param(lambda a: a["similarity"].__setitem__((0, 0, 0), np.nan), id="sim-nan"),
        pytest.param(lambda a: a["similarity"].__setitem__((0, 0, 0), 7), id="sim-7"),
        pytest.param(lambda a: a.__setitem__("index", a["index"][:1]), id="index-shape"),
        pytest.param(lambda a: a.__setitem__("probe_mean", a["probe_mean"][:, :3]), id="classes"),
        pytest.param(lambda a: a.pop("similarity"), id="array-missing"),
    ],
)
def test_a_damaged_table_is_recomputed(tabled, damage) -> None:
    run_dir, fresh = tabled
    edit_entry(run_dir, TABLES, damage)
    got = tables_after(run_dir)
    same_tables(got, fresh)
    n = fresh["neighbors"]["index"].shape[1]
    assert got["neighbors"]["index"].min() >= 0 and got["neighbors"]["index"].max() < n


def test_a_table_of_other_weights_is_recomputed(tabled, tmp_path) -> None:
    """Tables copied from another run with the same checkpoint ids do not belong to this one."""
    run_dir, fresh = tabled
    other = ll.train(
        ll.models.mlp(64, [16], 10, bias=True, seed=5),
        ll.datasets.digits(),
        epochs=1,
        checkpoints=3,
        probe=40,
        progress=False,
    )
    other_dir = other.save(tmp_path / "other")
    _network.comparison_tables(ll.Run.load(other_dir), [0, 1, 2], progress=False)
    shutil.copy(other_dir / "analysis" / f"{TABLES}.safetensors", run_dir / "analysis")
    same_tables(tables_after(run_dir), fresh)


def test_any_entry_edited_with_its_meta_kept_is_not_reused(run_dir) -> None:
    run = ll.Run.load(run_dir)
    assert AnalysisStore(run).put("plots.similarity", {"intra": np.ones(3)}, {"key": "k"})
    edit_entry(run_dir, "plots.similarity", lambda a: a["intra"].__imul__(50))
    assert AnalysisStore(ll.Run.load(run_dir)).get("plots.similarity") is None


def test_an_entry_stays_valid_across_a_save(run_dir, tmp_path) -> None:
    run = ll.Run.load(run_dir)
    AnalysisStore(run).put("note", {"x": np.arange(3.0)}, {"about": "demo"})
    copy = ll.Run.load(run.save(tmp_path / "copy"))
    arrays, meta = AnalysisStore(copy).get("note")
    np.testing.assert_array_equal(arrays["x"], np.arange(3.0))
    assert meta["about"] == "demo"


@pytest.mark.parametrize("keep", [0, 7, 100])
def test_a_truncated_entry_never_makes_the_run_unloadable(run_dir, keep) -> None:
    AnalysisStore(ll.Run.load(run_dir)).put("trajectory", {"x": np.ones((3, 40, 2))}, {})
    path = run_dir / "analysis" / "trajectory.safetensors"
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.warns(UserWarning, match="trajectory"):
        run = ll.Run.load(run_dir)
    assert "trajectory" not in AnalysisStore(run)
    assert len(run.checkpoints) == 3


def test_garbage_in_the_analysis_folder_never_makes_the_run_unloadable(run_dir) -> None:
    (run_dir / "analysis").mkdir(exist_ok=True)
    (run_dir / "analysis" / "phenomena.safetensors").write_bytes(b"\x80\x04pickle")
    with pytest.warns(UserWarning, match="phenomena"):
        run = ll.Run.load(run_dir)
    assert "phenomena" not in AnalysisStore(run)


def read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_read_only_run_folder_is_never_written(run_dir) -> None:
    before = listing(run_dir)
    read_only(run_dir)
    try:
        run = ll.Run.load(run_dir)
        assert not AnalysisStore(run).put("note", {"x": np.ones(2)}, {})
        _network.comparison_tables(run, [0, 1, 2], progress=False)
        assert "note" in AnalysisStore(run)  # kept in memory
        assert listing(run_dir) == before
    finally:
        for path in [run_dir, *run_dir.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)


def test_a_read_only_analysis_folder_is_never_written(tabled) -> None:
    run_dir, _ = tabled
    before = listing(run_dir)
    (run_dir / "analysis").chmod(0o555)
    try:
        run = ll.Run.load(run_dir)
        assert not AnalysisStore(run).put("note", {"x": np.ones(2)}, {})
        assert listing(run_dir) == before
    finally:
        (run_dir / "analysis").chmod(0o755)


def test_a_run_folder_whose_analysis_is_a_file_is_not_written(run_dir) -> None:
    run = ll.Run.load(run_dir)
    shutil.rmtree(run_dir / "analysis", ignore_errors=True)
    (run_dir / "analysis").write_text("not a folder")
    assert not AnalysisStore(run).put("note", {"x": np.ones(2)}, {})
    assert (run_dir / "analysis").read_text() == "not a folder"


def test_the_widgets_and_the_store_share_one_writability_rule() -> None:
    from linlens_widgets.analysis import store
    from linlens_widgets.widgets import _sources

    assert _sources.folder_is_writable is store.folder_is_writable


def test_the_store_still_writes_a_writable_folder(run_dir) -> None:
    run = ll.Run.load(run_dir)
    assert AnalysisStore(run).put("note", {"x": np.ones(2)}, {})
    assert (run_dir / "analysis" / "note.safetensors").is_file()
    assert os.access(run_dir, os.W_OK)
