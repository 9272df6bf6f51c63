"""Memory and time from small inputs: a few bytes must never make the package allocate
gigabytes or loop for minutes."""

from __future__ import annotations

import gzip
import json
import re
import resource
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

import linlens_widgets as ll
from linlens_widgets.runs import _idx
from linlens_widgets.runs.schedule import log_steps
from linlens_widgets.runs.store import RunFormatError

# ----------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("bad", "dtype", "shown"),
    [
        (10**9, np.int64, "1000000000"),
        (np.iinfo(np.uint32).max, np.uint32, "4294967295"),  # a -1 sentinel stored unsigned
        (2**62, np.int64, str(2**62)),
    ],
)
def test_one_huge_label_is_named_without_allocating(bad: int, dtype: type, shown: str) -> None:
    x = np.random.default_rng(0).random((40, 4, 4))
    y = np.arange(40, dtype=dtype) % 4
    y[17] = bad
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=rf"label {shown}.*position 17"):
            ll.Dataset.from_tensors(x, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


@pytest.mark.parametrize(
    "y17", [np.array(-1, np.int64), np.array(np.iinfo(np.uint64).max, np.uint64)]
)
def test_a_negative_label_is_named_with_its_position(y17: np.ndarray) -> None:
    x = np.random.default_rng(0).random((40, 4, 4))
    y = (np.arange(40) % 4).astype(y17.dtype)
    y[17] = y17
    with pytest.raises(ValueError, match=r"negative label \(-1\) at position 17"):
        ll.Dataset.from_tensors(x, y)


def test_labels_beyond_the_named_classes_are_named() -> None:
    x = np.random.default_rng(0).random((40, 4, 4))
    y = np.arange(40) % 3
    with pytest.raises(ValueError, match=r"y_test holds label 5 at position 2.*3 classes"):
        ll.Dataset.from_tensors(
            x, y, x_test=x[:4], y_test=np.array([0, 1, 5, 2]), classes=["a", "b", "c"]
        )
    y[3] = 7
    with pytest.raises(ValueError, match=r"y holds label 7 at position 3"):
        ll.Dataset.from_tensors(x, y, classes=["a", "b", "c"])


# ----------------------------------------------------------------------------- model spec


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hidden": [4_000_000]},  # 1 GB of weights if built
        {"n_in": 10**18},  # more than torch can even size
        {"hidden": [16] * 1_000_000},  # a stack that takes minutes to build even on meta
    ],
)
def test_a_huge_model_spec_is_refused_before_it_is_built(run_dir: Path, kwargs: dict) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["model"]["spec"]["kwargs"].update(kwargs)
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(RunFormatError, match=r"manifest\.json"):
        ll.Run.load(run_dir)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 300 * 1024


# ----------------------------------------------------------------------------- IDX files


def _idx_header(count: int, magic: int = _idx.IMAGES_MAGIC) -> bytes:
    dims = [count, 28, 28] if magic == _idx.IMAGES_MAGIC else [count]
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)


def _gzip_bomb(path: Path, header: bytes, zeros: int) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip container
    chunk = bytes(1 << 20)
    with open(path, "wb") as f:
        f.write(compressor.compress(header))
        for _ in range(zeros >> 20):
            f.write(compressor.compress(chunk))
        f.write(compressor.flush())


def test_a_gzip_bomb_is_not_inflated(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte.gz"
    _gzip_bomb(path, _idx_header(10), 256 << 20)  # 256 MB of zeros in ~0.3 MB
    assert path.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=rf"{re.escape(path.name)}.*more data than its header"):
            _idx.read_idx(path, magic=_idx.IMAGES_MAGIC)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_a_header_announcing_terabytes_allocates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    header = _idx.IMAGES_MAGIC.to_bytes(4, "big") + (2**32 - 1).to_bytes(4, "big") * 3
    path.write_bytes(gzip.compress(header + bytes(1000)))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=re.escape(path.name)):
            _idx.read_idx(path, magic=_idx.IMAGES_MAGIC)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


@pytest.mark.parametrize(
    "damage",
    [
        lambda good: good[:-30],  # truncated
        lambda good: good[:20] + bytes(len(good) - 20),  # corrupt deflate stream
        lambda good: good[:10] + b"\xff" * 50,
        lambda good: b"\x1f\x8b",  # only a signature
        lambda good: gzip.compress(_idx_header(3)[:6]),  # truncated header
        lambda good: gzip.compress(_idx_header(3, _idx.LABELS_MAGIC) + bytes(3)),  # wrong magic
        lambda good: good + b"garbage after the stream",
    ],
)
def test_every_decoding_failure_is_a_value_error_naming_the_file(tmp_path: Path, damage) -> None:
    good = gzip.compress(_idx_header(3) + bytes(3 * 28 * 28))
    assert _idx.read_idx(_write(tmp_path / "ok.gz", good), magic=_idx.IMAGES_MAGIC).shape == (
        3,
        28,
        28,
    )
    path = _write(tmp_path / "bad-images.gz", damage(good))
    with pytest.raises(ValueError, match=r"bad-images\.gz"):
        _idx.read_idx(path, magic=_idx.IMAGES_MAGIC)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------------------- nested JSON


def _deep(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def test_deeply_nested_manifest_is_a_run_format_error(run_dir: Path) -> None:
    text = (run_dir / "manifest.json").read_text()
    deep = "[" * 100_000 + "]" * 100_000
    (run_dir / "manifest.json").write_text(text.replace('"training": {', f'"x": {deep}, "t": {{'))
    with pytest.raises(RunFormatError, match=r"manifest\.json.*nests JSON"):
        ll.Run.load(run_dir)


def test_deeply_nested_safetensors_header_is_a_run_format_error(run_dir: Path) -> None:
    file = run_dir / "probe.safetensors"
    data = file.read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = data[8 : 8 + size].decode().rstrip()
    bad = header[:-1] + ', "deep": ' + "[" * 50_000 + "]" * 50_000 + "}"
    file.write_bytes(len(bad).to_bytes(8, "little") + bad.encode() + data[8 + size :])
    with pytest.raises(RunFormatError, match=r"probe\.safetensors.*nests JSON"):
        ll.Run.load(run_dir)


def test_deeply_nested_attachment_meta_is_named_and_skipped(run_dir: Path) -> None:
    from safetensors.numpy import save_file

    deep = "[" * 20_000 + "]" * 20_000
    (run_dir / "analysis").mkdir(exist_ok=True)
    save_file(
        {"a": np.zeros(2)}, str(run_dir / "analysis" / "x.safetensors"), {"linlens_meta": deep}
    )
    with pytest.warns(UserWarning, match=r"analysis/x\.safetensors.*nests JSON"):
        run = ll.Run.load(run_dir)  # a damaged derived entry never makes the run unloadable
    assert "x" not in run.analysis_entries


# ----------------------------------------------------------------------------- log schedule


@pytest.mark.parametrize(("total", "count"), [(18_760, 10_000), (10**7, 50_000), (100, 99)])
def test_log_steps_is_fast_for_large_counts(total: int, count: int) -> None:
    start = time.perf_counter()
    steps = log_steps(total, count)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0
    assert len(steps) == count == len(set(steps))
    assert steps[0] == 0 and steps[-1] == total and steps == sorted(steps)


def test_log_steps_keeps_its_documented_values() -> None:
    assert log_steps(100, 8) == [0, 1, 2, 5, 10, 22, 46, 100]
    assert log_steps(5, 20) == [0, 1, 2, 3, 4, 5]
