"""A minimal file:// page carrying the effective-weight engine, a network and samples.

Shared by the browser test of the engine and ``benchmarks/page_engine.py``: the page inlines the
built ``engine.js`` (``window.linlensEngine``), the classic-worker script as a string
(``window.WORKER_SOURCE``, started from a Blob URL the way a saved page does) and a JSON payload
``{spec, arrays: [{b64}], samples: {b64, shape}}`` in ``<script id="net">``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import torch
from torch import nn

from linlens_widgets.lens.portable import portable_network, portable_network_reason, to_arrays
from linlens_widgets.widgets._bundle import STATIC

PAGE = """<!doctype html><meta charset="utf-8"><title>effective-weight engine</title>
<script>{engine}</script>
<script>window.WORKER_SOURCE = {worker};</script>
<script id="net" type="application/json">{payload}</script>
"""

#: In the page: ``start({useWorker, dtype?})`` loads the payload into a new engine and returns it.
START_JS = """
window.startEngine = async ({useWorker, workerSource}) => {
  const payload = JSON.parse(document.getElementById('net').textContent);
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const arrays = payload.arrays.map((a) => bytes(a.b64));
  const samples = new Float32Array(bytes(payload.samples.b64).buffer);
  const source = workerSource ?? window.WORKER_SOURCE;
  const engine = window.linlensEngine.createEngine({workerSource: source, worker: useWorker});
  const t = performance.now();
  await engine.load('net', payload.spec, arrays);
  await engine.loadInputs('probe', samples, payload.samples.shape);
  engine.loadMs = performance.now() - t;
  engine.nOutputs = payload.spec.n_outputs;
  return engine;
};
"""


def payload(model: nn.Module, x: torch.Tensor, dtype: str = "float32") -> dict:
    """The JSON payload for ``model`` (stored as ``dtype``) and samples ``x`` (float32)."""
    net = portable_network(model)
    if net is None:
        raise ValueError(portable_network_reason(model))
    spec, arrays = to_arrays(net, dtype)
    flat = x.reshape(len(x), -1).to(torch.float32).contiguous().numpy()
    return {
        "spec": spec,
        "arrays": [{"b64": base64.b64encode(a.tobytes()).decode()} for a in arrays],
        "samples": {"b64": base64.b64encode(flat.tobytes()).decode(), "shape": list(flat.shape)},
    }


def missing_bundle() -> list[str]:
    """Names of the engine's bundle files that were not built."""
    return [n for n in ("engine.js", "engine-worker.js") if not (STATIC / n).is_file()]


def write_page(path: Path, data: dict) -> Path:
    """Write the page for ``data`` (from `payload`) at ``path``; returns the path."""
    text = (
        PAGE.format(
            engine=(STATIC / "engine.js").read_text(),
            worker=json.dumps((STATIC / "engine-worker.js").read_text()),
            payload=json.dumps(data).replace("</", "<\\/"),
        )
        + f"<script>{START_JS}</script>\n"
    )
    path.write_text(text)
    return path
