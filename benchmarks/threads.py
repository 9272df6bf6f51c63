"""The aligned embedding on one thread against every core (the default), same run, interleaved.

Run from the repository root: ``uv run python -m benchmarks.threads`` (a few minutes).

The run of ``benchmarks/embed.py`` (bias-free digits MLP 64-128-128-10, 20 epochs, 10 log-spaced
checkpoints, probe: the digits images and their 1-pixel translations up to ``--n`` samples); the
features of its last ``--frames`` checkpoints are computed once; then
``embed_features(..., n_jobs=1)`` and ``embed_features(...)`` (all cores) alternate ``--repeats``
times. Printed: each run's wall and CPU time and the load average around it, split into its
phases (PCA and high-dimensional neighbours; affinities and KL; the t-SNE descent; the rest:
recall, normalisation), the medians, and the ratio one thread / all cores (the target on a
2-core machine is at least 1.5x). On a shared machine the other processes take their share of
the cores: the wall ratio is only meaningful at a low load average; the CPU times are this
process's own.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator


def arguments() -> argparse.ArgumentParser:
    """The command line (built before the heavy imports, so ``--help`` answers at once)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="probe samples (2,000)")
    parser.add_argument("--frames", type=int, default=4, help="last checkpoints embedded (4)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of each (3)")
    return parser


if __name__ == "__main__":
    arguments().parse_args()  # --help and bad flags are answered before the imports below

from benchmarks.embed import digits_run
from linlens_widgets.analysis import embed as embed_module
from linlens_widgets.analysis.embed import embed_features
from linlens_widgets.analysis.threads import available_cores
from linlens_widgets.analysis.weights import run_weights

#: The timed functions of ``linlens_widgets.analysis.embed`` (phases nest: the t-SNE layouts
#: hold the affinities, the descent and the KL divergences).
_TIMED = {"pca": "_reduce_all", "layouts": "_tsne_layouts", "descent": "tsne_dynamic"}


@contextlib.contextmanager
def phase_clock() -> Iterator[dict[str, list[float]]]:
    """Time the embedding's phases (wall, CPU) while the block runs; yields the totals."""
    totals = {name: [0.0, 0.0] for name in _TIMED}
    real = {name: getattr(embed_module, attr) for name, attr in _TIMED.items()}

    def clocked(name: str, function: Callable) -> Callable:
        def call(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                totals[name][0] += time.perf_counter() - wall
                totals[name][1] += time.process_time() - cpu

        return call

    for name, attr in _TIMED.items():
        setattr(embed_module, attr, clocked(name, real[name]))
    try:
        yield totals
    finally:
        for name, attr in _TIMED.items():
            setattr(embed_module, attr, real[name])


def phases(totals: dict[str, list[float]], wall: float, cpu: float) -> dict[str, tuple]:
    """Split one run's (wall, CPU) into its sequential phases."""
    (pw, pc), (lw, lc), (dw, dc) = totals["pca"], totals["layouts"], totals["descent"]
    return {
        "PCA+kNN": (pw, pc),
        "affinities+KL": (lw - dw, lc - dc),
        "descent": (dw, dc),
        "rest": (wall - pw - lw, cpu - pc - lc),
    }


def main() -> int:
    args = arguments().parse_args()
    run = digits_run(args.n)
    weights = run_weights(run)
    ids = range(len(run.checkpoints))[-args.frames :]
    features = [weights.weight_features(i).numpy() for i in ids]
    labels = run.probe_labels
    cores = available_cores()
    print(
        f"{len(features)} checkpoints x {args.n:,} probes; all cores = {cores}; "
        f"load average before {os.getloadavg()[0]:.1f}"
    )
    times: dict[str, list[float]] = {"1 thread": [], f"all ({cores})": []}
    cpus: dict[str, list[float]] = {name: [] for name in times}
    for r in range(args.repeats):
        for (name, runs), n_jobs in zip(times.items(), (1, None), strict=True):
            load = os.getloadavg()[0]
            with phase_clock() as totals:
                wall, cpu = time.perf_counter(), time.process_time()
                embed_features(features, labels, progress=False, n_jobs=n_jobs)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            runs.append(wall)
            cpus[name].append(cpu)
            split = ", ".join(
                f"{phase} {w:.1f}/{c:.1f}" for phase, (w, c) in phases(totals, wall, cpu).items()
            )
            print(
                f"round {r + 1}, {name}: wall {wall:.1f} s, CPU {cpu:.1f} s, load {load:.1f} -> "
                f"{os.getloadavg()[0]:.1f} (wall/CPU s: {split})",
                flush=True,
            )
    one, every = (statistics.median(v) for v in times.values())
    cpu_one, cpu_every = (statistics.median(v) for v in cpus.values())
    ratio = one / every
    verdict = "PASS" if ratio >= 1.5 else "MISS"
    print(
        f"median wall: 1 thread {one:.1f} s, all cores {every:.1f} s; ratio {ratio:.2f}x "
        f"(target >= 1.5x on 2 cores) -> {verdict}; median CPU {cpu_one:.1f} s vs "
        f"{cpu_every:.1f} s; load average after {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
