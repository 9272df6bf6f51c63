"""Kernel-free HTML page of a LensExplorer (``LensExplorer.save_html``).

The page inlines the same front-end code the notebook runs (``static/page.js``, which bundles
the widgets' render functions) and gives it small in-page models over the widgets' state, with
binary arrays embedded as base64. For a portable network (``lens.portable``) the page carries
the network itself: every checkpoint's layer arrays, the probe inputs in their source precision
(stored once, as the scatter's thumbnails, when they are those pixels byte for byte:
:func:`pixels_once`), the per-checkpoint probe mean W_eff and neighbour tables (``_network``), and
the front end's engine computes any sample's W_eff at any checkpoint when it is clicked. Other
architectures keep a bank of precomputed W_eff for a bounded set of samples, and the page says
so. The metrics panel is drawn by the front end's own SVG chart (``js/src/chart.js``): inlined
BokehJS cost about 4 MB for one small chart. Nothing is loaded from the network.

The layer arrays are stored as float16 when that is measured to move no probe sample's W_eff by
more than 2e-3 (relative), else as float32 (``precision`` overrides), and packed without loss:
each checkpoint as its difference from the ones before, the other large arrays in byte planes,
deflated (``_packing``; the page inflates them with the browser's ``DecompressionStream``).
Everything that goes into the file is counted against ``max_mb``; a page over it is refused with a
message saying what to change.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from linlens_widgets.lens.arrays import to_numpy
from linlens_widgets.lens.portable import portable_network_reason
from linlens_widgets.runs.atomic_write import write_file_atomically
from linlens_widgets.widgets import _network, _packing
from linlens_widgets.widgets import panel as metrics_panel
from linlens_widgets.widgets._bundle import bundle_path
from linlens_widgets.widgets._codecs import array_to_b64
from linlens_widgets.widgets.validate import json_safe

# The explorer is typed ``Any`` here: this module sits below ``explorer`` (which imports it to
# save pages) and must not import it back.
Explorer = Any

MAX_BANK_BYTES = 64 * 2**20
"""Largest size of the W_eff array of the bank (K × E × C × D float32 bytes) before save_html
refuses (architectures the in-browser engine does not cover)."""

DEFAULT_MAX_MB = 30.0
"""Default size budget of a saved page, in MB (2**20 bytes), counting everything in the file."""

_MB = 2**20

PRECISIONS = ("auto", "float32", "float16")
"""How a page stores the network's layer arrays: ``auto`` picks float16 when it moves no probe
sample's W_eff by more than ``_network.FLOAT16_TOLERANCE``, float32 otherwise."""

_SKIP = ("_model_", "_view_", "_esm", "_css", "_anywidget", "_dom_classes")
_SKIP_EXACT = {"layout", "tabbable", "tooltip"}


def page_state(widget: Any) -> dict[str, Any]:
    """Return a widget's synced state as JSON-able data, arrays as ``{b64, dtype, shape}``."""
    state = widget.get_state()
    out: dict[str, Any] = {}
    for key, value in state.items():
        if key in _SKIP_EXACT or key.startswith(_SKIP):
            continue
        out[key] = _jsonable(value)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        if isinstance(value.get("view"), (memoryview, bytes)):
            raw = np.frombuffer(bytes(value["view"]), dtype=value["dtype"])
            return array_to_b64(raw.reshape(value["shape"]))
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def bank_samples(labels: np.ndarray, max_samples: int, extra: list[int]) -> np.ndarray:
    """Probe indices the page carries: up to ``max_samples`` spread evenly over classes + extra.

    Takes the first samples of each class in probe order, round-robin over classes, so every
    class is represented even when ``max_samples`` is small.

    Examples
    --------
    >>> bank_samples(np.array([0, 0, 1, 1, 2]), 3, [])
    array([0, 2, 4])
    """
    if max_samples < 2:
        raise ValueError(f"max_samples must be at least 2, got {max_samples}")
    by_class = [list(np.flatnonzero(labels == k)) for k in np.unique(labels)]
    chosen: list[int] = []
    depth = 0
    while len(chosen) < max_samples and any(depth < len(c) for c in by_class):
        for members in by_class:
            if depth < len(members) and len(chosen) < max_samples:
                chosen.append(int(members[depth]))
        depth += 1
    return np.array(sorted(set(chosen) | {int(i) for i in extra}), dtype=np.int64)


