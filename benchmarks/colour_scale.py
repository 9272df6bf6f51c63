"""Bounded memory for colour runs: N colour probes × K checkpoints of the small CNN at 3×32×32.

A colour W_eff is C·H·W × classes = 3·32·32 × 10 = 30,720 floats per sample: 2,000 probes are
246 MB per checkpoint, 4.9 GB over 20 checkpoints if materialised. This measures what the product
actually holds, phase by phase, with the peak resident memory (RSS, sampled every 5 ms in a
thread) above the RSS before the phase, and the wall time:

1. ``data``: the data set (CIFAR-10 through torchvision with ``Normalize`` when ``--cifar DIR``
   or ``LINLENS_CIFAR10`` names a folder holding ``cifar-10-batches-py``; otherwise torchvision's
   ``FakeData`` at 3×32×32 with the same transform, which the report states);
2. ``train``: ``ll.train`` of ``ll.models.cnn((3, 32, 32), 10)`` with K log-spaced checkpoints;
3. ``features``: ``run_weights(run).weight_features(i)`` for every checkpoint (the isometric
   features every embedding and distance uses; W_eff is never held whole);
4. ``embedding``: ``ll.embed(run)`` (aligned t-SNE over the K checkpoints, default settings);
5. ``page`` (``--page``): ``LensExplorer(run).save_html`` (its size is printed too).

    uv run python benchmarks/colour_scale.py [--n 2000] [--checkpoints 20] [--epochs 4]
        [--threads 2] [--cifar DIR] [--page] [--out PATH.html]

The machine is shared: run it when it is quiet, or say it was loaded.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import torch

import linlens_widgets as ll

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


class PeakRSS:
    """Sample this process's resident memory in a thread; ``peak`` is the largest seen."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def measure(label: str, work: Callable[[], Any]) -> Any:
    """Run ``work``; print its wall time, peak RSS above the start, and the RSS after."""
    with PeakRSS() as rss:
        t0 = time.perf_counter()
        result = work()
        seconds = time.perf_counter() - t0
    mb = 1024 * 1024
    print(
        f"{label:<16} {seconds:8.1f} s   peak +{(rss.peak - rss.start) / mb:7.0f} MB   "
        f"(peak RSS {rss.peak / mb:6.0f} MB)",
        flush=True,
    )
    return result


def colour_data(n_test: int, cifar: str | None) -> ll.Dataset:
    """CIFAR-10 with Normalize when a folder is given, else FakeData at 3×32×32 (same transform)."""
    from torchvision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    if cifar:
        train = datasets.CIFAR10(cifar, train=True, transform=tf)
        test = datasets.CIFAR10(cifar, train=False, transform=tf)
        return ll.datasets.from_torch(train, test, limit=max(n_test, 10_000), progress=False)
    print("data: torchvision FakeData (random images) at 3x32x32: no CIFAR-10 folder given")
    train = datasets.FakeData(2 * n_test, (3, 32, 32), 10, transform=tf, random_offset=0)
    test = datasets.FakeData(n_test, (3, 32, 32), 10, transform=tf, random_offset=10**6)
    return ll.datasets.from_torch(train, test, name="fakedata", progress=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="probe samples (default 2000)")
    parser.add_argument("--checkpoints", type=int, default=20, help="checkpoints (default 20)")
    parser.add_argument("--epochs", type=int, default=4, help="training epochs (default 4)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--cifar", default=os.environ.get("LINLENS_CIFAR10"), help="CIFAR folder")
    parser.add_argument("--page", action="store_true", help="also save the explorer's page")
    parser.add_argument(
        "--out", default=None, help="the page file to write (default: in a temporary folder)"
    )
    parser.add_argument(
        "--layout",
        choices=("tsne", "pca"),
        default="tsne",
        help="the embedding: aligned t-SNE (default) or PCA, for timing the page alone",
    )
    parser.add_argument(
        "--no-features", action="store_true", help="skip the features stage (the page's own stays)"
    )
    args = parser.parse_args()
    if args.out and Path(args.out).is_dir():  # checked before the work, not after it
        raise SystemExit(f"--out {args.out} is a folder; give the page's file name")
    torch.set_num_threads(args.threads)
    print(f"{args.n} colour probes x {args.checkpoints} checkpoints, {args.threads} threads")

    data = measure("data", lambda: colour_data(args.n, args.cifar))
    model = ll.models.cnn((3, 32, 32), 10, seed=0)
    run = measure(
        "train",
        lambda: ll.train(
            model,
            data,
            epochs=args.epochs,
            checkpoints=args.checkpoints,
            probe=args.n,
            progress=False,
        ),
    )
    print(f"run: {run}; test_acc {run.metric('test_acc')[-1]:.3f}")

    from linlens_widgets.analysis.weights import run_weights

    weights = run_weights(run)

    def features() -> tuple[int, ...]:
        """Every checkpoint's features, as the embedding asks for them; none is kept here."""
        shape: tuple[int, ...] = ()
        for i in range(len(run)):
            shape = tuple(weights.weight_features(i).shape)
        return shape

    if not args.no_features:
        shape = measure("features", features)
        print(
            f"features: {shape} per checkpoint ({shape[0] * shape[1] * 4 / 1e6:.0f} MB); the "
            f"feature cache keeps at most {weights.cache_bytes / 2**20:.0f} MiB of them"
        )
    measure(f"embedding ({args.layout})", lambda: ll.embed(run, method=args.layout, progress=False))
    if args.page:
        out = Path(args.out) if args.out else Path(tempfile.mkdtemp()) / "colour.html"
        explorer = measure("explorer", lambda: ll.LensExplorer(run))
        measure("page", lambda: explorer.save_html(out))
        print(f"page: {out} {out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
