"""Inputs of any shape in the network's own units, and how they are shown (InputDisplay)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import linlens_widgets as ll
from linlens_widgets.runs.display import InputDisplay, to_pixels, to_uint8
from linlens_widgets.runs.store import RunFormatError

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


def colour_pixels(n: int = 60, size: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 RGB images (N, H, W, 3) whose class is the brightest channel, and their labels."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    pixels = rng.integers(0, 120, (n, size, size, 3))
    for i, c in enumerate(labels):
        pixels[i, :, :, c] += 135
    return pixels.astype(np.uint8), labels


def normalised(pixels: np.ndarray) -> torch.Tensor:
    """What ``Compose([ToTensor(), Normalize(MEAN, STD)])`` makes of uint8 (N, H, W, 3) pixels."""
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255.0
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


@pytest.fixture(scope="module")
def colour() -> tuple[ll.Dataset, np.ndarray]:
    pixels, labels = colour_pixels()
    display = InputDisplay.normalize((3, 6, 6), MEAN, STD)
    data = ll.Dataset.from_tensors(
        normalised(pixels), labels, display=display, classes=("r", "g", "b"), name="colour"
    )
    return data, pixels


@pytest.fixture(scope="module")
def colour_run(colour: tuple[ll.Dataset, np.ndarray]) -> ll.Run:
    data, _ = colour
    model = ll.models.cnn(data.input_shape, data.n_classes, channels=(4,), seed=0)
    return ll.train(model, data, epochs=1, checkpoints=2, probe="test", progress=False)


def test_colour_inputs_stay_as_the_network_receives_them(colour) -> None:
    data, _ = colour
    assert data.input_shape == (3, 6, 6) and data.image_shape == (3, 6, 6)
    assert data.x_train.shape[1:] == (3, 6, 6) and data.n_features == 108
    assert float(data.x_train.min()) < 0 and float(data.x_train.max()) > 1  # never rescaled
    assert data.display.kind == "normalize" and data.feature_names == ()


def test_probe_images_undo_normalize_to_the_original_pixels(colour, colour_run) -> None:
    data, pixels = colour
    shown = colour_run.probe_images()
    assert shown.dtype == np.uint8 and shown.shape == (len(data.y_test), 6, 6, 3)
    # the test split is a stratified subset of the original images; find each one's source
    x_all = normalised(pixels).reshape(len(pixels), -1)
    for row, x in zip(shown, colour_run.probe_inputs, strict=True):
        source = int(torch.argmin((x_all - x.reshape(1, -1)).abs().sum(dim=1)))
        assert np.abs(row.astype(int) - pixels[source].astype(int)).max() <= 1


def test_save_load_keeps_input_shape_and_display(colour_run, tmp_path: Path) -> None:
    loaded = ll.Run.load(colour_run.save(tmp_path / "run"))
    assert loaded.input_shape == (3, 6, 6) and loaded.display == colour_run.display
    assert torch.equal(loaded.probe_inputs, colour_run.probe_inputs)
    assert np.array_equal(loaded.probe_images(), colour_run.probe_images())
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["dataset"]["input_shape"] == [3, 6, 6]
    assert manifest["dataset"]["display"] == {
        "kind": "normalize",
        "shape": [3, 6, 6],
        "mean": list(MEAN),
        "std": list(STD),
    }
    assert "image_shape" not in manifest["dataset"]  # older readers cannot show colour


def test_a_run_saved_before_input_shape_loads_as_grey_images(tmp_path: Path) -> None:
    data = ll.datasets.digits()
    run = ll.train(ll.models.mlp(64, [8], 10, seed=0), data, epochs=1, probe=20, progress=False)
    folder = run.save(tmp_path / "old")
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["dataset"]["input_shape"], manifest["dataset"]["display"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    old = ll.Run.load(folder)
    assert old.input_shape == (64,) and old.image_shape == (8, 8)
    assert old.display == InputDisplay.unit((8, 8))
    assert old.probe_images().shape == (20, 8, 8, 1)
    assert np.array_equal(
        old.probe_images()[..., 0], np.rint(run.probe_inputs.numpy().reshape(20, 8, 8) * 255)
    )


def test_a_damaged_display_in_the_manifest_is_named(colour_run, tmp_path: Path) -> None:
    folder = colour_run.save(tmp_path / "run")
    for change, message in [
        (lambda d: d.update(display={"kind": "sepia", "shape": [3, 6, 6]}), "display.kind"),
        (lambda d: d["display"].update(shape=[1, 6, 6]), r"dataset\.display"),
        (lambda d: d.update(input_shape=[3, 0, 6]), r"dataset\.input_shape"),
        (lambda d: d["display"].update(std=[1.0, 0.0, 1.0]), "std must be non-zero"),
    ]:
        copy = tmp_path / "copy"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(folder, copy)
        manifest = json.loads((copy / "manifest.json").read_text())
        change(manifest["dataset"])
        (copy / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(RunFormatError, match=message):
            ll.Run.load(copy)


def test_feature_vectors_have_names_and_no_images() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 50, (40, 3)).astype(np.float32)  # any range: income, age, ...
    data = ll.Dataset.from_tensors(x, np.arange(40) % 2, feature_names=["age", "income", "rooms"])
    assert data.input_shape == (3,) and data.feature_names == ("age", "income", "rooms")
    model = ll.models.mlp(3, [4], 2, seed=0)
    run = ll.train(model, data, epochs=1, probe=4, progress=False)
    assert run.feature_names == ("age", "income", "rooms")
    with pytest.raises(ValueError, match=r"feature vectors, not images.*age, income, rooms"):
        run.probe_images()
    with pytest.raises(ValueError, match="3 features"):
        run.image_shape  # noqa: B018


def test_non_finite_inputs_are_refused_naming_the_first_index() -> None:
    x = torch.rand(20, 3, 4, 4)
    x[7, 1, 2, 2] = float("inf")
    x[12, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"x holds NaN or infinite values \(2 sample\(s\), the "):
        ll.Dataset.from_tensors(x, torch.arange(20) % 2)
    with pytest.raises(ValueError, match="first at index 7"):
        ll.Dataset.from_tensors(x, torch.arange(20) % 2)


def test_images_outside_unit_range_without_a_display_are_shown_min_to_max() -> None:
    x = torch.linspace(-2, 6, 20 * 3 * 2 * 2).reshape(20, 3, 2, 2)
    data = ll.Dataset.from_tensors(x, torch.arange(20) % 2)
    shown = to_pixels(data.x_train, data.display)
    assert data.display.kind == "normalize"
    assert shown.min() >= 0 and shown.max() <= 1
    assert np.allclose(shown, (data.x_train.numpy() + 2) / 8, atol=1e-6)


def test_display_checks_and_round_trips() -> None:
    shown = InputDisplay.normalize((3, 2, 2), MEAN, STD)
    assert InputDisplay.from_json(json.loads(json.dumps(shown.to_json()))) == shown
    features = InputDisplay.features(["a", "b"])
    assert InputDisplay.from_json(features.to_json()) == features
    for build, message in [
        (lambda: InputDisplay.normalize((3, 2, 2), (0.5, 0.5), 1.0), "2 values for 3 channel"),
        (lambda: InputDisplay("unit", (3, 2)), r"\(C, H, W\)"),
        (lambda: InputDisplay("features", (3,), feature_names=("a",)), "names every feature"),
        (lambda: InputDisplay("grey", (1, 2, 2)), "kind must be one of"),
    ]:
        with pytest.raises(ValueError, match=message):
            build()
    pixels = np.arange(2 * 2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 2, 3) * 10
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255
    assert np.array_equal(to_uint8(x, InputDisplay.unit((3, 2, 2))), pixels)
    assert np.array_equal(to_uint8(x.reshape(2, -1), InputDisplay.unit((3, 2, 2))), pixels)


def test_one_normalize_value_stands_for_every_channel() -> None:
    shown = InputDisplay.normalize((3, 2, 2), mean=0.5, std=0.25)
    assert shown.mean == (0.5, 0.5, 0.5) and shown.std == (0.25, 0.25, 0.25)
