"""Benchmark of the effective-weight engine on the paper's model (CPU, float32).

Model: bias-free MLP 784-256-256-10; N = 2000 random inputs. Every method is timed in the same
process, in interleaved rounds (one run of each method per round), and the medians are compared,
so that load from other processes affects all of them alike. Printed:

* engine time, and its ratio to the floor: the two GEMMs any exact right-to-left evaluation must
  do, ``(N*C x 256) @ (256 x 256)`` and ``(N*C x 256) @ (256 x 784)``;
* its speed-up over ``torch.func.vmap(jacrev)`` and over a per-sample
  ``torch.autograd.functional.jacobian`` loop (timed on a subset and scaled, as printed);
* the factored features (`weight_features`) against materializing W_eff;
* peak extra memory of the features at N = 70,000 in chunks, against N = 7,000.

Run: ``uv run python benchmarks/engine.py`` (about a minute on two cores; ``--quick`` for less;
``--threads 1`` gives ratios that suffer less when other processes compete for the cores).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def arguments() -> argparse.ArgumentParser:
    """The command line (built before the heavy imports, so ``--help`` answers at once)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--loop-subset", type=int, default=200)
    parser.add_argument("--memory-n", type=int, default=70_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller memory run")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: left as torch sets it)"
    )
    return parser


if __name__ == "__main__":
    arguments().parse_args()  # --help and bad flags are answered before the imports below

import torch
from torch import nn
from torch.func import jacrev, vmap

from linlens_widgets.lens.effective import effective_weights, weight_features

D, H, C = 784, 256, 10


def paper_mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(D, H, bias=False),
        nn.ReLU(),
        nn.Linear(H, H, bias=False),
        nn.ReLU(),
        nn.Linear(H, C, bias=False),
    ).eval()


def interleaved_medians(methods: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median wall time of each method over ``rounds`` rounds, one run of each per round."""
    for fn in methods.values():  # warm-up (allocator, lazy imports, thread pools)
        fn()
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(rounds):
        for name, fn in methods.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def timing_section(model: nn.Sequential, n: int, rounds: int, loop_subset: int) -> list[bool]:
    x = torch.rand(n, D)
    rows = torch.randn(n * C, H)
    w2 = model[2].weight.detach().clone()
    w1 = model[0].weight.detach().clone()

    def floor() -> None:
        torch.mm(rows, w2)
        torch.mm(rows, w1)

    def single(xi: torch.Tensor) -> torch.Tensor:
        return model(xi.unsqueeze(0)).squeeze(0)

    def vmap_jacrev() -> torch.Tensor:
        with torch.no_grad():
            return vmap(jacrev(single))(x)

    subset = x[:loop_subset]

    def loop() -> None:
        for xi in subset:
            torch.autograd.functional.jacobian(single, xi)

    medians = interleaved_medians(
        {
            "floor": floor,
            "engine": lambda: effective_weights(model, x),
            "features": lambda: weight_features(model, x),
            "vmap_jacrev": vmap_jacrev,
            "loop_subset": loop,
        },
        rounds,
    )
    engine, floor_t, jac = medians["engine"], medians["floor"], medians["vmap_jacrev"]
    loop_t = medians["loop_subset"] * n / loop_subset
    features = medians["features"]

    # the engine is exact: check it against vmap(jacrev) on the benchmark inputs
    ref = vmap_jacrev()
    err = ((effective_weights(model, x).weight - ref).norm() / ref.norm()).item()

    print(
        f"model: bias-free MLP {D}-{H}-{H}-{C}, N = {n}, float32, CPU, "
        f"{torch.get_num_threads()} threads; medians of {rounds} interleaved rounds"
    )
    print(
        f"  engine (effective_weights)     {engine * 1e3:9.1f} ms   rel. error vs vmap(jacrev) "
        f"{err:.1e}"
    )
    print(f"  floor (2 bare GEMMs, N*C rows) {floor_t * 1e3:9.1f} ms")
    print(f"  torch.func.vmap(jacrev)        {jac * 1e3:9.1f} ms")
    print(
        f"  per-sample autograd loop       {loop_t * 1e3:9.1f} ms   "
        f"(timed on {loop_subset} samples, scaled x{n / loop_subset:g})"
    )
    print(
        f"  weight_features (factored)     {features * 1e3:9.1f} ms   "
        f"shape (N, {C * H}) vs materialized (N, {C * D})"
    )
    checks = [
        (engine / floor_t <= 1.2, f"engine / floor = {engine / floor_t:.2f}x (target <= 1.20x)"),
        (engine <= jac, f"vmap(jacrev) / engine = {jac / engine:.2f}x (target >= 1.00x)"),
        (
            loop_t / engine >= 20,
            f"per-sample loop / engine = {loop_t / engine:.1f}x (target >= 20x)",
        ),
        (
            engine / features >= 1.5,
            f"materializing / features = {engine / features:.2f}x (target >= 1.50x)",
        ),
    ]
    for ok, text in checks:
        print(f"{verdict(ok)}  {text}")
    return [ok for ok, _ in checks]


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    gc.collect()
    # hand freed heap pages back to the OS so that the baseline is what is really in use
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_extra_mib(model: nn.Sequential, n: int, batch_size: int) -> float:
    """Peak resident memory of weight_features beyond its inputs and its (N, k) result, MiB."""
    x = torch.rand(n, D)
    result_mib = n * C * H * 4 / 2**20
    if not _reset_peak():
        raise RuntimeError("cannot reset the peak RSS (/proc/self/clear_refs)")
    base = _rss_kib("VmRSS")
    features = weight_features(model, x, batch_size=batch_size)
    peak = _rss_kib("VmHWM")
    assert features.shape == (n, C * H)
    del features
    return (peak - base) / 1024 - result_mib


def memory_section(model: nn.Sequential, big: int, batch_size: int) -> list[bool]:
    small = big // 10
    extra_small = peak_extra_mib(model, small, batch_size)
    extra_big = peak_extra_mib(model, big, batch_size)
    materialized = big * C * D * 4 / 2**20
    print(
        f"memory: weight_features in chunks of {batch_size}: peak extra RSS beyond inputs "
        f"and result = {extra_big:.1f} MiB at N = {big:,} vs {extra_small:.1f} MiB at "
        f"N = {small:,} (result {big * C * H * 4 / 2**20:.0f} MiB; materialized W_eff would "
        f"be {materialized:.0f} MiB)"
    )
    ok = extra_big <= max(1.5 * extra_small, extra_small + 32.0)
    print(
        f"{verdict(ok)}  peak extra memory bounded by batch_size: {extra_big:.1f} MiB at "
        f"N = {big:,} (target: no growth with N, <= max(1.5x, +32 MiB) of N = {small:,})"
    )
    return [ok]


def main() -> None:
    args = arguments().parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.rounds, args.memory_n = 5, 20_000
    model = paper_mlp()
    results = timing_section(model, args.n, args.rounds, args.loop_subset)
    results += memory_section(model, args.memory_n, args.batch_size)
    print(f"{sum(results)}/{len(results)} targets met")


if __name__ == "__main__":
    main()
