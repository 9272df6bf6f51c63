"""Size budgets of saved pages, every sample comparable: the demo's (<= 3 MB) and the paper
setting's (784-256-256-10, 2,000 probes, 20 checkpoints; <= 30 MB).

The paper-setting run is built here from a seeded model trained a few steps on 28×28 uint8
images written as IDX files and loaded with ``ll.datasets.mnist``; the layout is a stand-in
(random positions), since the page's size does not depend on where the points lie. Every part of
the file is counted: the bundle, the widgets' state, positions, thumbnails, the network, probe
means and neighbour tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import linlens_widgets as ll
from linlens_widgets.analysis.trajectory import Trajectory
from linlens_widgets.cli.demo import DEMO_PARAMS, demo_run
from linlens_widgets.widgets._packing import DELTA_CODEC, unpack
from tests.helpers.offline import page_config

pytestmark = pytest.mark.slow

PAPER_BUDGET_MB = 30
DEMO_BUDGET_MB = 3
N_PROBE, N_CHECKPOINTS = 2000, 20


def _idx(array: np.ndarray) -> bytes:
    magic = 0x0800 | array.ndim
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _mnist_like(folder: Path) -> None:
    """Write 28×28 uint8 images whose class is a bright bar at a class-specific row."""
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 1000), ("t10k", N_PROBE)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 60, (n, 28, 28))
        for k in range(10):
            images[labels == k, 2 + 2 * k : 4 + 2 * k, 4:24] = 255
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(_idx(images))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx(labels))


@pytest.fixture(scope="module")
def paper_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[ll.Run, Path]:
    folder = tmp_path_factory.mktemp("mnist")
    _mnist_like(folder)
    data = ll.datasets.mnist(folder)
    torch.manual_seed(0)
    model = ll.models.mlp(784, [256, 256], 10, seed=0)
    steps = {"steps": list(range(N_CHECKPOINTS))}
    run = ll.train(model, data, epochs=2, checkpoints=steps, probe=N_PROBE, progress=False)
    assert (len(run.checkpoints), len(run.probe_labels)) == (N_CHECKPOINTS, N_PROBE)
    rng = np.random.default_rng(1)
    positions = rng.uniform(-1, 1, (N_CHECKPOINTS, N_PROBE, 2)).astype(np.float32)
    traj = Trajectory(
        positions,
        checkpoint_ids=np.arange(N_CHECKPOINTS),
        labels=np.asarray(run.probe_labels),
        epochs=np.asarray([c.epoch for c in run.checkpoints], np.float64),
        steps=np.asarray([c.step for c in run.checkpoints]),
    )
    explorer = ll.LensExplorer(run, trajectory=traj, panel=False)
    path = explorer.save_html(tmp_path_factory.mktemp("page") / "paper.html")
    return run, path


def test_paper_page_fits_the_budget_with_every_sample_comparable(paper_page) -> None:
    run, path = paper_page
    size = path.stat().st_size
    assert size <= PAPER_BUDGET_MB * 2**20, f"{size / 2**20:.1f} MB"
    text = path.read_text(encoding="utf-8")
    config = _config(text)
    assert "bank" not in config  # no bank: the network answers every sample
    packed = config["network"]
    assert packed["spec"]["dtype"] == "float16"  # measured within tolerance, and said so
    assert "float16 weights" in text and "within" in text
    assert packed["weights"]["codec"] == DELTA_CODEC
    network = unpack(packed)
    assert len(network["weights"]) == N_CHECKPOINTS
    # the probe pixels are stored once: the network reads its inputs from the thumbnails
    assert "inputs" not in network and packed["inputs_from"] == "thumbnails"
    pixels = unpack(config["models"]["embedding"]["state"]["_thumbnails"])
    assert pixels.dtype == np.uint8 and pixels.shape == (N_PROBE, 28, 28, 1)
    x = np.asarray(run.probe_inputs, np.float32).reshape(N_PROBE, 784)
    codes = pixels.reshape(N_PROBE, 784)
    np.testing.assert_array_equal((codes * packed["input_scale"]).astype(np.float32), x)
    assert network["neighbors"]["index"].dtype == np.int16
    assert network["neighbors"]["similarity"].dtype == np.float16
    print(f"paper-setting page: {size / 2**20:.1f} MB")


def _config(text: str) -> dict:
    return page_config(text)


def test_demo_page_fits_three_mb_with_every_sample_comparable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page ``linlens demo --html`` writes, at the demo's default settings."""
    monkeypatch.setenv("LINLENS_CACHE_DIR", str(tmp_path / "cache"))
    run = demo_run(tmp_path / "cache" / "demo", DEMO_PARAMS)
    path = ll.LensExplorer(run).save_html(tmp_path / "demo.html")
    size = path.stat().st_size
    assert size <= DEMO_BUDGET_MB * 2**20, f"{size / 2**20:.2f} MB"
    config = _config(path.read_text(encoding="utf-8"))
    assert "bank" not in config and config["network"]["weights"]["checkpoints"] == len(
        run.checkpoints
    )
    print(f"demo page: {size / 2**20:.2f} MB ({size:,} bytes)")


def test_a_page_over_budget_is_refused_with_what_to_change(paper_page, tmp_path) -> None:
    run, _ = paper_page
    traj = Trajectory(
        np.zeros((N_CHECKPOINTS, N_PROBE, 2), np.float32),
        checkpoint_ids=np.arange(N_CHECKPOINTS),
        labels=np.asarray(run.probe_labels),
    )
    explorer = ll.LensExplorer(run, trajectory=traj, panel=False)
    with pytest.raises(ValueError, match=r"fewer checkpoints.*fewer probe samples"):
        explorer.save_html(tmp_path / "big.html", max_mb=2)
