"""Aligned t-SNE over checkpoints (``ll.embed``) against independent scikit-learn t-SNE.

Part 1, digits: a bias-free MLP trained on digits with >= 8 checkpoints. Both methods embed
the same probe samples' effective weights at every checkpoint (PCA to 50 dimensions first, as
scikit-learn recommends, perplexity 30, one thread each), in this one process, interleaved
``--repeats`` times (medians reported). Printed: total time ratio, mean Procrustes-aligned
displacement between consecutive normalised frames (lower = steadier), and 10-NN recall of
each 2-D layout against the full-dimensional W_eff features.

Part 2, MNIST-sized timing: N = 10,000 random-but-structured features (10 classes with
sub-styles, drifting over 3 checkpoints; NOT real MNIST weights) to show how the two scale.

Targets (PASS/MISS): aligned >= 2.5x steadier (aim 3x); aligned recall within 0.05 of the
independent baseline.

``--sweep`` also prints the coupling trade-off on the digits run (how the default was chosen).

    uv run python benchmarks/embed.py [--repeats 1] [--skip-large] [--sweep]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

import linlens_widgets as ll
from linlens_widgets.analysis._pca import randomized_pca
from linlens_widgets.analysis._quality import knn_indices, knn_recall, mean_displacement
from linlens_widgets.analysis.embed import DEFAULT_COUPLING, embed_features
from linlens_widgets.analysis.weights import run_weights

PERPLEXITY = 30
STEADY_TARGET, STEADY_AIM, RECALL_TOL = 2.5, 3.0, 0.05


def sklearn_independent(features: list[np.ndarray]) -> np.ndarray:
    """Independent scikit-learn t-SNE per checkpoint on PCA-50 features."""
    return np.stack(
        [
            TSNE(perplexity=PERPLEXITY, init="pca", random_state=0).fit_transform(
                randomized_pca(x, 50).scores
            )
            for x in features
        ]
    )


def quality(features: list[np.ndarray], positions: np.ndarray) -> tuple[float, float]:
    """(mean consecutive displacement, mean 10-NN recall against the features)."""
    recall = np.mean(
        [knn_recall(knn_indices(x, 10), p) for x, p in zip(features, positions, strict=True)]
    )
    return mean_displacement(positions), float(recall)


def compare(name: str, features: list[np.ndarray], labels: np.ndarray, repeats: int) -> dict:
    """Time and score aligned ``embed_features`` and independent sklearn, interleaved."""
    times: dict[str, list[float]] = {"aligned": [], "sklearn": []}
    layouts: dict[str, np.ndarray] = {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        layouts["aligned"] = embed_features(
            features, labels, perplexity=PERPLEXITY, progress=False
        ).positions
        times["aligned"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        layouts["sklearn"] = sklearn_independent(features)
        times["sklearn"].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    (d_al, r_al), (d_sk, r_sk) = (
        quality(features, layouts["aligned"]),
        quality(features, layouts["sklearn"]),
    )
    e, n = layouts["aligned"].shape[:2]
    print(f"\n== {name}: E={e} checkpoints, N={n} samples, k={features[0].shape[1]} features")
    print(f"time     aligned {med['aligned']:8.1f} s   sklearn independent {med['sklearn']:8.1f} s")
    print(f"         time ratio aligned/sklearn = {med['aligned'] / med['sklearn']:.2f}")
    print(f"steady   displacement aligned {d_al:.4f}   sklearn {d_sk:.4f}")
    print(f"         aligned is {d_sk / d_al:.2f}x steadier")
    print(f"recall   10-NN aligned {r_al:.4f}   sklearn {r_sk:.4f}   diff {r_al - r_sk:+.4f}")
    return {
        "steady": d_sk / d_al,
        "recall_diff": r_al - r_sk,
        "time_ratio": med["aligned"] / med["sklearn"],
        "disp": d_sk,
        "recall": r_sk,
    }


def sweep(features: list[np.ndarray], labels: np.ndarray, baseline: dict) -> None:
    """Steadiness and recall of the aligned layout for several couplings (and openTSNE alone)."""
    print("\n== coupling sweep (digits); steadier = sklearn displacement / displacement")
    header = ("layout", "displacement", "steadier", "recall", "diff", "KL")
    print("{:>28s} {:>12s} {:>9s} {:>7s} {:>7s} {:>6s}".format(*header))
    rows = [("openTSNE independent", {"align": False})]
    rows += [(f"aligned coupling={c:g}", {"coupling": c}) for c in (0.002, 0.005, 0.01, 0.02, 0.05)]
    for name, kw in rows:
        traj = embed_features(features, labels, perplexity=PERPLEXITY, progress=False, **kw)
        disp, rec = quality(features, traj.positions)
        print(
            f"{name:>28s} {disp:12.4f} {baseline['disp'] / disp:8.2f}x {rec:7.4f} "
            f"{rec - baseline['recall']:+7.4f} {np.mean(traj.kl):6.3f}"
        )


def digits_features() -> tuple[list[np.ndarray], np.ndarray]:
    """Train the digits MLP and return each checkpoint's W_eff features and the labels."""
    data = ll.datasets.digits()
    model = ll.models.mlp(data.n_features, [128, 128], data.n_classes, bias=False, seed=0)
    t0 = time.perf_counter()
    run = ll.train(model, data, epochs=20, checkpoints=10, progress=False, seed=0)
    accs = [c.metrics.get("test_acc", float("nan")) for c in run.checkpoints]
    print(
        f"digits run: {len(run.checkpoints)} checkpoints, epochs "
        f"{[round(c.epoch, 2) for c in run.checkpoints]}, test acc {accs[0]:.2f} -> {accs[-1]:.3f}"
        f" (trained in {time.perf_counter() - t0:.0f} s)"
    )
    weights = run_weights(run)
    feats = [weights.weight_features(i).numpy() for i in range(len(run.checkpoints))]
    return feats, run.probe_labels.numpy()


