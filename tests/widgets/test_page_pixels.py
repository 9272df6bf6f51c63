"""A saved page stores the probe pixels once when the network's inputs are those very pixels.

The embedding's thumbnails (uint8, ``(N, H, W, C)``) and the carried network's inputs (uint8 codes
times ``input_scale``) are the same bytes for image data whose inputs are ``pixel / 255``: the
page then keeps the thumbnails only, and the front end reads the network's inputs from them.
Where the bytes differ (digits scaled by 1/16: codes 0..16, thumbnails 0..255) both are kept.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import linlens_widgets as ll
from linlens_widgets.widgets._packing import unpack
from tests.helpers.offline import page_config
from tests.helpers.pixel_runs import pixel_digits, stand_in_page


def _config(path: Path) -> dict:
    return page_config(path.read_text(encoding="utf-8"))


def _thumbnails(config: dict) -> np.ndarray:
    return unpack(config["models"]["embedding"]["state"]["_thumbnails"])


@pytest.fixture(scope="module")
def pixel_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[ll.Run, Path]:
    return stand_in_page(pixel_digits(), tmp_path_factory.mktemp("pixels"))


def test_the_pixels_are_stored_once_and_are_the_networks_inputs(pixel_page) -> None:
    run, path = pixel_page
    config = _config(path)
    network = config["network"]
    assert "inputs" not in network, "the page stores the network's inputs beside the thumbnails"
    assert network["inputs_from"] == "thumbnails"
    thumbs = _thumbnails(config)
    n = len(run.probe_labels)
    assert thumbs.dtype == np.uint8 and thumbs.shape == (n, 8, 8, 1)
    # what the front end rebuilds: the pixels in the network's order, times input_scale
    codes = thumbs.transpose(0, 3, 1, 2).reshape(n, -1)
    x = np.asarray(run.probe_inputs, np.float32).reshape(n, -1)
    np.testing.assert_array_equal((codes * network["input_scale"]).astype(np.float32), x)


def test_pixels_that_are_not_the_inputs_are_kept_apart(tmp_path: Path) -> None:
    """Digits scaled by 1/16: the network's codes (0..16) are not the thumbnails (0..255)."""
    run, path = stand_in_page(ll.datasets.digits(), tmp_path)
    network = unpack(_config(path)["network"])
    assert "inputs_from" not in network
    n = len(run.probe_labels)
    assert network["inputs"].dtype == np.uint8 and network["inputs"].shape == (n, 64)
    assert int(network["inputs"].max()) <= 16 < int(_thumbnails(_config(path)).max())
