"""A run's summary in a few labelled lines: what ``linlens info`` prints and reports show."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from linlens_widgets.runs.store import Run

__all__ = ["run_summary"]

#: Name of the analysis-store entry holding the run's embedding (written by ``embed``).
TRAJECTORY_ENTRY = "trajectory"


def run_summary(run: Run) -> dict[str, str]:
    """Return a run's manifest summary as ``{label: text}`` lines (what ``linlens info`` prints).

    Parameters
    ----------
    run : Run
        A trained or loaded run.

    Returns
    -------
    dict of str to str
        Dataset, classes, model, training, checkpoints, probe, final metrics and embedding.

    >>> run_summary(run)["checkpoints"]  # doctest: +SKIP
    '12 (epochs 0 to 20)'
    """
    checkpoints = run.checkpoints
    summary = {
        "dataset": f"{run.dataset_name} ({_inputs(run.display)})",
        "classes": ", ".join(run.classes),
        "model": _describe_spec(run.model_spec),
        "training": ", ".join(f"{k}={v}" for k, v in run.config.items()) or "-",
        "checkpoints": (
            f"{len(checkpoints)} (epochs {checkpoints[0].epoch:g} to {checkpoints[-1].epoch:g})"
            if checkpoints
            else "none"
        ),
        "probe": f"{len(run.probe_labels)} test samples",
    }
    if checkpoints:
        final = checkpoints[-1].metrics
        summary["final"] = ", ".join(f"{k}={v:.4g}" for k, v in sorted(final.items())) or "-"
    trajectory = run.analysis_entries.get(TRAJECTORY_ENTRY)
    if trajectory is None:
        summary["embedding"] = "not computed (linlens export computes it)"
    else:
        _, meta = trajectory
        summary["embedding"] = ", ".join(
            f"{k}={meta[k]}" for k in ("method", "perplexity") if k in meta
        ) or ("cached")
    return summary


def _describe_spec(spec: dict[str, Any] | None) -> str:
    """``mlp(n_in=64, hidden=[256, 256], ...)`` for a preset, or "custom module"."""
    if spec is None:
        return "custom module"
    kwargs = ", ".join(f"{k}={v!r}" for k, v in spec.get("kwargs", {}).items())
    return f"{spec.get('preset', 'model')}({kwargs})"


def _inputs(display: Any) -> str:
    """Say what one input is: ``images 8x8``, ``colour images 3x32x32`` or ``13 features``."""
    if not display.is_image:
        return f"{display.shape[0]} features"
    c, h, w = display.shape
    if c == 1:
        return f"images {h}x{w}"
    return f"colour images {c}x{h}x{w}" if c == 3 else f"{c}-channel images {h}x{w}"