def weight_bank(explorer: Explorer, samples: np.ndarray) -> dict[str, Any]:
    """W_eff, b_eff, outputs and inputs of ``samples`` at every checkpoint of the explorer.

    The class means and the probe mean (what the centred cosine subtracts) of every checkpoint
    come along, so the page's comparison is centred as in the notebook.
    """
    compare = explorer.compare
    n_frames = len(compare.checkpoint_ids)
    rows = [compare.weights(int(s), 0) for s in samples[:1]]
    c, d = rows[0]["weight"].shape
    size = len(samples) * n_frames * c * d * 4
    if size > MAX_BANK_BYTES:
        raise ValueError(
            f"{len(samples)} samples × {n_frames} checkpoints × {c}×{d} weights need "
            f"{size / 2**20:.0f} MB (limit {MAX_BANK_BYTES / 2**20:.0f} MB); lower max_samples"
        )
    weight = np.zeros((len(samples), n_frames, c, d), np.float32)
    output = np.zeros((len(samples), n_frames, c), np.float32)
    bias: np.ndarray | None = None
    means = [compare.class_means(e) for e in range(n_frames)]
    probe_means = [compare.probe_mean(e) for e in range(n_frames)]  # the centred cosine's mean
    for e in range(n_frames):
        arr = compare.sample_rows([int(s) for s in samples], e)
        weight[:, e] = arr["weight"]
        output[:, e] = arr["output"]
        if arr["bias"] is not None:
            if bias is None:
                bias = np.zeros((len(samples), n_frames, c), np.float32)
            bias[:, e] = arr["bias"]
    inputs = to_numpy(compare.run.probe_inputs)[samples].astype(np.float32)
    inputs = inputs.reshape(len(samples), -1)
    labels = to_numpy(compare.run.probe_labels)[samples].astype(np.int64)
    return {
        "samples": array_to_b64(samples, "int32"),
        "input": array_to_b64(inputs, "float32"),
        "weight": array_to_b64(weight, "float32"),
        "bias": None if bias is None else array_to_b64(bias, "float32"),
        "output": array_to_b64(output, "float32"),
        "labels": array_to_b64(labels, "int32"),
        "class_means": array_to_b64(np.stack(means), "float32"),
        "probe_mean": array_to_b64(np.stack(probe_means), "float32"),
    }


def chart_spec(explorer: Explorer) -> dict[str, Any] | None:
    """Return the metrics panel's series for ``js/src/chart.js`` (from the Bokeh figure), or None.

    Each line of the figure becomes ``{name, x, y}``; ``cursor[k]`` is the x of checkpoint
    position k (``panel.cursor_positions``), so the chart's cursor follows the slider.
    """
    fig = explorer.panel_figure
    if fig is None:
        return None
    from bokeh.models import GlyphRenderer, Line

    series = []
    for renderer in fig.renderers:
        if not isinstance(renderer, GlyphRenderer) or not isinstance(renderer.glyph, Line):
            continue
        data = renderer.data_source.data
        x_field, y_field = renderer.glyph.x, renderer.glyph.y
        if not isinstance(x_field, str) or not isinstance(y_field, str) or y_field not in data:
            continue
        xs = np.asarray(data[x_field], dtype=np.float64)
        ys = np.asarray(data[y_field], dtype=np.float64)
        series.append({"name": y_field, "x": _finite(xs), "y": _finite(ys)})
    cursor = metrics_panel.cursor_positions(fig, explorer.scrubber.checkpoint_ids)
    title = fig.title.text if fig.title is not None else ""
    label = fig.xaxis[0].axis_label if fig.xaxis else "epoch"
    return {
        "series": series,
        "cursor": _finite(np.asarray(cursor, np.float64)),
        "title": title,
        "xLabel": label or "epoch",
        "yLabel": "value",
    }


def _finite(values: np.ndarray) -> list[float | None]:
    """Return the values as a JSON list, non-finite ones as None (a gap in the line)."""
    return [float(v) if np.isfinite(v) else None for v in values]


_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


def script_json(data: Any) -> str:
    r"""Strict JSON safe to place inside a ``<script>`` element.

    Non-finite numbers become ``null`` (see :func:`json_safe`). ``<``, ``>`` and ``&`` are
    written as ``\u003c``, ``\u003e`` and ``\u0026`` everywhere, so no string (a class, metric
    or dataset name) can form ``</script``, ``<!--`` or ``<script`` and change the HTML parser's
    state; NUL, U+2028 and U+2029 leave as ``\u`` escapes too (ASCII output). The escapes are
    JSON's own: ``JSON.parse`` returns the original strings.
    """
    text = json.dumps(json_safe(data), separators=(",", ":"), allow_nan=False, ensure_ascii=True)
    return re.sub("[<>&]", lambda m: _SCRIPT_ESCAPES[m.group(0)], text)


