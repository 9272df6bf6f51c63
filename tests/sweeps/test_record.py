"""Sweep.load: the table, the runs loaded on access, labels, and what a damaged folder gives."""

from __future__ import annotations

import json

import pytest

import linlens_widgets as ll
from linlens_widgets.analysis.store import AnalysisStore
from linlens_widgets.sweeps import record, task

pytestmark = pytest.mark.slow  # the module's fixture trains and analyses three tiny runs


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A sweep folder written by the task function itself (no cluster): two runs, one failure."""
    out = tmp_path_factory.mktemp("sweep")
    data = ll.datasets.digits()
    settings = {"train_kwargs": {"epochs": 1, "checkpoints": 3}, "analyses": ["alignment"]}

    def make(width: int, seed: int = 0):
        return ll.models.mlp(64, [width], 10, seed=seed)

    entries = [
        task.run_point(make, data, f"width={w}", {"width": w}, settings, str(out / f"width={w}"))
        for w in (4, 8)
    ]
    entries.append(
        task.run_point(make, data, "width=-1", {"width": -1}, settings, str(out / "width=-1"))
    )
    record.write_record(out, settings, entries)
    return out


def test_table_lists_params_status_and_final_metrics(saved) -> None:
    sw = ll.Sweep.load(saved)
    rows = sw.table
    assert [(r["name"], r["status"], r["width"]) for r in rows] == [
        ("width=4", "ok", 4),
        ("width=8", "ok", 8),
        ("width=-1", "failed", -1),
    ]
    assert 0 <= rows[0]["test_acc"] <= 1 and 0 < rows[0]["alignment"] <= 1
    assert rows[2]["error"].startswith("ValueError: hidden width must be a positive integer")
    assert repr(sw) == f"Sweep({str(saved)!r}, ok=2, failed=1)"


def test_runs_load_lazily_with_params_and_labels(saved) -> None:
    sw = ll.Sweep.load(saved)
    runs = sw.runs
    assert len(runs) == 2 and sw._runs == {}
    assert sw.params == [{"width": 4}, {"width": 8}] and sw.labels == ["width=4", "width=8"]
    run = runs[1]
    assert list(sw._runs) == ["width=8"]
    assert run.model_at(-1)[0].out_features == 8
    assert AnalysisStore(run).get("phenomena") is not None
    assert runs[1] is run
    with pytest.raises(KeyError, match="completed: width=4, width=8"):
        sw.run("width=-1")


def test_to_pandas_needs_pandas(saved) -> None:
    sw = ll.Sweep.load(saved)
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="needs pandas"):
            sw.to_pandas()
    else:
        assert list(sw.to_pandas()["status"]) == ["ok", "ok", "failed"]


def test_a_rerun_task_finds_the_saved_run_and_does_not_train(saved) -> None:
    def refuse(**_):
        raise AssertionError("trained again")

    settings = json.loads((saved / "sweep.json").read_text())
    settings = {k: settings[k] for k in ("train_kwargs", "analyses")}
    entry = task.run_point(refuse, None, "width=4", {"width": 4}, settings, str(saved / "width=4"))
    assert entry["status"] == "ok" and entry["metrics"]["test_acc"] > 0


def test_load_errors(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"sweep\.json is missing"):
        ll.Sweep.load(tmp_path)
    (tmp_path / "sweep.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError, match="not a sweep record"):
        ll.Sweep.load(tmp_path)
