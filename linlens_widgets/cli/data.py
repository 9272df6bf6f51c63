"""The data sets the command line trains on: bundled digits, or an MNIST-family folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from linlens_widgets.cli.errors import CommandError

if TYPE_CHECKING:
    from linlens_widgets.runs.datasets import Dataset

DATASETS = ("digits", "mnist", "fashion-mnist")
"""The ``--dataset`` choices of ``train`` and ``demo``."""

MNIST_ENV_VARS = {"mnist": "LINLENS_MNIST", "fashion-mnist": "LINLENS_FASHION_MNIST"}
"""The environment variable naming each MNIST-family folder when ``--root`` is not given."""


def load_dataset(name: str, root: Path | None, *, download: bool = False) -> Dataset:
    """Load ``name``; the MNIST family needs a folder (``--root`` or its environment variable)."""
    from linlens_widgets.runs import datasets

    if name == "digits":
        if root is not None:
            raise CommandError("--root applies to mnist and fashion-mnist, not digits")
        return datasets.digits()
    if root is None:
        env_var = MNIST_ENV_VARS[name]
        env_root = env_value(env_var)
        if env_root is None:
            raise CommandError(f"--dataset {name} needs --root DIR (or ${env_var})")
        root = Path(env_root)
    loader = datasets.mnist if name == "mnist" else datasets.fashion_mnist
    try:
        return loader(root.expanduser(), download=download)
    except FileNotFoundError as exc:
        if download:
            raise
        raise CommandError(f"{exc} (on the command line: --download)") from None
    except ValueError as exc:  # a damaged IDX file: the message names it
        raise CommandError(f"{exc}; replace the file (or pass --download)") from None


def env_value(name: str) -> str | None:
    """Return the environment variable ``name`` stripped, or None when unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or None
