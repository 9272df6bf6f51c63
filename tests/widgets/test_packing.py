"""Lossless packing of a saved page's arrays, and its agreement with the page's decoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from linlens_widgets.widgets._packing import (
    pack_checkpoints,
    pack_planes,
    unpack,
    unpack_checkpoints,
)

FIXTURE = Path(__file__).resolve().parents[2] / "js" / "test" / "fixtures" / "packed.json"


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.uint8)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_checkpoint_deltas_give_back_every_bit(dtype: type) -> None:
    rng = np.random.default_rng(0)
    arrays = [
        [
            rng.standard_normal((5, 7)).astype(dtype) * dtype(4.0**t),
            rng.standard_normal(3).astype(dtype),
        ]
        for t in range(6)
    ]
    arrays[2][0][0, 0] = np.nan
    arrays[3][0][0, 1] = -0.0
    arrays[4][1][0] = np.inf
    arrays[5][1][1] = -np.inf
    arrays[1][0][0, 0] = np.finfo(dtype).max
    arrays[1][0][0, 1] = -np.finfo(dtype).max
    back = unpack_checkpoints(pack_checkpoints(arrays))
    for row, got in zip(arrays, back, strict=True):
        for a, b in zip(row, got, strict=True):
            assert b.dtype == a.dtype and b.shape == a.shape
            assert np.array_equal(_bits(a), _bits(b))


def test_slowly_changing_weights_pack_far_below_their_size() -> None:
    rng = np.random.default_rng(1)
    w = rng.standard_normal((128, 128)).astype(np.float32)
    steps = [[(w + 0.01 * t * rng.standard_normal(w.shape)).astype(np.float16)] for t in range(10)]
    packed = pack_checkpoints(steps)
    raw = 10 * w.size * 2
    assert len(packed["b64"]) * 3 / 4 < 0.75 * raw


def test_planes_round_trip_any_dtype_and_empty() -> None:
    for a in [
        np.arange(-5, 5, dtype=np.int16),
        np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4),
        np.zeros((0, 3), np.float32),
        np.arange(7, dtype=np.uint8),
    ]:
        got = unpack(pack_planes(a))
        assert got.dtype == a.dtype and np.array_equal(got, a)


def test_checkpoints_that_disagree_are_refused_by_name() -> None:
    a = np.zeros((2, 2), np.float16)
    with pytest.raises(ValueError, match="checkpoint 1 has arrays"):
        pack_checkpoints([[a], [np.zeros((2, 3), np.float16)]])
    with pytest.raises(ValueError, match="float16 or float32, not int32"):
        pack_checkpoints([[np.zeros(2, np.int32)]])


def test_python_decodes_the_bytes_the_page_tests_decode() -> None:
    """The front end's tests decode this fixture; Python must read it to the same bits."""
    fixture = json.loads(FIXTURE.read_text())
    got = unpack(fixture["float16"]["packed"])
    for t, row in enumerate(got):
        for i, a in enumerate(row):
            assert a.view(np.uint16).ravel().tolist() == fixture["float16"]["bits"][t][i]
    got32 = unpack(fixture["float32"]["packed"])
    assert [row[0].view(np.uint32).tolist() for row in got32] == [
        row[0] for row in fixture["float32"]["bits"]
    ]
    assert unpack(fixture["planes"]["packed"]).tolist() == fixture["planes"]["values"]
