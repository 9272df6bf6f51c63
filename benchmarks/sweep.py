"""An 8-point digits sweep on a 2-worker LocalCluster against the same runs in a loop.

Both sides run the same per-point task (``linlens_widgets.sweeps.task.run_point``: build the
MLP, train, compute class similarity over the checkpoints, save atomically) on the same 8 grid
points (init scale × seed), writing to fresh folders. The loop runs them one after another in this
process (warmed up first by one untimed point, so imports are not counted), once before and once
after the sweeps (the median is used, as the machine's load drifts); the sweep runs them as Dask
tasks on a ``LocalCluster`` of 2 single-threaded worker processes, started beforehand and timed
separately. The first sweep on the new cluster is cold (its workers import torch and the
analyses); a second sweep into a new folder measures the warm cluster.

Printed: loop and sweep wall times, their ratio (speed-up), and the scheduler's overhead per run:
``(workers × sweep wall − Σ task seconds on the workers) / runs``, the worker time per run not
spent inside the task (scheduling, transfers, imports, idle tail).

    uv run python benchmarks/sweep.py [--epochs 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import tempfile
import time
from pathlib import Path


def arguments() -> argparse.ArgumentParser:
    """The command line (built before the heavy imports, so ``--help`` answers at once)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    return parser


if __name__ == "__main__":
    arguments().parse_args()  # --help and bad flags are answered before the imports below

import linlens_widgets as ll
from linlens_widgets.sweeps import grid as sweep_grid
from linlens_widgets.sweeps import task

GRID = {"init_scale": [0.1, 1.0], "seed": [0, 1, 2, 3]}
ANALYSES = ["class_similarity"]


def loop(make, data, settings: dict, out: Path, points=None) -> float:
    """Run every point in this process, one after another; return the wall time."""
    start = time.perf_counter()
    for point in points or sweep_grid.expand_grid(GRID):
        entry = task.run_point(
            make, data, point.name, point.params, settings, str(out / point.name)
        )
        assert entry["status"] == "ok", entry
    return time.perf_counter() - start


def on_cluster(make, data, settings: dict, out: Path, client) -> tuple[float, float]:
    """Run the sweep on ``client``; return (wall time, Σ task seconds on the workers)."""
    start = time.perf_counter()
    sw = ll.sweep(
        make,
        data,
        GRID,
        out=out,
        train_kwargs=settings["train_kwargs"],
        analyses=settings["analyses"],
        client=client,
        progress=False,
    )
    wall = time.perf_counter() - start
    assert all(p.status == "ok" for p in sw.points), sw.table
    points = json.loads((out / "sweep.json").read_text())["points"]
    return wall, sum(p["seconds"] for p in points)


def main() -> None:
    args = arguments().parse_args()
    from distributed import Client, LocalCluster

    data = ll.datasets.digits()
    make = functools.partial(ll.models.mlp, 64, [128, 128], 10)
    settings = {"train_kwargs": {"epochs": args.epochs}, "analyses": ANALYSES}
    n = len(sweep_grid.expand_grid(GRID))
    print(f"{n} points {GRID}, MLP 64-128-128-10, {args.epochs} epochs, analyses {ANALYSES}")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        loop(make, data, settings, root / "warm-up", sweep_grid.expand_grid(GRID)[:1])
        loops = [loop(make, data, settings, root / "loop-1")]
        print(f"loop in one process:           {loops[0]:7.1f} s ({loops[0] / n:.2f} s per run)")
        start = time.perf_counter()
        with (
            LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
            ) as cluster,
            Client(cluster) as client,
        ):
            print(
                f"cluster start ({args.workers} workers):     {time.perf_counter() - start:7.1f} s"
            )
            timings = {}
            for label, folder in (("cold", "sweep-cold"), ("warm", "sweep-warm")):
                timings[label] = on_cluster(make, data, settings, root / folder, client)
        loops.append(loop(make, data, settings, root / "loop-2"))
        print(f"loop again:                    {loops[1]:7.1f} s ({loops[1] / n:.2f} s per run)")
        loop_s = statistics.median(loops)
        for label, (wall, busy) in timings.items():
            overhead = (args.workers * wall - busy) / n
            print(
                f"sweep, {label} cluster:            {wall:7.1f} s  ratio loop/sweep "
                f"{loop_s / wall:.2f}x  (Σ task {busy:.1f} s; "
                f"overhead {overhead:.2f} s per run)"
            )
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
