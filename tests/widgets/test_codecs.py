import numpy as np
import pytest
import torch

from linlens_widgets.widgets._codecs import (
    array_from_json,
    array_to_b64,
    array_to_json,
    pack_message,
    to_wire_array,
)


@pytest.mark.parametrize(
    ("value", "dtype"),
    [
        (np.random.rand(3, 4), "float32"),
        (np.arange(6, dtype=np.int64).reshape(2, 3), "int32"),
        (np.arange(6, dtype=np.uint8), "uint8"),
        (torch.randn(2, 5, 2), "float32"),
        (np.array([True, False]), "int32"),
    ],
)
def test_roundtrip_through_json_buffer(value, dtype):
    enc = array_to_json(value)
    assert enc["dtype"] == dtype
    assert isinstance(enc["view"], memoryview)
    assert enc["view"].nbytes == np.prod(enc["shape"]) * np.dtype(dtype).itemsize
    back = array_from_json(enc)
    np.testing.assert_allclose(back, np.asarray(value, dtype=dtype), rtol=1e-6)


def test_b64_roundtrip_matches_buffer():
    a = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 2, 2)
    enc = array_to_b64(a)
    assert set(enc) == {"b64", "dtype", "shape"}
    np.testing.assert_array_equal(array_from_json(enc), a)


def test_int64_out_of_int32_range_is_refused():
    with pytest.raises(ValueError, match="int32"):
        to_wire_array(np.array([2**40]))


def test_unsupported_dtype_is_named():
    with pytest.raises(ValueError, match="complex"):
        to_wire_array(np.array([1j]))


def test_pack_message_specs_parallel_buffers():
    msg, bufs = pack_message({"type": "x"}, {"a": np.ones((2, 3)), "skip": None, "b": np.arange(4)})
    assert [s["name"] for s in msg["arrays"]] == ["a", "b"]
    assert msg["arrays"][0] == {"name": "a", "dtype": "float32", "shape": [2, 3]}
    assert [b.nbytes for b in bufs] == [24, 16]
    assert msg["type"] == "x"
