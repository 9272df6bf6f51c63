import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

import linlens_widgets as ll
from linlens_widgets.runs import datasets

NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def idx_bytes(array: np.ndarray) -> bytes:
    """Real IDX bytes: magic (0, 0, 0x08 = ubyte, ndim), big-endian dims, then the data."""
    magic = 0x0800 | array.ndim  # 2051 for 3-D images, 2049 for 1-D labels
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_set(folder: Path, *, gz: bool, n_train: int = 30, n_test: int = 12, hw=(5, 4)):
    rng = np.random.default_rng(1)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, *hw)),
        "train_labels": np.arange(n_train) % 10,
        "test_images": rng.integers(0, 256, (n_test, *hw)),
        "test_labels": (np.arange(n_test) * 3) % 10,
    }
    folder.mkdir(parents=True, exist_ok=True)
    for role, array in arrays.items():
        data = idx_bytes(array)
        name = NAMES[role] + (".gz" if gz else "")
        (folder / name).write_bytes(gzip.compress(data) if gz else data)
    return arrays


def test_digits_shapes_types_and_range() -> None:
    data = ll.datasets.digits()
    assert (len(data.y_train), len(data.y_test)) == (1347, 450)
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    assert data.x_train.shape == (1347, 64) and data.n_features == 64
    assert data.image_shape == (8, 8) and data.n_classes == 10 and data.name == "digits"
    assert float(data.x_train.min()) == 0.0 and float(data.x_train.max()) == 1.0
    # stratified: every class holds ~25% of its images in the test split
    counts = torch.bincount(data.y_test, minlength=10).float()
    totals = counts + torch.bincount(data.y_train, minlength=10).float()
    assert torch.allclose(counts / totals, torch.full((10,), 0.25), atol=0.01)


def test_digits_split_is_fixed_by_seed() -> None:
    a, b, c = ll.datasets.digits(), ll.datasets.digits(), ll.datasets.digits(seed=1)
    assert torch.equal(a.x_test, b.x_test) and a.content_hash() == b.content_hash()
    assert a.content_hash() != c.content_hash()
    assert len(ll.datasets.digits(test_fraction=0.5).y_test) in (898, 899)


def test_content_hash_is_sha256_of_the_tensors() -> None:
    data = ll.datasets.digits()
    digest = data.content_hash()
    assert len(digest) == 64 and int(digest, 16) >= 0
    changed = ll.Dataset(
        data.name,
        data.x_train.clone().index_fill_(0, torch.tensor([0]), 0.5),
        data.y_train,
        data.x_test,
        data.y_test,
        data.classes,
        data.display,
    )
    assert changed.content_hash() != digest


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("layout", ["", "raw", "MNIST/raw"])
def test_mnist_reads_idx_files_in_every_accepted_layout(
    tmp_path: Path, gz: bool, layout: str
) -> None:
    arrays = write_idx_set(tmp_path / layout, gz=gz)
    data = ll.datasets.mnist(tmp_path)
    assert data.name == "mnist" and data.image_shape == (5, 4) and data.n_features == 20
    assert data.x_train.shape == (30, 20) and data.x_test.shape == (12, 20)
    expected = torch.from_numpy(arrays["train_images"].reshape(30, -1).astype(np.float32) / 255)
    assert torch.equal(data.x_train, expected)
    assert data.y_test.tolist() == arrays["test_labels"].tolist()
    assert data.y_train.dtype == torch.int64


def test_fashion_mnist_uses_its_class_names_and_folder(tmp_path: Path) -> None:
    write_idx_set(tmp_path / "FashionMNIST" / "raw", gz=True)
    data = ll.datasets.fashion_mnist(tmp_path)
    assert data.name == "fashion_mnist" and data.classes[0] == "T-shirt/top"
    assert data.classes[-1] == "Ankle boot"


def test_missing_files_raise_without_downloading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(datasets, "_torchvision_download", no_download)
    with pytest.raises(FileNotFoundError) as err:
        ll.datasets.mnist(tmp_path / "nowhere")
    message = str(err.value)
    for name in NAMES.values():
        assert name in message
    assert "MNIST/raw" in message and "download=True" in message
    # three of four files present: still missing, still no download
    write_idx_set(tmp_path, gz=False)
    (tmp_path / NAMES["test_labels"]).unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        ll.datasets.mnist(tmp_path)


def test_download_true_goes_through_torchvision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def fake_download(root: Path, folder: str) -> None:
        calls.append(folder)
        write_idx_set(root / folder / "raw", gz=True)

    monkeypatch.setattr(datasets, "_torchvision_download", fake_download)
    data = ll.datasets.mnist(tmp_path, download=True)
    assert calls == ["MNIST"] and len(data.y_train) == 30
    ll.datasets.mnist(tmp_path, download=True)  # present now: no second download
    assert calls == ["MNIST"]


