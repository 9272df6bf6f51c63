"""Your network, your data: ImageFolder with Normalize, a colour CNN, your own checkpoints.

The must-show tests of "Your network, your data": PNG files this test writes, read by torchvision's
own ``ImageFolder`` with ``Compose([ToTensor(), Normalize(mean, std)])``; a colour CNN trains on
them; its effective weights equal the per-sample Jacobian; ``run.probe_images()`` gives back the
original pixels; save/load keeps the input shape. Then runs made from checkpoints a plain PyTorch
loop saved.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file
from torch.func import jacrev, vmap
from torchvision import datasets as tvd
from torchvision import transforms

import linlens_widgets as ll
from linlens_widgets.analysis.weights import run_weights

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
CLASSES = ("red", "green", "blue")
SIZE = 8


def write_pngs(root: Path, per_class: int = 20) -> dict[str, np.ndarray]:
    """ImageFolder's layout: root/<class>/<n>.png; the class's channel is the bright one."""
    rng = np.random.default_rng(0)
    pixels = {}
    for c, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            image = rng.integers(0, 140, (SIZE, SIZE, 3)).astype(np.uint8)
            image[..., c] += rng.integers(60, 116, (SIZE, SIZE)).astype(np.uint8)
            path = root / name / f"{i:02d}.png"
            Image.fromarray(image).save(path)
            pixels[str(path)] = image
    return pixels


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[tvd.ImageFolder, np.ndarray]:
    root = tmp_path_factory.mktemp("pngs")
    written = write_pngs(root)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    images = tvd.ImageFolder(str(root), transform=tf)
    originals = np.stack([written[path] for path, _ in images.samples])  # in the folder's order
    return images, originals


@pytest.fixture(scope="module")
def data(folder) -> ll.Dataset:
    images, _ = folder
    return ll.datasets.from_torch(images, progress=False)


@pytest.fixture(scope="module")
def run(data: ll.Dataset) -> ll.Run:
    model = ll.models.cnn(data.input_shape, data.n_classes, channels=(4, 8), seed=0)
    return ll.train(
        model, data, epochs=12, batch_size=16, lr=0.05, checkpoints=4, probe="test", progress=False
    )


def test_a_colour_cnn_trains_on_image_folder_with_normalize(data, run) -> None:
    assert data.input_shape == (3, SIZE, SIZE) and data.classes == tuple(sorted(CLASSES))
    assert data.display == ll.InputDisplay.normalize((3, SIZE, SIZE), MEAN, STD)
    assert float(data.x_train.min()) < -1.0  # the network's units, not [0, 1]
    acc = run.metric("test_acc")
    assert acc[-1] >= 0.9 > acc[0]


def test_colour_weff_equals_the_per_sample_jacobian(run) -> None:
    model = run.model_at(-1)
    x = run.probe_inputs
    weights = run_weights(run).effective_weights(-1).weight
    jacobian = vmap(jacrev(lambda v: model(v[None])[0]))(x)
    assert weights.shape == jacobian.shape == (len(x), 3, 3, SIZE, SIZE)
    assert torch.allclose(weights, jacobian, atol=1e-5, rtol=0)


def test_probe_images_return_the_original_pixels(folder, run) -> None:
    images, originals = folder
    shown = run.probe_images()
    assert shown.dtype == np.uint8 and shown.shape == (len(run.probe_labels), SIZE, SIZE, 3)
    inputs = torch.stack([images[i][0] for i in range(len(images))]).flatten(1)
    for image, x in zip(shown, run.probe_inputs, strict=True):
        source = int((inputs - x.flatten()).abs().sum(dim=1).argmin())
        assert np.abs(image.astype(int) - originals[source].astype(int)).max() <= 1


def test_save_load_keeps_the_input_shape(run, tmp_path: Path) -> None:
    loaded = ll.Run.load(run.save(tmp_path / "colour"))
    assert loaded.input_shape == (3, SIZE, SIZE) and loaded.display == run.display
    assert loaded.model_spec == run.model_spec and loaded.probe_inputs.shape[1:] == (3, SIZE, SIZE)
    with torch.no_grad():
        assert torch.equal(
            loaded.model_at(-1)(loaded.probe_inputs), run.model_at(-1)(run.probe_inputs)
        )


# ------------------------------------------------------------------ runs from your checkpoints


def plain_loop(model: torch.nn.Module, data: ll.Dataset, folder: Path, epochs: int) -> list[Path]:
    """A plain PyTorch loop that saves ``model.state_dict()`` after every epoch (and at start)."""
    folder.mkdir()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    paths = []
    for epoch in range(epochs + 1):
        if epoch:
            for xb, yb in zip(data.x_train.split(16), data.y_train.split(16), strict=True):
                optimizer.zero_grad()
                F.cross_entropy(model(xb), yb).backward()
                optimizer.step()
        paths.append(folder / f"epoch{epoch}.pt")
        torch.save(model.state_dict(), paths[-1])
    return paths


@pytest.fixture(scope="module")
def saved(data, tmp_path_factory) -> tuple[torch.nn.Module, list[Path]]:
    model = ll.models.cnn(data.input_shape, data.n_classes, channels=(4,), seed=1)
    paths = plain_loop(model, data, tmp_path_factory.mktemp("loop") / "ckpt", epochs=3)
    return model, paths


def test_run_from_checkpoints_has_the_files_weights_and_metrics(data, saved) -> None:
    model, paths = saved
    run = ll.Run.from_checkpoints(model, paths, data, progress=False)
    assert len(run) == 4 and run.metric("epoch").tolist() == [0, 1, 2, 3]
    for i, path in enumerate(paths):
        state = torch.load(path, weights_only=True)
        mine = run.state_dict_at(i)
        assert mine.keys() == state.keys() and all(torch.equal(mine[k], state[k]) for k in state)
    for name in ("train_loss", "train_acc", "test_loss", "test_acc"):
        assert np.isfinite(run.metric(name)).all()
    assert run.metric("test_acc")[-1] > run.metric("test_acc")[0]
    assert run.model_spec == ll.models.spec_of(model) and run.input_shape == data.input_shape


def test_run_from_checkpoints_takes_state_dicts_safetensors_epochs_and_metrics(
    data, saved, tmp_path: Path
) -> None:
    model, paths = saved
    states = [torch.load(p, weights_only=True) for p in paths[:2]]
    save_file(states[1], tmp_path / "last.safetensors")
    run = ll.Run.from_checkpoints(
        model,
        [states[0], tmp_path / "last.safetensors"],
        data,
        epochs=[0, 2.5],
        probe=10,
        metrics=[{"test_acc": 0.25}, {"test_acc": 0.5}],
        progress=False,
    )
    assert run.metric("epoch").tolist() == [0, 2.5] and run.metric("test_acc").tolist() == [
        0.25,
        0.5,
    ]
    assert np.isnan(run.metric("train_loss")).all() and len(run.probe_labels) == 10
    assert torch.equal(run.state_dict_at(1)["0.weight"], states[1]["0.weight"])


def test_a_mismatched_checkpoint_is_refused_naming_the_key(data, saved, tmp_path: Path) -> None:
    model, paths = saved
    state = torch.load(paths[0], weights_only=True)
    missing = {k: v for k, v in state.items() if k != "0.bias"}
    with pytest.raises(ValueError, match=r"checkpoint #1 lacks the key '0\.bias'"):
        ll.Run.from_checkpoints(model, [state, missing], data, progress=False)
    wrong = {**state, "4.weight": torch.zeros(3, 5)}
    torch.save(wrong, tmp_path / "wrong.pt")
    with pytest.raises(ValueError, match=r"wrong\.pt\): key '4\.weight' has shape \(3, 5\)"):
        ll.Run.from_checkpoints(model, [tmp_path / "wrong.pt"], data, progress=False)
    extra = {**state, "head.weight": torch.zeros(1)}
    with pytest.raises(ValueError, match=r"holds the key 'head\.weight'"):
        ll.Run.from_checkpoints(model, [extra], data, progress=False)


class Payload:
    """A pickled object: loading it with plain pickle would call its reducer."""

    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_file_that_is_not_a_plain_state_dict_is_refused(data, saved, tmp_path: Path) -> None:
    model, paths = saved
    torch.save({"weights": Payload()}, tmp_path / "object.pt")
    with pytest.raises(ValueError, match=r"object\.pt\) is not a plain state dict"):
        ll.Run.from_checkpoints(model, [tmp_path / "object.pt"], data, progress=False)
    training = {"model": torch.load(paths[0], weights_only=True), "epoch": 3}
    torch.save(training, tmp_path / "training.pt")
    with pytest.raises(
        ValueError, match=r"entry 'model' is a OrderedDict, not a tensor \(a training checkpoint"
    ):
        ll.Run.from_checkpoints(model, [tmp_path / "training.pt"], data, progress=False)
    with pytest.raises(FileNotFoundError, match=r"nothing\.pt"):
        ll.Run.from_checkpoints(model, [tmp_path / "nothing.pt"], data, progress=False)
