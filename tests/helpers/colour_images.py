"""A small colour image data set written as PNG files, for tests of colour runs.

Four classes of 32×32 RGB pictures on a noisy, randomly tinted background: a red disk, a green
bar, a blue square and an orange ring, each at a random place and size. The files go into one
folder per class, the layout torchvision's ``ImageFolder`` reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

CLASSES = ("blue square", "green bar", "orange ring", "red disk")
"""Class folder names, in ``ImageFolder``'s (sorted) order."""

MEAN = (0.45, 0.42, 0.40)
STD = (0.25, 0.24, 0.26)
"""The ``Normalize`` the tests apply (not the data's own statistics: any mean/std will do)."""

_COLOURS = {
    "red disk": (220, 40, 40),
    "green bar": (40, 180, 60),
    "blue square": (40, 70, 220),
    "orange ring": (240, 150, 30),
}


def _picture(kind: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """One (size, size, 3) uint8 picture of class ``kind``."""
    tint = rng.integers(90, 170, size=3)
    img = np.clip(tint + rng.normal(0, 18, size=(size, size, 3)), 0, 255)
    yy, xx = np.mgrid[0:size, 0:size]
    cy, cx = rng.integers(size // 4, 3 * size // 4, size=2)
    r = rng.integers(size // 6, size // 3)
    if kind == "red disk":
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
    elif kind == "orange ring":
        d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        mask = (d <= r) & (d >= r * 0.55)
    elif kind == "green bar":
        mask = (np.abs(yy - cy) <= r) & (np.abs(xx - cx) <= max(1, r // 3))
    else:
        mask = (np.abs(yy - cy) <= r * 0.8) & (np.abs(xx - cx) <= r * 0.8)
    colour = np.array(_COLOURS[kind]) + rng.normal(0, 12, size=3)
    img[mask] = np.clip(colour, 0, 255)
    return img.astype(np.uint8)


def write_pngs(folder: Path, per_class: int, *, size: int = 32, seed: int = 0) -> Path:
    """Write ``per_class`` PNG pictures of each class under ``folder/<class>/``; return folder."""
    rng = np.random.default_rng(seed)
    for kind in CLASSES:
        (folder / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(_picture(kind, rng, size)).save(folder / kind / f"{i:05d}.png")
    return folder


def image_folder(folder: Path) -> object:
    """torchvision's ``ImageFolder`` over ``folder`` with ``ToTensor()`` then ``Normalize``."""
    from torchvision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    return datasets.ImageFolder(str(folder), transform=tf)


def colour_dataset(folder: Path, per_class: int, *, seed: int = 0) -> object:
    """Write the PNGs and read them back through ``ImageFolder`` as an ``ll.Dataset``.

    The inputs are what the network sees (normalised); the dataset's display undoes the
    ``Normalize`` so that thumbnails show the original pixels.
    """
    import torch

    import linlens_widgets as ll

    ds = image_folder(write_pngs(folder, per_class, seed=seed))
    x = torch.stack([ds[i][0] for i in range(len(ds))])
    y = torch.tensor(ds.targets)
    display = ll.InputDisplay.normalize(tuple(x.shape[1:]), MEAN, STD)
    return ll.Dataset.from_tensors(
        x, y, display=display, classes=list(ds.classes), name="colour shapes", seed=seed
    )


def train_colour_run(
    folder: Path, per_class: int = 60, *, epochs: int = 3, checkpoints: int = 4, seed: int = 0
) -> object:
    """A small colour CNN (``ll.models.cnn((3, 32, 32), 4)``) trained and embedded on the PNGs."""
    import torch

    import linlens_widgets as ll

    data = colour_dataset(folder / "pngs", per_class, seed=seed)
    torch.manual_seed(seed)
    model = ll.models.cnn(data.input_shape, data.n_classes, seed=seed)
    run = ll.train(model, data, epochs=epochs, checkpoints=checkpoints, seed=seed, progress=False)
    ll.embed(run, progress=False)
    return run


def train_small(data: Any) -> Any:
    """One epoch of a small model on ``data``, two checkpoints: a CNN for images, else an MLP.

    The run the widget and plot tests of colour images and feature vectors look at.
    """
    import torch

    import linlens_widgets as ll

    torch.manual_seed(0)
    if len(data.input_shape) == 3:
        model = ll.models.cnn(data.input_shape, data.n_classes, channels=(4,), seed=0)
    else:
        model = ll.models.mlp(data.n_features, [8], data.n_classes, bias=True, seed=0)
    return ll.train(model, data, epochs=1, checkpoints=2, seed=0, progress=False)
