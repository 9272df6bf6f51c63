"""The paper's whole setting through the product, stage by stage: wall time, CPU time, peak memory.

Run from the repository root: ``uv run python -m benchmarks.paper_scale`` (the full setting takes
tens of minutes on two cores; ``--probes 2000 --train 12000 --checkpoints 8 --epochs 4`` is a
few minutes).

The setting (defaults): a bias-free 784-256-256-10 MLP trained with SGD on 60,000 images for
20 epochs, 20 log-spaced checkpoints, 10,000 probe samples. Stages, in the order a user meets
them:

1. data: MNIST through torchvision's folder layout when ``--mnist-root`` is given; otherwise
   MNIST-shaped images made from scikit-learn's bundled 8x8 digits (each upsampled to 20x20 and
   placed at a random shift inside a 28x28 canvas, as MNIST centres its 20x20 digits, with
   8-bit pixels as MNIST's), which the output says. Train and test images come from disjoint
   sets of original digits.
2. training with the recorder (``ll.train``), checkpoints kept in memory;
3. the W_eff features of every checkpoint (``run_weights(run).weight_features``);
4. the aligned embedding (``ll.embed``, every core by default);
5. sub-cluster tracking of every class (``track_all_subclusters``);
6. the run stored to a folder (checkpoints and the analysis results above);
7. the explorer's first state from the stored run (``Run.load`` then ``ll.LensExplorer``); above
   2,000 probes the metrics panel's analyses, not stored yet, are computed in the background;
8. the saved page (``save_html``): it waits for those analyses, then computes the comparison's
   neighbour tables and the float16 check; its size is printed too.

Per stage: wall time, CPU time of the process (all threads; CPU/wall is the cores used) and the
peak resident memory during the stage (Linux: the VmHWM high-water mark, reset before each stage
through ``/proc/self/clear_refs``; elsewhere the process's peak so far). ``--device cuda`` trains
and computes the engine and features on the GPU when one is present.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def arguments() -> argparse.ArgumentParser:
    """The command line (built before the heavy imports, so ``--help`` answers at once)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=10_000, help="probe samples (10,000)")
    parser.add_argument("--train", type=int, default=60_000, help="training images (60,000)")
    parser.add_argument("--checkpoints", type=int, default=20, help="log-spaced checkpoints (20)")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (20)")
    parser.add_argument("--mnist-root", type=Path, help="MNIST in torchvision's layout")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (engine, features, training)")
    parser.add_argument("--n-jobs", type=int, default=None, help="cap on the threads (all cores)")
    parser.add_argument("--out", type=Path, help="folder for the stored run and the page")
    parser.add_argument("--seed", type=int, default=0)
    return parser


if __name__ == "__main__":
    arguments().parse_args()  # --help and bad flags are answered before the imports below

import numpy as np
import torch
from tqdm.auto import tqdm

import linlens_widgets as ll
from linlens_widgets.analysis.subcluster_tracking import track_all_subclusters
from linlens_widgets.analysis.threads import resolve_jobs
from linlens_widgets.analysis.weights import run_weights

SIDE = 28
DIGIT = 20  # MNIST digits are size-normalised to 20x20 and centred in 28x28


@dataclass
class Stage:
    """What one stage cost."""

    name: str
    wall: float
    cpu: float
    peak_mb: float
    note: str = ""


def reset_peak() -> bool:
    """Reset this process's resident high-water mark (Linux); whether that worked."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_mb() -> float:
    """Peak resident memory (MB) since the last reset, else since the process started."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(stages: list[Stage], name: str, fn: Callable[[], Any], note: str = "") -> Any:
    """Run one stage, record its wall, CPU and peak memory, print its line, return its result."""
    reset_peak()
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    stage = Stage(name, time.perf_counter() - wall, time.process_time() - cpu, peak_mb())
    stage.note = note(out) if callable(note) else note
    stages.append(stage)
    print(
        f"[{stage.name}] wall {stage.wall:.1f} s, CPU {stage.cpu:.1f} s "
        f"({stage.cpu / max(stage.wall, 1e-9):.2f} cores), peak RSS {stage.peak_mb:,.0f} MB"
        + (f"; {stage.note}" if stage.note else ""),
        flush=True,
    )
    return out


