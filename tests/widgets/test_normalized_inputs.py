"""A page carries normalised colour inputs as uint8 pixels and rebuilds them bit for bit.

torchvision's ``ToTensor`` then ``Normalize(mean, std)`` make float32 inputs that are not on a
uint8 grid; `_network.normalized_inputs` finds their pixels, and the front end's
``normalizedInput`` (``js/src/engine/responder.js``) repeats the float32 steps, under node here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms

from linlens_widgets.widgets._network import normalized_inputs

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def _normalised_images(n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Random 8×8 RGB images through ToTensor + Normalize: (uint8 codes, float32 inputs)."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(n, 8, 8, 3), dtype=np.uint8)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    x = torch.stack([tf(Image.fromarray(p)) for p in pixels]).numpy().reshape(n, -1)
    return pixels.transpose(0, 3, 1, 2).reshape(n, -1), x


def test_pixels_of_normalised_inputs_are_found_exactly() -> None:
    codes, x = _normalised_images()
    assert x.min() < 0  # really in the network's units, not [0, 1]
    np.testing.assert_array_equal(normalized_inputs(x, MEAN, STD), codes)


def test_inputs_that_are_not_normalised_pixels_stay_float32() -> None:
    _, x = _normalised_images()
    assert normalized_inputs(x + np.float32(1e-3), MEAN, STD) is None
    assert normalized_inputs(x, MEAN, (0.25, 0.25, 0.25)) is None
    # two channels split the 192 values into the wrong planes: the rebuild differs
    assert normalized_inputs(x, MEAN[:2], STD[:2]) is None


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_front_end_rebuilds_every_float32_bit(tmp_path: Path) -> None:
    codes, x = _normalised_images()
    src = ROOT / "js" / "src" / "engine" / "responder.js"
    script = tmp_path / "rebuild.mjs"
    script.write_text(
        f"import {{ normalizedInput }} from {json.dumps(src.as_uri())};\n"
        "import { readFileSync, writeFileSync } from 'node:fs';\n"
        "const { codes, d, mean, std } = JSON.parse(readFileSync(process.argv[2], 'utf8'));\n"
        "const rebuild = normalizedInput({ mean, std }, d);\n"
        "const out = new Float32Array(codes.length);\n"
        "for (let i = 0; i < codes.length / d; i++)\n"
        "  out.set(rebuild(codes.slice(i * d, (i + 1) * d)), i * d);\n"
        "writeFileSync(process.argv[3], Buffer.from(out.buffer));\n"
    )
    inp = tmp_path / "in.json"
    payload = {"codes": codes.ravel().tolist(), "d": codes.shape[1], "mean": MEAN, "std": STD}
    inp.write_text(json.dumps(payload))
    done = subprocess.run(
        [NODE, str(script), str(inp), str(tmp_path / "out.bin")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    got = np.fromfile(tmp_path / "out.bin", dtype=np.float32).reshape(x.shape)
    np.testing.assert_array_equal(got.view(np.uint32), x.view(np.uint32))
