"""ll.datasets.from_torch over torchvision's own data sets, and ll.datasets.cifar10 from files."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, Subset, TensorDataset
from torchvision import datasets as tvd
from torchvision import transforms

import linlens_widgets as ll
from linlens_widgets.runs.display import to_uint8
from linlens_widgets.runs.torch_data import find_normalize

MEAN = (0.5, 0.4, 0.3)
STD = (0.2, 0.25, 0.3)
CLASSES = ("cats", "dogs", "owls")


def write_image_folder(root: Path, per_class: int = 10, size: int = 6) -> dict[str, np.ndarray]:
    """PNG files in ImageFolder's layout (root/<class>/<n>.png); returns the pixels by path."""
    rng = np.random.default_rng(0)
    written = {}
    for c, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size, 3)).astype(np.uint8)
            pixels[..., c] = np.maximum(pixels[..., c], 200)
            path = root / name / f"{i:02d}.png"
            Image.fromarray(pixels).save(path)
            written[str(path)] = pixels
    return written


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path_factory.mktemp("images")
    return root, write_image_folder(root)


def normalize() -> transforms.Compose:
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])


def test_image_folder_with_normalize_keeps_the_inputs_and_shows_the_pixels(folder) -> None:
    root, pixels = folder
    images = tvd.ImageFolder(str(root), transform=normalize())
    data = ll.datasets.from_torch(images, progress=False)
    assert data.classes == CLASSES and data.name == "imagefolder"
    assert data.input_shape == (3, 6, 6) and len(data.y_train) + len(data.y_test) == 30
    assert torch.bincount(data.y_test).tolist() == [2, 2, 2]  # stratified split
    assert data.display == ll.InputDisplay.normalize((3, 6, 6), MEAN, STD)
    every = torch.stack([images[i][0] for i in range(len(images))])
    for x in data.x_train:  # inputs are exactly what the transform makes
        assert (every - x).abs().flatten(1).max(dim=1).values.min() == 0
    originals = np.stack([pixels[path] for path, _ in images.samples])
    for x, image in zip(to_uint8(data.x_test, data.display), data.x_test, strict=True):
        source = int((every - image).abs().flatten(1).sum(dim=1).argmin())
        assert np.abs(x.astype(int) - originals[source].astype(int)).max() <= 1


def test_test_split_limit_loader_and_subset(folder) -> None:
    root, _ = folder
    images = tvd.ImageFolder(str(root), transform=transforms.ToTensor())
    data = ll.datasets.from_torch(
        images, Subset(images, [0, 9, 20]), limit=12, name="pets", progress=False
    )
    assert data.name == "pets" and len(data.y_train) == 12 and len(data.y_test) == 3
    assert torch.bincount(data.y_train).tolist() == [4, 4, 4]  # stratified by targets
    assert data.display.kind == "unit" and data.classes == CLASSES
    loader = DataLoader(images, batch_size=5, shuffle=False)
    batched = ll.datasets.from_torch(loader, limit=13, progress=False)
    assert len(batched.y_train) + len(batched.y_test) == 13 and batched.classes == CLASSES


def test_fake_data_and_a_tensor_dataset() -> None:
    fake = tvd.FakeData(size=20, image_size=(3, 8, 8), num_classes=4, transform=normalize())
    data = ll.datasets.from_torch(fake, progress=False)
    assert data.input_shape == (3, 8, 8) and data.display.kind == "normalize"
    features = TensorDataset(torch.randn(30, 5) * 10, torch.arange(30) % 3)
    flat = ll.datasets.from_torch(features, classes=["a", "b", "c"], progress=False)
    assert flat.input_shape == (5,) and flat.feature_names == ("x0", "x1", "x2", "x3", "x4")


def test_find_normalize_looks_through_loaders_subsets_and_v2() -> None:
    from torchvision.transforms import v2

    class Holder(torch.utils.data.Dataset):
        transform = v2.Compose([v2.ToImage(), v2.Compose([v2.Normalize([0.1], [0.9])])])

        def __len__(self) -> int:
            return 1

        def __getitem__(self, i: int):
            return torch.zeros(1, 2, 2), 0

    assert find_normalize(DataLoader(Subset(Holder(), [0]))) == ((0.1,), (0.9,))
    assert find_normalize(TensorDataset(torch.zeros(2, 2))) is None


class Items(torch.utils.data.Dataset):
    """A data set returning the given items as they are."""

    def __init__(self, items: list, classes: list[str] | None = None) -> None:
        self.items = items
        if classes is not None:
            self.classes = classes

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        return self.items[i]


def good(n: int = 6) -> list:
    return [(torch.rand(3, 4, 4), i % 2) for i in range(n)]


@pytest.mark.parametrize(
    ("items", "classes", "message"),
    [
        ([*good(3), (Image.new("RGB", (4, 4)), 1)], None, r"item 3 is \(a PIL\.Image.*ToTensor"),
        ([*good(3), torch.rand(3, 4, 4)], None, r"item 3 is a float32 tensor.*\(tensor, int\)"),
        ([*good(3), (torch.rand(3, 4, 4), 0.5)], None, r"item 3 is \(tensor, a float\)"),
        (
            [*good(4), (torch.rand(3, 5, 4), 1)],
            None,
            r"item 4 has shape \(3, 5, 4\) but item 0 has \(3, 4, 4\)",
        ),
        ([*good(2), (torch.full((3, 4, 4), float("nan")), 1)], None, "item 2 holds NaN"),
        ([*good(2), (torch.rand(3, 4, 4), 2)], ["a", "b"], r"item 2 has label 2; .*names 2"),
        ([*good(2), (torch.rand(3, 4, 4), -1)], None, "item 2 has label -1"),
    ],
)
def test_bad_items_get_one_clear_error(items, classes, message) -> None:
    with pytest.raises(ValueError, match=message):
        ll.datasets.from_torch(Items(items, classes), progress=False)


def test_a_loader_of_bad_batches_is_named() -> None:
    with pytest.raises(ValueError, match=r"batch 0 is .*\(inputs tensor, integer labels"):
        ll.datasets.from_torch(DataLoader([(torch.rand(2), 0.5)] * 4, batch_size=2), progress=False)


# ---------------------------------------------------------------------- cifar10 from files


def write_cifar(root: Path, n: int = 10) -> np.ndarray:
    """torchvision's layout: pickled dicts of uint8 rows (N, 3072) and labels, as CIFAR ships."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 256, (6, n, 3072)).astype(np.uint8)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name, data in zip(names, rows, strict=True):
        batch = {b"data": data, b"labels": [int(v) for v in np.arange(n) % 10]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return rows


class Hostile:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_cifar10_reads_torchvisions_layout_without_running_code(tmp_path: Path) -> None:
    rows = write_cifar(tmp_path)
    data = ll.datasets.cifar10(tmp_path)
    assert data.input_shape == (3, 32, 32) and len(data.y_train) == 50 and len(data.y_test) == 10
    assert data.classes[0] == "airplane" and data.display.kind == "unit"
    assert torch.equal(data.x_test[0], torch.from_numpy(rows[5, 0].reshape(3, 32, 32)) / 255.0)
    bad = tmp_path / "cifar-10-batches-py" / "test_batch"
    bad.write_bytes(pickle.dumps({b"data": Hostile(), b"labels": []}))
    with pytest.raises(ValueError, match=r"test_batch is not a CIFAR-10 batch.*builtins\.print"):
        ll.datasets.cifar10(tmp_path)


def test_cifar10_offline_without_files_names_the_folder_and_the_flag(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        ll.datasets.cifar10(tmp_path / "nothing")
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "nothing") in message
    assert "download=True" in message