def test_corrupt_idx_files_are_named(tmp_path: Path) -> None:
    write_idx_set(tmp_path, gz=False)
    path = tmp_path / NAMES["train_images"]
    data = bytearray(path.read_bytes())
    data[3] = 1  # magic 2049 instead of 2051
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*magic number is 2049"):
        ll.datasets.mnist(tmp_path)
    write_idx_set(tmp_path, gz=False)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*data bytes"):
        ll.datasets.mnist(tmp_path)
    write_idx_set(tmp_path, gz=False, n_train=30)
    (tmp_path / NAMES["train_labels"]).write_bytes(idx_bytes(np.zeros(29)))
    with pytest.raises(ValueError, match=r"29,.*labels for 30 images"):
        ll.datasets.mnist(tmp_path)


def test_from_tensors_images_numpy_and_split() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((200, 6, 5)).astype(np.float64)
    y = np.repeat(np.arange(4), 50)
    data = ll.Dataset.from_tensors(x, y, classes=["a", "b", "c", "d"], name="mine")
    assert data.image_shape == (6, 5) and data.n_features == 30 and data.name == "mine"
    assert len(data.y_test) == 40 and data.x_train.dtype == torch.float32
    assert torch.bincount(data.y_test).tolist() == [10, 10, 10, 10]  # stratified
    again = ll.Dataset.from_tensors(x, y, classes=["a", "b", "c", "d"], name="mine")
    assert again.content_hash() == data.content_hash()


def test_from_tensors_flat_torch_uint8_and_explicit_test() -> None:
    x = torch.randint(0, 256, (50, 12), dtype=torch.uint8)
    y = torch.arange(50) % 3
    data = ll.Dataset.from_tensors(
        x, y, x_test=x[:10], y_test=y[:10], image_shape=(3, 4), classes=("p", "q", "r")
    )
    assert data.image_shape == (3, 4) and len(data.y_train) == 50 and len(data.y_test) == 10
    assert torch.allclose(data.x_train, x.float() / 255)
    assert ll.Dataset.from_tensors(torch.rand(20, 16), torch.arange(20) % 2).image_shape == (4, 4)
    features = ll.Dataset.from_tensors(torch.rand(20, 7), torch.arange(20) % 2)
    assert features.display.kind == "features" and features.feature_names[:2] == ("x0", "x1")
    with pytest.raises(ValueError, match="7 features"):
        features.image_shape  # noqa: B018
    grey = ll.Dataset.from_tensors(torch.rand(20, 1, 3, 3), torch.arange(20) % 2)
    assert grey.image_shape == (3, 3) and grey.input_shape == (1, 3, 3)


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "message"),
    [
        (torch.rand(10, 3, 4, 4, 1), torch.zeros(10, dtype=torch.long), {}, r"\(N, C, H, W\)"),
        (torch.rand(10, 4), torch.zeros(9, dtype=torch.long), {}, r"shape \(10,\)"),
        (torch.randint(0, 5, (10, 4)), torch.zeros(10, dtype=torch.long), {}, "float"),
        (torch.rand(10, 4), torch.zeros(10), {}, "integer class labels"),
        (torch.rand(10, 4), -torch.ones(10, dtype=torch.long), {}, "negative label"),
        (torch.rand(10, 4), torch.arange(10) % 3, {"classes": ["a", "b"]}, "only 2 classes"),
        (torch.rand(10, 4), torch.arange(10) % 2, {"image_shape": (3, 3)}, "does not match D=4"),
        (torch.rand(10, 4), torch.arange(10) % 2, {"x_test": torch.rand(2, 4)}, "both"),
        (torch.full((10, 4), float("nan")), torch.arange(10) % 2, {}, "NaN.*index 0"),
        (torch.rand(10, 4), torch.arange(10) % 2, {"test_fraction": 1.5}, "test_fraction"),
    ],
)
def test_from_tensors_rejects_bad_input_clearly(x, y, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        ll.Dataset.from_tensors(x, y, **kwargs)


def test_constructor_validates_tensors() -> None:
    data = ll.datasets.digits()
    grey = ll.InputDisplay.unit((8, 8))
    with pytest.raises(ValueError, match="x_train must be a float32"):
        ll.Dataset(
            "d", data.x_train.double(), data.y_train, data.x_test, data.y_test, "0123456789", grey
        )
    small = ll.InputDisplay.unit((4, 4))
    with pytest.raises(ValueError, match=r"shows \(1, 4, 4\) \(16 values\) but inputs have shape"):
        ll.Dataset("d", data.x_train, data.y_train, data.x_test, data.y_test, "0123456789", small)