def digits_as_mnist(n_train: int, n_test: int, seed: int) -> Any:
    """MNIST-shaped images from the bundled digits: upsampled to 20x20, shifted in 28x28.

    Pixels are rounded to 8 bits (k/255), the precision MNIST's files store and torchvision's
    ``ToTensor`` gives, so the page stores them as MNIST's would be stored.

    Train and test images are drawn from disjoint halves (80/20) of the 1,797 original digits,
    so a probe image is never a shifted copy of a training image.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.as_tensor(digits.images, dtype=torch.float32) / 16.0
    big = torch.nn.functional.interpolate(
        images[:, None], size=(DIGIT, DIGIT), mode="bilinear", align_corners=False
    )[:, 0].clamp(0.0, 1.0)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(big))
    cut = int(0.8 * len(big))

    def draw(pool: np.ndarray, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        picks = rng.choice(pool, size=n, replace=True)
        shifts = rng.integers(0, SIDE - DIGIT + 1, size=(n, 2))
        canvas = torch.zeros((n, SIDE, SIDE))
        for k, (p, (dy, dx)) in enumerate(zip(picks, shifts, strict=True)):
            canvas[k, dy : dy + DIGIT, dx : dx + DIGIT] = big[p]
        canvas = torch.round(canvas * 255.0) / 255.0  # 8-bit pixels, as MNIST stores them
        return canvas.reshape(n, -1), torch.as_tensor(digits.target[picks], dtype=torch.int64)

    x, y = draw(order[:cut], n_train)
    x_test, y_test = draw(order[cut:], n_test)
    return ll.datasets.Dataset.from_tensors(
        x,
        y,
        x_test=x_test,
        y_test=y_test,
        image_shape=(SIDE, SIDE),
        classes=[str(c) for c in range(10)],
        name="digits as MNIST (28x28, shifted)",
    )


def load_data(args: argparse.Namespace) -> Any:
    """The data set: MNIST from a folder, else MNIST-shaped digits (said so)."""
    if args.mnist_root is not None:
        data = ll.datasets.mnist(args.mnist_root)
        print(f"data: MNIST from {args.mnist_root}")
        return data
    print(
        "data: no --mnist-root given, so MNIST-shaped images made from scikit-learn's bundled "
        "8x8 digits (upsampled to 20x20, shifted inside 28x28, 8-bit pixels), not MNIST"
    )
    return digits_as_mnist(args.train, args.probes, args.seed)


def features(run: Any, n_jobs: int | None) -> int:
    """Compute (and cache, within its budget) every checkpoint's W_eff features; their bytes."""
    weights = run_weights(run)
    total = 0
    desc = "W_eff features (isometric, kept in the run's in-memory feature cache)"
    for i in tqdm(range(len(run.checkpoints)), desc=desc, unit="ckpt", leave=False):
        total += weights.weight_features(i, n_jobs=n_jobs).nbytes
    return total


def record(args: argparse.Namespace, data: Any, stages: list[Stage], folder: Path) -> None:
    """Train, compute features, embed, track sub-clusters and store the run in ``folder``."""
    probe = min(args.probes, len(data.y_test))

    def train() -> Any:
        model = ll.models.mlp(784, [256, 256], 10, bias=False, seed=args.seed)
        return ll.train(
            model,
            data,
            epochs=args.epochs,
            checkpoints=args.checkpoints,
            probe=probe,
            seed=args.seed,
            device=args.device,
        )

    run = measure(
        stages,
        "training + recorder",
        train,
        lambda r: f"test accuracy {r.checkpoints[-1].metrics.get('test_acc', float('nan')):.3f}",
    )
    if args.device != "cpu":
        run_weights(run).device = args.device
    measure(
        stages,
        "W_eff features",
        lambda: features(run, args.n_jobs),
        lambda b: f"{b / 2**20:,.0f} MB of features over all checkpoints (never W_eff whole)",
    )
    measure(stages, "aligned embedding", lambda: ll.embed(run, n_jobs=args.n_jobs))
    measure(stages, "sub-cluster tracking", lambda: track_all_subclusters(run))
    measure(stages, "store the run", lambda: run.save(folder, overwrite=True), f"in {folder}")


def main() -> int:
    args = arguments().parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("--device cuda asked, but torch sees no GPU here; nothing measured")
        return 1
    out = args.out or Path(tempfile.mkdtemp(prefix="paper_scale_"))
    out.mkdir(parents=True, exist_ok=True)
    jobs = resolve_jobs(args.n_jobs)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"paper setting: 784-256-256-10 bias-free MLP, {args.train:,} train, {args.probes:,} "
        f"probes, {args.checkpoints} log-spaced checkpoints, {args.epochs} epochs; device "
        f"{args.device}, {jobs} of {os.cpu_count()} cores; load average {load:.1f}; "
        f"results stored in {out}"
    )
    stages: list[Stage] = []
    data = measure(stages, "data", lambda: load_data(args))
    folder = out / "run"
    record(args, data, stages, folder)  # the run in memory is released when this returns
    explorer = measure(
        stages,
        "explorer first state (stored run)",
        lambda: ll.LensExplorer(ll.Run.load(folder)),
    )
    page = out / "page.html"
    measure(
        stages,
        "saved page",
        lambda: explorer.save_html(page),
        lambda p: f"{Path(p).stat().st_size / 1e6:.1f} MB at {p}",
    )
    print_table(stages)
    return 0


def print_table(stages: list[Stage]) -> None:
    """Print the stage table (Markdown) and the process's overall peak."""
    print("\n| stage | wall (s) | CPU (s) | cores | peak RSS (MB) | note |")
    print("|---|---:|---:|---:|---:|---|")
    for s in stages:
        cores = s.cpu / max(s.wall, 1e-9)
        print(
            f"| {s.name} | {s.wall:.1f} | {s.cpu:.1f} | {cores:.2f} | {s.peak_mb:,.0f} | {s.note} |"
        )
    wall = sum(s.wall for s in stages)
    cpu = sum(s.cpu for s in stages)
    # each stage resets the high-water mark (and with it ru_maxrss), so the process's peak is
    # the largest stage's
    peak = max(s.peak_mb for s in stages)
    print(f"| **total** | {wall:.1f} | {cpu:.1f} | {cpu / wall:.2f} | {peak:,.0f} (process) | |")


if __name__ == "__main__":
    raise SystemExit(main())