def strict_json(text: str, what: str) -> Any:
    """Parse ``text`` as browsers do (``NaN``, ``Infinity`` refused); errors name ``what``."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{what} is not strict JSON: it holds a bare {name}")

    try:
        return json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as err:
        raise ValueError(f"{what} is not valid JSON: {err}") from err


CARRIED = ("network", "networks", "bank")
"""The config's keys that go into the page's data script, after the boot script: what the
comparison needs (the network, a sweep's run pair, or the bank), most of a page's bytes, which the
first scatter does not wait for."""

_CONFIG_RE = re.compile(
    rb'<script id="linlens-config" type="application/json">(.*?)</script>', re.S
)
_DATA_RE = re.compile(rb'<script class="linlens-data" type="application/json">(.*?)</script>', re.S)

DATA_CHUNK = 2**16
"""Characters of the data's JSON per ``<script class="linlens-data">`` element: Chromium parses a
20 MB network in 64 KiB elements about a third faster than in one, while the page draws."""


def data_scripts(carried: dict[str, Any]) -> str:
    """Return the page's data scripts for ``carried``.

    ``carried`` as strict JSON (:func:`script_json`), cut into ``DATA_CHUNK``-character elements
    that the page joins before parsing. The JSON holds no ``<`` (escaped), so no cut can form a
    tag.
    """
    text = script_json(carried)
    return "".join(
        f'<script class="linlens-data" type="application/json">{text[i : i + DATA_CHUNK]}</script>'
        for i in range(0, len(text), DATA_CHUNK)
    )


def split_config(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a page's config into what the first frame reads and what the comparison carries.

    Returns ``(shown, carried)``: ``carried`` holds the config's ``CARRIED`` entries, ``shown``
    the rest with ``carries`` naming them (so the page knows a data script follows and says so
    when it is missing).
    """
    carried = {k: config[k] for k in CARRIED if k in config}
    shown = {k: v for k, v in config.items() if k not in CARRIED}
    if carried:
        shown["carries"] = list(carried)
    return shown, carried


def page_config(text: str | bytes) -> dict[str, Any]:
    """Return a page's whole config (its state script and its data script, merged).

    Raises ``ValueError`` naming the script when a page does not hold exactly one state script,
    its state or its data (the data scripts joined) is not strict JSON, or the data does not hold
    what the state says it carries (``carries``).
    """
    raw = text.encode("utf-8") if isinstance(text, str) else text
    found = _CONFIG_RE.findall(raw)
    if len(found) != 1:
        raise ValueError("the page does not hold exactly one state script (#linlens-config)")
    config = strict_json(found[0].decode("utf-8"), "the page's embedded JSON state")
    data = _DATA_RE.findall(raw)
    carries = config.pop("carries", []) if isinstance(config, dict) else []
    carried = (
        strict_json(b"".join(data).decode("utf-8"), "the page's embedded data") if data else {}
    )
    if not isinstance(carried, dict) or sorted(carried) != sorted(carries):
        held = sorted(carried) if isinstance(carried, dict) else type(carried).__name__
        raise ValueError(f"the page's data script holds {held}, but its state says {carries}")
    return {**config, **carried}


def check_page(path: Path) -> None:
    """Refuse a written page whose embedded state a browser could not parse (see ``_write``)."""
    try:
        page_config(path.read_bytes())
    except ValueError as err:
        raise ValueError(f"the page written to {path}: {err}") from err


def write_page(
    explorer: Explorer,
    path: Path,
    *,
    max_samples: int,
    title: str | None,
    panel: bool,
    max_mb: float = DEFAULT_MAX_MB,
    precision: str = "auto",
) -> Path:
    """Write the explorer's page to ``path`` (see ``LensExplorer.save_html``)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    labels = np.asarray(explorer.embedding._labels)
    emb = page_state(explorer.embedding)
    compare = page_state(explorer.compare)
    compare.pop("_network", None)
    compare.pop("_network_pending", None)  # the page carries its network (or bank) itself
    ids = {k: k for k in ("explorer", "embedding", "compare", "scrubber")}
    config: dict[str, Any] = {
        "root": ids["explorer"],
        "scrubber": ids["scrubber"],
        "models": {
            ids["explorer"]: {
                "kind": "explorer",
                "state": {k: f"IPY_MODEL_{ids[k]}" for k in ("embedding", "compare", "scrubber")},
            },
            ids["embedding"]: {"kind": "embedding", "state": emb},
            ids["compare"]: {"kind": "compare", "state": compare},
            ids["scrubber"]: {"kind": "scrubber", "state": page_state(explorer.scrubber)},
        },
    }
    chart = chart_spec(explorer) if panel else None
    if chart is not None:
        config["chart"] = chart
    name = title or f"linlens — {getattr(explorer.run, 'dataset_name', 'run')}"
    base = (
        f"Saved page: no kernel needed. The scatter holds all {len(labels):,} probe samples at "
        f"all {explorer.scrubber.n_checkpoints} checkpoints; "
    )
    budget = int(max_mb * _MB)
    carried = _carry_network(explorer, config, precision, thumbnails=emb.get("_thumbnails"))
    if carried is not None:
        note = base + (
            f"the page carries the network and computes any sample's W_eff in your browser "
            f"({_precision_text(carried)}), with stored probe means and neighbour lists for the "
            "centred and the raw similarity."
        )
        details = ""
    else:
        note, details = _carry_bank(explorer, config, emb, labels, max_samples, base)
    config["models"] = pack_large_arrays(config["models"])
    page = render(config, title=name, note=note, samples=details)
    size = len(page.encode("utf-8"))
    if size > budget and carried is not None and "neighbors_raw" in config["network"]:
        # the raw-cosine neighbour lists are the first thing left out to fit the budget
        del config["network"]["neighbors_raw"]
        note = note.replace(
            "centred and the raw similarity.",
            "centred similarity (the raw one's were left out to fit the size budget).",
        )
        page = render(config, title=name, note=note, samples=details)
        size = len(page.encode("utf-8"))
    if size > budget:
        raise ValueError(
            f"the page would be {size / _MB:.1f} MB, over the budget of {max_mb:g} MB"
            f"{_network_share(config, carried)}; explore fewer checkpoints (checkpoints=...) or "
            "fewer probe samples, lower max_samples, or raise max_mb"
        )
    return _write_text(path, page)


def _network_share(config: dict[str, Any], carried: dict[str, Any] | None) -> str:
    """Say what the carried network takes of an over-budget page, and what float16 would change."""
    if carried is None:
        return ""
    weights = len(config["network"]["weights"]["b64"]) / _MB
    text = f" ({carried['dtype']} weights of {weights:.1f} MB"
    if carried["dtype"] == "float32" and carried["float16_error"] is not None:
        text += f"; float16 would move W_eff by {_error_text(carried['float16_error'])}"
    return text + ")"


def _carry_network(
    explorer: Explorer,
    config: dict[str, Any],
    precision: str,
    *,
    thumbnails: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Put the packed network payload into ``config``; say how it is stored, or None.

    ``precision="auto"`` stores float16 when that moves no probe sample's W_eff or output by more
    than ``_network.FLOAT16_TOLERANCE`` (measured at every checkpoint, with the ReLU states the
    rounding would get wrong stored alongside), else float32. When the network's uint8 inputs
    are the embedding's ``thumbnails`` byte for byte (``{b64, dtype, shape}``, see
    :func:`pixels_once`), they are stored once, as the thumbnails. Returns ``{"dtype", "error",
    "float16_error"}``, or None when the model is not portable.
    """
    run = explorer.run
    ids = [int(i) for i in explorer.compare.checkpoint_ids]
    nets = _network.networks(run, ids) if ids else None
    if not nets:
        return None
    shown = explorer.facts.display
    payload = _network.network_payload(run, ids, display=shown, tables=True, nets=nets)
    if payload is None:
        return None
    chosen = "float16" if precision == "auto" else precision
    error, patterns = _network.stored_precision(run, ids, nets, chosen)
    if precision == "auto" and not error <= _network.FLOAT16_TOLERANCE:  # NaN fails too
        float16_error, chosen = error, "float32"
        error, patterns = _network.stored_precision(run, ids, nets, chosen)
    else:
        float16_error = error if chosen == "float16" else None
    if not math.isfinite(error):
        raise ValueError(_unmeasurable(chosen))
    stored = pixels_once(_network.at_precision(payload, chosen), thumbnails)
    if patterns is not None:
        stored["patterns"] = patterns
    config["network"] = _network.packed(stored)
    return {"dtype": chosen, "error": error, "float16_error": float16_error}


def pixels_once(payload: dict[str, Any], thumbnails: dict[str, Any] | None) -> dict[str, Any]:
    """Return the network payload without its inputs when they are the thumbnails' bytes.

    The embedding's thumbnails are uint8 ``(N, H, W, C)``; the network's inputs uint8 codes
    ``(N, C·H·W)`` (times ``input_scale``, or through ``input_normalize``). When the thumbnails,
    channels first, are those codes exactly, the payload says ``inputs_from: "thumbnails"`` and
    the page reads the inputs from the thumbnails (``js/src/page.js``); otherwise (other bytes,
    a downsampled or re-coloured display, float inputs) it is returned as it is.
    """
    inputs = payload.get("inputs")
    if thumbnails is None or not isinstance(inputs, np.ndarray) or inputs.dtype != np.uint8:
        return payload
    if thumbnails.get("dtype") != "uint8" or len(thumbnails.get("shape", ())) != 4:
        return payload
    pixels = np.frombuffer(base64.b64decode(thumbnails["b64"]), np.uint8)
    n, h, w, c = thumbnails["shape"]
    if pixels.size != inputs.size or n != inputs.shape[0]:
        return payload
    channels_first = pixels.reshape(n, h, w, c).transpose(0, 3, 1, 2).reshape(inputs.shape)
    if not np.array_equal(channels_first, inputs):
        return payload
    out = {k: v for k, v in payload.items() if k != "inputs"}
    out["inputs_from"] = "thumbnails"
    return out


def _unmeasurable(dtype: str) -> str:
    """Say why weights stored as ``dtype`` give no finite W_eff error, and what to do."""
    if dtype == "float16":
        return (
            "precision='float16' cannot hold this network: a weight overflows float16 (largest "
            "65504) or its W_eff is not finite once rounded; use precision='float32' or 'auto'"
        )
    return (
        "the network's weights or W_eff are not finite numbers at some checkpoint, so the page "
        "cannot compute them in the browser; check the run's checkpoints"
    )


def _error_text(error: float) -> str:
    return f"{error:.1e}" if math.isfinite(error) else "not finite: float16 cannot hold the weights"


def _precision_text(carried: dict[str, Any]) -> str:
    """One sentence on how the page stores the weights and how exact its W_eff is."""
    text = f"{carried['dtype']} weights, compressed without loss"
    if carried["error"] is not None:
        text += (
            f"; every probe sample's W_eff is within {carried['error']:.1e} (relative) of the "
            "float32 engine at every checkpoint"
        )
    if carried["dtype"] == "float32" and carried["float16_error"] is not None:
        text += f" (float16 would be off by up to {_error_text(carried['float16_error'])})"
    return text


def pack_large_arrays(value: Any, *, min_bytes: int = 4096) -> Any:
    """Replace each large ``{b64, dtype, shape}`` array by its deflated byte planes.

    Arrays of at least ``min_bytes`` are packed with ``_packing.pack_planes`` when that is
    smaller; the page decodes them on load.
    """
    if isinstance(value, list):
        return [pack_large_arrays(v, min_bytes=min_bytes) for v in value]
    if not isinstance(value, dict):
        return value
    if isinstance(value.get("b64"), str) and "dtype" in value and "encoding" not in value:
        if len(value["b64"]) * 3 // 4 < min_bytes:
            return value
        raw = np.frombuffer(base64.b64decode(value["b64"]), value["dtype"]).reshape(value["shape"])
        packed = _packing.pack_planes(raw)
        return packed if len(packed["b64"]) < len(value["b64"]) else value
    return {k: pack_large_arrays(v, min_bytes=min_bytes) for k, v in value.items()}


def _not_portable(run: Any, checkpoint: int) -> str:
    """Say why the run's model at ``checkpoint`` cannot be carried by the page."""
    try:
        model = run.model_at(checkpoint)
        return portable_network_reason(model, _network.model_input_shape(run)) or "unknown"
    except Exception as err:  # stand-ins and runs without their model class
        return f"the model cannot be rebuilt here: {err}"


def _carry_bank(
    explorer: Explorer,
    config: dict[str, Any],
    emb: dict[str, Any],
    labels: np.ndarray,
    max_samples: int,
    base: str,
) -> tuple[str, str]:
    """Put a bank of precomputed samples into ``config``; return the note and sample list."""
    cmp = explorer.compare
    extra = [*cmp.a, *cmp.b, *explorer.embedding.selection]  # what the page opens on
    samples = bank_samples(labels, max_samples, extra)
    config["bank"] = weight_bank(explorer, samples)
    if emb.get("_values") is None:
        flags = np.zeros(len(labels), np.float32)
        flags[samples] = 1.0
        emb["_values"] = array_to_b64(flags)
        emb["value_name"] = "in this page"
    model = (
        explorer.run.model_at(int(cmp.checkpoint_ids[0]))
        if hasattr(explorer.run, "model_at")
        else None
    )
    why = (
        portable_network_reason(model, _network.model_input_shape(explorer.run))
        if model is not None
        else "the run has no model"
    )
    note = base + (
        f"the in-browser engine does not cover this network ({why}), so the weight comparison "
        f"works for the {len(samples)} samples stored here (colour the scatter by \u201cin this "
        "page\u201d to see them). Open the notebook to compare any sample."
    )
    listed = html.escape(", ".join(str(int(s)) for s in samples))
    summary = "<summary>Samples whose weights this page stores</summary>"
    return note, f"<details>{summary}<p>{listed}</p></details>"


def write_single(widget: Any, kind: str, path: Path, *, title: str, note: str) -> Path:
    """Write a page holding one widget (no comparison bank, no metrics panel)."""
    config = {"root": kind, "models": {kind: {"kind": kind, "state": page_state(widget)}}}
    return write_config(path, config, title=title, note=note)


def write_config(
    path: Path, config: dict[str, Any], *, title: str, note: str, samples: str = ""
) -> Path:
    """Write a page of any kind of root (``config["root"]``'s kind: explorer, sweep, a widget).

    The one page writer: one template and one boot script (``page.js``) for every page, filled
    and written atomically (see :func:`_write_text`).
    """
    return _write_text(path, render(config, title=title, note=note, samples=samples))


def render(config: dict[str, Any], *, title: str, note: str, samples: str = "") -> str:
    """Return the page's HTML (size it before writing; :func:`write_config` writes it).

    The state the first frame reads comes before the boot script; what the comparison carries
    (:func:`split_config`) comes after it, so the browser starts the page before it has read
    the file's largest part.
    """
    shown, carried = split_config(config)
    return _TEMPLATE.format(
        title=html.escape(title),
        heading=html.escape(title),
        note=html.escape(note),
        bundle=bundle_path("page.js").read_text(encoding="utf-8").replace("</script", "<\\/script"),
        config=script_json(shown),
        data=data_scripts(carried) if carried else "",
        samples=samples,
    )


def _write_text(path: Path, page: str) -> Path:
    """Write the page atomically and only once its embedded state parses.

    The page goes to a fresh, exclusively created temporary file in the target folder, is read
    back and its state parsed as strict JSON (:func:`check_page`), and only then renamed into
    place; on any failure the temporary file is removed and an earlier page at ``path`` is left
    as it was.
    """
    return write_file_atomically(path, page.encode("utf-8"), check=check_page)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 16px auto;
       max-width: 1280px; padding: 0 16px; color: #1f2328; }}
h1 {{ font-size: 18px; margin: 0 0 4px; }}
.linlens-page-note {{ color: #57606a; font-size: 13px; margin: 0 0 12px; }}
.linlens-page-panel {{ margin-top: 16px; }}
details {{ color: #57606a; font-size: 12px; margin-top: 12px; }}
</style>
</head>
<body>
<h1>{heading}</h1>
<p class="linlens-page-note" id="linlens-bound">{note}</p>
<div id="linlens-app"></div>
<div class="linlens-page-panel" id="linlens-chart"></div>
{samples}
<script id="linlens-config" type="application/json">{config}</script>
<script>{bundle}</script>
<script>
(function () {{
  var app = document.getElementById("linlens-app");
  function fail(err) {{
    var box = document.createElement("div");
    box.className = "linlens-error";
    box.setAttribute("role", "alert");
    box.style.cssText = "border:1px solid #d73a49;background:#ffeef0;color:#86181d;padding:8px";
    box.textContent = "This page could not be shown: " + (err && err.message ? err.message : err);
    app.prepend(box);
  }}
  try {{
    if (!window.linlensPage) throw new Error("its code did not load; the file may be damaged");
    var config = document.getElementById("linlens-config");
    var chart = document.getElementById("linlens-chart");
    window.linlensPage.boot(app, config, chart).then(function (page) {{
      window.linlensModels = page.models;
    }}, fail);
  }} catch (err) {{
    fail(err);
  }}
}})();
</script>
{data}
</body>
</html>
"""
