"""Aligned t-SNE over checkpoints (``ll.embed``) against independent openTSNE on a trained run.

Data (real, nothing synthetic): the bias-free MLP 64-128-128-10 trained on scikit-learn's digits
for 20 epochs (SGD, seed 0) with 10 log-spaced checkpoints. The probe is all 1,797 digits images
(train and test split), then 1-pixel translations of them (the 8 neighbouring offsets, zero
fill) drawn at random without replacement up to N: N = 2,000 by default (1,797 originals + 203
translations), N = 10,000 with ``--large`` (1,797 + 8,203). Digits alone has too few images
for the paper's probe sizes; the translations are real inputs of the trained network.

Baseline: per checkpoint, ``run_weights(run).weight_features(i)``, the same PCA to 50
dimensions that ``ll.embed`` uses, then ``openTSNE.TSNE(n_jobs=threads, random_state=0).fit``
with openTSNE's defaults (perplexity 30, 250 early-exaggerated + 500 iterations, PCA
initialisation, Annoy neighbours, Barnes-Hut below 10,000 points and FFT interpolation from
10,000).
Candidate: ``ll.embed(run, n_jobs=threads, recompute=True)``, default settings.

Both are timed in this one process, interleaved ``--repeats`` times at N = 2,000 (medians); the
N = 10,000 case runs once. Printed: the time ratio aligned / independent, steadiness (mean
Procrustes displacement between consecutive frames, independent / aligned) and the 10-NN recall
of each layout against the full W_eff features (the same 2,000 query points for both).

Targets: ratio <= 0.5, steadiness >= 3x, recall within 0.03 of independent.

    uv run python benchmarks/embed.py [--repeats 3] [--large] [--threads 1] [--sweep]

``--repeats 0 --large`` runs the N = 10,000 case alone.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable


def arguments() -> argparse.ArgumentParser:
    """The command line (built before the heavy imports, so ``--help`` answers at once)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--repeats", type=int, default=3, help="interleaved rounds at N=2,000 (0 skips it)"
    )
    parser.add_argument("--large", action="store_true", help="also N=10,000 (one round)")
    parser.add_argument("--threads", type=int, default=1, help="threads for both methods")
    parser.add_argument("--sweep", action="store_true", help="coupling sweep at N=2,000")
    return parser


if __name__ == "__main__":
    arguments().parse_args()  # --help and bad flags are answered before the imports below

import numpy as np
import torch
from openTSNE import TSNE
from threadpoolctl import threadpool_limits

import linlens_widgets as ll
from linlens_widgets.analysis._pca import randomized_pca
from linlens_widgets.analysis._quality import (
    knn_indices,
    knn_recall,
    mean_displacement,
    query_indices,
)
from linlens_widgets.analysis.embed import DEFAULT_COUPLING, RECALL_QUERIES, embed_features
from linlens_widgets.analysis.weights import run_weights

RATIO_TARGET, STEADY_TARGET, RECALL_TOL = 0.5, 3.0, 0.03


def translated_digits(data: ll.datasets.Dataset, n: int, seed: int = 0) -> tuple:
    """All digits images, then random 1-pixel translations of them, ``n`` in all (see above)."""
    x = torch.cat([data.x_train, data.x_test])
    y = torch.cat([data.y_train, data.y_test])
    if n <= len(x):
        return x[:n], y[:n]
    images = x.reshape(-1, 8, 8)
    moved = []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dx == dy == 0:
                continue
            out = torch.zeros_like(images)
            src_r, dst_r = slice(max(dy, 0), 8 + min(dy, 0)), slice(max(-dy, 0), 8 + min(-dy, 0))
            src_c, dst_c = slice(max(dx, 0), 8 + min(dx, 0)), slice(max(-dx, 0), 8 + min(-dx, 0))
            out[:, dst_r, dst_c] = images[:, src_r, src_c]
            moved.append(out.reshape(len(x), -1))
    pool, pool_y = torch.cat(moved), y.repeat(len(moved))
    pick = torch.from_numpy(np.random.default_rng(seed).choice(len(pool), n - len(x), False))
    return torch.cat([x, pool[pick]]), torch.cat([y, pool_y[pick]])


def digits_run(n: int) -> ll.Run:
    """Train the digits MLP with an ``n``-sample probe (10 log-spaced checkpoints, 20 epochs)."""
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [128, 128], data.n_classes, bias=False, seed=0)
    t0 = time.perf_counter()
    run = ll.train(
        model,
        data,
        epochs=20,
        checkpoints=10,
        progress=False,
        seed=0,
        probe=translated_digits(data, n),
    )
    acc = [c.metrics.get("test_acc", float("nan")) for c in run.checkpoints]
    print(
        f"digits run, probe N={n}: {len(run.checkpoints)} checkpoints, epochs "
        f"{[round(c.epoch, 2) for c in run.checkpoints]}, test acc {acc[0]:.2f} -> {acc[-1]:.3f}"
        f" (trained in {time.perf_counter() - t0:.0f} s)"
    )
    return run


def independent_opentsne(run: ll.Run, threads: int) -> np.ndarray:
    """Per checkpoint: features, PCA to 50 dimensions, default openTSNE."""
    out = []
    for i in range(len(run.checkpoints)):
        reduced = randomized_pca(run_weights(run).weight_features(i), 50).scores.astype(np.float64)
        out.append(np.asarray(TSNE(n_jobs=threads, random_state=0).fit(reduced)))
    return np.stack(out)


