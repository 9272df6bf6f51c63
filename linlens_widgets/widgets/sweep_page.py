"""The kernel-free page of a sweep explorer (``SweepExplorer.save_html``).

Written by the package's one page writer (``_page.write_config``, root kind ``sweep``), booted by
the same ``page.js`` as an explorer's page. When both compared runs' networks are portable and
fit the page's budget, the page carries the two networks and the in-page engine compares any
probe sample across the runs at any epoch of the common axis (``js/src/engine/pair.js``);
otherwise it stores the W_eff of a bounded set of samples (a bank) and says so.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from linlens_widgets.lens.arrays import to_numpy
from linlens_widgets.widgets import _network, _page, run_facts
from linlens_widgets.widgets._codecs import array_to_b64

__all__ = ["DEFAULT_PAGE_SAMPLES", "write_sweep_page"]

DEFAULT_PAGE_SAMPLES = 24
"""Probe samples whose cross-run comparison a page without the networks carries by default."""


def write_sweep_page(
    ex: Any, path: Path, *, max_samples: int, title: str | None, max_mb: float
) -> Path:
    """Write the explorer's kernel-free page (see ``SweepExplorer.save_html``)."""
    n = ex.pair.n
    models: dict[str, Any] = {}
    refs = []
    for k, view in enumerate(ex.embeddings):
        models[f"embedding{k}"] = {"kind": "embedding", "state": _page.page_state(view)}
        refs.append(f"IPY_MODEL_embedding{k}")
    models["compare"] = {"kind": "compare", "state": _page.page_state(ex.compare)}
    models["scrubber"] = {"kind": "scrubber", "state": _page.page_state(ex.scrubber)}
    layout = _page.page_state(ex.layout_widget)
    layout.update(embeddings=refs, compare="IPY_MODEL_compare", scrubber="IPY_MODEL_scrubber")
    models["sweep"] = {"kind": "sweep", "state": layout}
    config: dict[str, Any] = {"root": "sweep", "scrubber": "scrubber", "models": models}
    name = title or f"linlens sweep — {Path(getattr(ex.sweep, 'out', 'sweep')).name}"
    base = (
        f"Saved page: no kernel needed. {len(ex.runs)} runs of the sweep, every probe sample at "
        f"every epoch of the common axis ({len(ex.epochs)} epochs); brushing in one scatter "
        "selects the same samples in all. "
    )
    budget = int(max_mb * 2**20)
    networks = _pair_networks(ex)
    if networks is not None:
        config["networks"] = networks
        note = base + (
            f"The page carries both compared networks and computes any of the {n:,} samples' "
            "W_eff in your browser, in either run."
        )
        packed = _packed(config)
        if len(_page.render(packed, title=name, note=note).encode("utf-8")) <= budget:
            return _page.write_config(path, packed, title=name, note=note)
        del config["networks"]
    chosen = _carry_bank(ex, config, max_samples)
    note = base + (
        f"The comparison across runs works for the {len(chosen)} samples stored here (colour a "
        "scatter by \u201cin this page\u201d); open the notebook to compare any sample."
    )
    packed = _packed(config)
    size = len(_page.render(packed, title=name, note=note).encode("utf-8"))
    if size > budget:
        raise ValueError(
            f"the page would be {size / 2**20:.1f} MB, over the budget of {max_mb:g} MB; show "
            "fewer runs (runs=...) or lower max_samples, or raise max_mb"
        )
    return _page.write_config(path, packed, title=name, note=note)


def _packed(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "models": _page.pack_large_arrays(config["models"])}


def _pair_networks(ex: Any) -> list[dict[str, Any]] | None:
    """Both compared runs' network payloads on the common axis, or None when one is not portable.

    Checkpoint ``k`` of each payload is the run's checkpoint shown at axis position ``k``; the
    payloads carry their probe mean and neighbour tables, as an explorer page's network does.
    """
    pair = ex.pair
    out = []
    for run, ids in ((pair.run_a, pair.map_a), (pair.run_b, pair.map_b)):
        nets = _network.networks(run, ids, progress=False)
        if not nets:
            return None
        shown = run_facts.display(run, run_facts.input_shape(run))
        payload = _network.network_payload(
            run, ids, display=shown, tables=True, progress=False, nets=nets
        )
        if payload is None:
            return None
        out.append(_network.packed(_network.at_precision(payload, "float32")))
    return out


def _carry_bank(ex: Any, config: dict[str, Any], max_samples: int) -> np.ndarray:
    """Store the W_eff of up to ``max_samples`` probe samples in both runs; return the samples."""
    n = ex.pair.n
    labels = to_numpy(ex.runs[0].probe_labels).astype(np.int64)
    s = int((ex.compare.a or [0])[0]) % n
    chosen = _page.bank_samples(labels, max_samples, [s, *ex.selection[:1]])
    samples = np.concatenate([chosen, chosen + n])
    config["bank"] = {
        **_page.weight_bank(SimpleNamespace(compare=ex.compare), samples),
        "pair_size": n,
    }
    for k in range(len(ex.embeddings)):
        state = config["models"][f"embedding{k}"]["state"]
        if state.get("_values") is None:
            flags = np.zeros(n, np.float32)
            flags[chosen] = 1.0
            state["_values"] = array_to_b64(flags)
            state["value_name"] = "in this page"
    return chosen