def structured_features(
    n: int = 10_000, k: int = 256, frames: int = 3, seed: int = 0
) -> tuple[list[np.ndarray], np.ndarray]:
    """Random-but-structured stand-in for MNIST-sized W_eff features (timing only).

    10 classes, each a mixture of 3 styles around a class centre, in a 20-d subspace plus
    isotropic noise; the geometry drifts (classes contract) over the frames.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    styles = rng.integers(0, 3, n)
    centres = rng.normal(0, 4.0, (10, 20))
    offsets = rng.normal(0, 1.5, (10, 3, 20))
    noise = rng.normal(0, 1.0, (n, 20))
    basis = np.linalg.qr(rng.normal(size=(k, 20)))[0].T
    out = []
    for t in range(frames):
        spread = 1.0 - 0.25 * t / max(1, frames - 1)
        latent = centres[labels] + spread * (offsets[labels, styles] + noise)
        out.append((latent @ basis + rng.normal(0, 0.3, (n, k))).astype(np.float32))
    return out, labels


def verdict(label: str, ok: bool, figure: str) -> None:
    print(f"{'PASS' if ok else 'MISS'}  {label}: {figure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"coupling default {DEFAULT_COUPLING}; perplexity {PERPLEXITY}; one thread per method")
    with threadpool_limits(limits=1):
        feats, labels = digits_features()
        digits = compare("digits", feats, labels, args.repeats)
        if args.sweep:
            sweep(feats, labels, digits)
        large = None
        if not args.skip_large:
            feats, labels = structured_features()
            large = compare(
                "MNIST-sized (N=10,000 structured random features, timing only)", feats, labels, 1
            )
    print("\n== targets (digits)")
    verdict(
        f"steadiness >= {STEADY_TARGET}x (aim {STEADY_AIM}x)",
        digits["steady"] >= STEADY_TARGET,
        f"{digits['steady']:.2f}x" + (" (aim met)" if digits["steady"] >= STEADY_AIM else ""),
    )
    verdict(
        f"10-NN recall within {RECALL_TOL} of independent",
        digits["recall_diff"] >= -RECALL_TOL,
        f"{digits['recall_diff']:+.4f}",
    )
    print(f"INFO  time ratio aligned/sklearn (digits): {digits['time_ratio']:.2f}")
    if large is not None:
        print(f"INFO  time ratio aligned/sklearn (N=10,000): {large['time_ratio']:.2f}")


if __name__ == "__main__":
    main()
