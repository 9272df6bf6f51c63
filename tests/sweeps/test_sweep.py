"""Sweeps on a real two-worker LocalCluster: completion, a killed worker, failures, resuming.

The model factories below are module-level and sent to the workers by value (cloudpickle), as a
notebook's functions are. Each call appends a line to a counter file, so a test can tell how many
times a point was built, i.e. trained.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cloudpickle
import pytest

import linlens_widgets as ll
from linlens_widgets import cli
from linlens_widgets.analysis.store import AnalysisStore

pytestmark = pytest.mark.slow

cloudpickle.register_pickle_by_value(sys.modules[__name__])

EPOCHS = 3


def counted_mlp(width: int, seed: int, *, counter: str, kill: tuple[int, int] | None = None):
    """A digits MLP; logs each call; the point ``kill`` kills its own worker once, mid-training."""
    with open(counter, "a", encoding="utf-8") as f:
        f.write(
            json.dumps({"width": width, "seed": seed, "pid": os.getpid(), "t": time.time()}) + "\n"
        )
    model = ll.models.mlp(64, [width], 10, seed=seed)
    if kill == (width, seed):
        marker = Path(counter).with_suffix(".killed")
        try:
            with open(marker, "x", encoding="utf-8") as f:  # only the first attempt
                f.write(str(os.getpid()))
        except FileExistsError:
            return model
        calls = [0]

        def die_mid_training(module, inputs):
            calls[0] += 1
            if calls[0] == 40:  # a few dozen optimisation steps in
                os.kill(os.getpid(), signal.SIGKILL)

        model.register_forward_pre_hook(die_mid_training)
    return model


def calls(counter: Path) -> list[dict]:
    if not counter.exists():
        return []
    return [json.loads(line) for line in counter.read_text().splitlines()]


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def data() -> ll.Dataset:
    return ll.datasets.digits()


def test_sweep_survives_a_killed_worker_and_resumes_without_training(
    client, data, tmp_path: Path
) -> None:
    counter = tmp_path / "calls.jsonl"
    make = functools.partial(counted_mlp, counter=str(counter), kill=(16, 1))
    grid = {"width": [8, 16], "seed": [0, 1]}
    out = tmp_path / "sweep"
    sw = ll.sweep(
        make,
        data,
        grid,
        out=out,
        train_kwargs={"epochs": EPOCHS},
        analyses=("class_similarity",),
        client=client,
    )
    # every point completed, the killed one after a second attempt on a live worker
    assert [p.status for p in sw.points] == ["ok"] * 4, sw.table
    made = calls(counter)
    assert len(made) == 5
    assert sum(1 for c in made if (c["width"], c["seed"]) == (16, 1)) == 2
    killed_pid = int((tmp_path / "calls.killed").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(killed_pid, 0)
    # every run is complete and loadable, with its parameters in its manifest
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(
        f"width={w}__seed={s}" for w in (8, 16) for s in (0, 1)
    )
    for point, run, params in zip(sw.completed, sw.runs, sw.params, strict=True):
        assert run.path == out / point.name
        assert run.config["sweep"]["params"] == params == point.params
        assert run.checkpoints[-1].epoch == EPOCHS
        assert AnalysisStore(run).get("plots.similarity") is not None
        assert run.model_at(-1)[0].out_features == params["width"]
    table = ll.Sweep.load(out).table
    assert [row["status"] for row in table] == ["ok"] * 4
    assert all(0 < row["test_acc"] <= 1 and row["intra"] > row["inter"] for row in table)
    assert ll.Sweep.load(out).labels == [
        "width=8, seed=0",
        "width=8, seed=1",
        "width=16, seed=0",
        "width=16, seed=1",
    ]
    # a second call finds every run and trains nothing
    start = time.perf_counter()
    start_wall = time.time()
    again = ll.sweep(
        make,
        data,
        grid,
        out=out,
        train_kwargs={"epochs": EPOCHS},
        analyses=("class_similarity",),
        client=client,
    )
    assert time.perf_counter() - start < 10  # no cluster work: manifests and sweep.json only
    assert len(calls(counter)) == 5, (start_wall, calls(counter))
    assert again.table == table


def test_failing_points_are_recorded_and_do_not_stop_the_others(
    client, data, tmp_path: Path
) -> None:
    counter = tmp_path / "calls.jsonl"
    make = functools.partial(counted_mlp, counter=str(counter))
    grid = {"width": [8, 0], "lr": [0.05, 1e10], "seed": [0]}
    out = tmp_path / "sweep"
    sw = ll.sweep(make, data, grid, out=out, train_kwargs={"epochs": 2}, analyses=(), client=client)
    status = {p.name: (p.status, p.error) for p in sw.points}
    assert status["width=8__lr=0.05__seed=0"] == ("ok", None)
    assert status["width=8__lr=10000000000.0__seed=0"][0] == "failed"
    assert "diverged" in status["width=8__lr=10000000000.0__seed=0"][1]
    assert status["width=0__lr=0.05__seed=0"][0] == "failed"
    assert "hidden width must be a positive integer" in status["width=0__lr=0.05__seed=0"][1]
    record = json.loads((out / "sweep.json").read_text())
    assert sorted(p["status"] for p in record["points"]) == ["failed", "failed", "failed", "ok"]
    assert [p.name for p in out.iterdir() if p.is_dir()] == ["width=8__lr=0.05__seed=0"]
    assert len(sw.runs) == 1 and len(sw.failed) == 3
    # failed points are tried again by the next call; the completed one is not
    ll.sweep(make, data, grid, out=out, train_kwargs={"epochs": 2}, analyses=(), client=client)
    assert len(calls(counter)) == 4 + 3


def test_cli_sweep_on_a_running_scheduler(client, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli"
    argv = [
        "sweep",
        "--grid",
        "hidden=8,16",
        "--grid",
        "lr=0.05",
        "--epochs",
        "1",
        "--analyses",
        "--out",
        str(out),
        "--scheduler",
        client.scheduler.address,
    ]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "ok     hidden=8__lr=0.05" in printed and "ok     hidden=16__lr=0.05" in printed
    runs = ll.Sweep.load(out).runs
    assert [r.model_spec["kwargs"]["hidden"] for r in runs] == [[8], [16]]
    assert all(r.config["lr"] == 0.05 and r.config["epochs"] == 1 for r in runs)