def aligned_embed(run: ll.Run, threads: int) -> np.ndarray:
    """``ll.embed`` with its defaults, recomputed."""
    return ll.embed(run, n_jobs=threads, recompute=True, progress=False).positions


def recall(run: ll.Run, positions: np.ndarray) -> float:
    """Mean 10-NN recall of the layouts against each checkpoint's full W_eff features."""
    queries = query_indices(positions.shape[1], RECALL_QUERIES, 0)
    return float(
        np.mean(
            [
                knn_recall(
                    knn_indices(run_weights(run).weight_features(i), 10, queries), p, queries
                )
                for i, p in enumerate(positions)
            ]
        )
    )


def compare(run: ll.Run, repeats: int, threads: int) -> dict[str, float]:
    """Time both methods interleaved, then score the last layouts; print and return figures."""
    methods: dict[str, Callable[[ll.Run, int], np.ndarray]] = {
        "independent": independent_opentsne,
        "aligned": aligned_embed,
    }
    times: dict[str, list[float]] = {name: [] for name in methods}
    cpu: dict[str, list[float]] = {name: [] for name in methods}
    layouts: dict[str, np.ndarray] = {}
    for r in range(repeats):
        order = list(methods) if r % 2 == 0 else list(methods)[::-1]
        for name in order:
            t0, c0 = time.perf_counter(), time.process_time()
            layouts[name] = methods[name](run, threads)
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    disp = {k: mean_displacement(v) for k, v in layouts.items()}
    rec = {k: recall(run, v) for k, v in layouts.items()}
    e, n = layouts["aligned"].shape[:2]
    figures = {
        "ratio": med["aligned"] / med["independent"],
        "steady": disp["independent"] / disp["aligned"],
        "recall_diff": rec["aligned"] - rec["independent"],
    }
    print(f"\n== E={e} checkpoints, N={n} probe samples, {threads} thread(s), {repeats} round(s)")
    print(
        f"time     aligned {med['aligned']:7.1f} s   independent openTSNE "
        f"{med['independent']:7.1f} s   ratio {figures['ratio']:.2f}"
    )
    print(
        f"         all rounds: aligned {_secs(times['aligned'])}; independent "
        f"{_secs(times['independent'])}"
    )
    print(
        f"CPU time aligned {med_cpu['aligned']:7.1f} s   independent openTSNE "
        f"{med_cpu['independent']:7.1f} s   ratio {med_cpu['aligned'] / med_cpu['independent']:.2f}"
        " (this process only: robust to other jobs on a shared machine)"
    )
    print(
        f"steady   displacement aligned {disp['aligned']:.4f}   independent "
        f"{disp['independent']:.4f}   {figures['steady']:.2f}x steadier"
    )
    print(
        f"recall   10-NN aligned {rec['aligned']:.4f}   independent {rec['independent']:.4f}"
        f"   diff {figures['recall_diff']:+.4f}"
    )
    _verdicts(figures)
    return figures


def _secs(values: list[float]) -> str:
    return ", ".join(f"{v:.1f} s" for v in values)


def _verdicts(f: dict[str, float]) -> None:
    checks = [
        (f"time ratio <= {RATIO_TARGET}", f["ratio"] <= RATIO_TARGET, f"{f['ratio']:.2f}"),
        (f"steadiness >= {STEADY_TARGET}x", f["steady"] >= STEADY_TARGET, f"{f['steady']:.2f}x"),
        (
            f"recall within {RECALL_TOL} of independent",
            f["recall_diff"] >= -RECALL_TOL,
            f"{f['recall_diff']:+.4f}",
        ),
    ]
    for label, ok, figure in checks:
        print(f"{'PASS' if ok else 'MISS'}  {label}: {figure}")


def sweep(run: ll.Run, threads: int) -> None:
    """Steadiness and recall of the aligned layout for several couplings (choosing the default)."""
    feats = [run_weights(run).weight_features(i) for i in range(len(run.checkpoints))]
    base = independent_opentsne(run, threads)
    base_disp, base_rec = mean_displacement(base), recall(run, base)
    print("\n== coupling sweep; steadier = independent displacement / displacement")
    print(
        "{:>22s} {:>12s} {:>9s} {:>7s} {:>7s}".format(
            "coupling", "displacement", "steadier", "recall", "diff"
        )
    )
    for c in (0.001, 0.0015, 0.002, 0.005, 0.01):
        traj = embed_features(feats, coupling=c, progress=False, n_jobs=threads)
        disp, rec = mean_displacement(traj.positions), recall(run, traj.positions)
        print(f"{c:22g} {disp:12.4f} {base_disp / disp:8.2f}x {rec:7.4f} {rec - base_rec:+7.4f}")


def main() -> None:
    args = arguments().parse_args()
    torch.set_num_threads(args.threads)
    print(f"coupling default {DEFAULT_COUPLING}; {args.threads} thread(s) for both methods")
    with threadpool_limits(limits=args.threads):
        if args.repeats > 0 or args.sweep:
            run = digits_run(2000)
        if args.repeats > 0:
            compare(run, args.repeats, args.threads)
        if args.sweep:
            sweep(run, args.threads)
        if args.large:
            compare(digits_run(10_000), 1, args.threads)


if __name__ == "__main__":
    main()
