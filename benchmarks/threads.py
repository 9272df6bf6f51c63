"""The aligned embedding on one thread against every core (the default), same run, interleaved.

Run from the repository root: ``uv run python -m benchmarks.threads`` (a few minutes).

The run of ``benchmarks/embed.py`` (bias-free digits MLP 64-128-128-10, 20 epochs, 10 log-spaced
checkpoints, probe: the digits images and their 1-pixel translations up to ``--n`` samples); the
features of its last ``--frames`` checkpoints are computed once; then
``embed_features(..., n_jobs=1)`` and ``embed_features(...)`` (all cores) alternate ``--repeats``
times. Printed: each run's wall and CPU time, the medians, the ratio one thread / all cores (the
target on a 2-core machine is at least 1.5x) and the load average before and after, since on a
shared machine the other processes take their share of the cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


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
from linlens_widgets.analysis.embed import embed_features
from linlens_widgets.analysis.threads import available_cores
from linlens_widgets.analysis.weights import run_weights


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
    for r in range(args.repeats):
        for (name, runs), n_jobs in zip(times.items(), (1, None), strict=True):
            wall, cpu = time.perf_counter(), time.process_time()
            embed_features(features, labels, progress=False, n_jobs=n_jobs)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            runs.append(wall)
            print(f"round {r + 1}, {name}: wall {wall:.1f} s, CPU {cpu:.1f} s", flush=True)
    one, every = (statistics.median(v) for v in times.values())
    ratio = one / every
    verdict = "PASS" if ratio >= 1.5 else "MISS"
    print(
        f"median wall: 1 thread {one:.1f} s, all cores {every:.1f} s; ratio {ratio:.2f}x "
        f"(target >= 1.5x on 2 cores) -> {verdict}; load average after "
        f"{os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
