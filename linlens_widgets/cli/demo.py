"""``linlens demo``: the digits demo run, trained once and cached, opened in the explorer.

The run is kept in the user cache folder (see :mod:`linlens_widgets.cli.user_cache`) under a key of
its parameters, with its aligned embedding in its analysis store; a later ``linlens demo`` with
the same parameters loads it instead of training again.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linlens_widgets.cli import user_cache
from linlens_widgets.cli.data import DATASETS, MNIST_ENV_VARS, env_value, load_dataset
from linlens_widgets.cli.demo_notebook import (
    DEMO_NOTEBOOK,
    execute_demo_notebook,
    write_demo_notebook,
)
from linlens_widgets.cli.embedding import embed
from linlens_widgets.cli.errors import CommandError, first_line
from linlens_widgets.cli.lab import LAB_INSTALL_HINT, launch_lab
from linlens_widgets.cli.options import SHAPE_OPTIONS, add_run_shape
from linlens_widgets.cli.pages import save_explorer, writable_page
from linlens_widgets.cli.subclusters import track_subclusters
from linlens_widgets.cli.terminal import say
from linlens_widgets.cli.training import RUN_DEFAULTS, check_shape, train_run

if TYPE_CHECKING:
    from linlens_widgets.runs.datasets import Dataset
    from linlens_widgets.runs.store import Run

DEMO_PARAMS: dict[str, Any] = {**RUN_DEFAULTS}
"""The run ``linlens demo`` trains, every value part of its cache key: the paper's run."""


def add_parser(commands: Any) -> None:
    """Add the ``demo`` command to the subcommands ``commands``."""
    demo = commands.add_parser(
        "demo",
        help="train (once, cached) the digits demo and open the explorer",
        description=(
            "Train the default digits run (cached in the user cache directory and reused next "
            "time; LINLENS_CACHE_DIR moves the cache), embed it, and open JupyterLab on a "
            "notebook with the linked explorer."
        ),
    )
    demo.add_argument(
        "--html",
        type=Path,
        metavar="PATH",
        help="write the kernel-free explorer page to PATH instead of starting JupyterLab",
    )
    demo.add_argument(
        "--no-browser", action="store_true", help="start JupyterLab without a browser"
    )
    demo.add_argument("--port", type=int, help="port for JupyterLab (default: Jupyter's choice)")
    demo.add_argument(
        "--dataset",
        choices=DATASETS,
        default="digits",
        help="digits (bundled, offline; the default), or mnist / fashion-mnist, downloaded once "
        "through torchvision into the user cache folder datasets/NAME (or read from --root)",
    )
    demo.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help="folder with the MNIST-family IDX files: no download",
    )
    shape = demo.add_argument_group(
        "demo run (advanced)", "Each value is part of the cache key: changing one trains anew."
    )
    add_run_shape(shape, DEMO_PARAMS)
    demo.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run ``linlens demo``: the page with ``--html``, else JupyterLab on the demo notebook."""
    if args.html is None and importlib.util.find_spec("jupyterlab") is None:
        raise CommandError(f"JupyterLab is not installed; {LAB_INSTALL_HINT}")
    if args.html is not None:
        writable_page(args.html)  # page problems show before the demo run is trained
    params = {**DEMO_PARAMS, **{name: getattr(args, name) for name in SHAPE_OPTIONS}}
    params["dataset"] = args.dataset
    entry = user_cache.entry_dir("demo", params)
    run = demo_run(entry, params, root=args.root)
    if args.html is not None:
        save_explorer(run, args.html)
        return 0
    notebook = write_demo_notebook(entry / DEMO_NOTEBOOK, entry / "run")
    execute_demo_notebook(notebook)
    return launch_lab(notebook, port=args.port, open_browser=not args.no_browser)


def demo_data_folder(name: str) -> Path:
    """Return the folder ``linlens demo --dataset NAME`` downloads NAME into (user cache).

    >>> demo_data_folder("mnist").parts[-2:]
    ('datasets', 'mnist')
    """
    return user_cache.user_cache_dir() / "datasets" / name


def _demo_dataset(name: str, root: Path | None) -> Dataset:
    """Load the demo's data: digits, a given folder, or the MNIST family via the user cache."""
    if name == "digits" or root is not None or env_value(MNIST_ENV_VARS[name]) is not None:
        return load_dataset(name, root)
    folder = demo_data_folder(name)
    say(f"{name}: reading {folder} (downloaded there through torchvision the first time)")
    try:
        return load_dataset(name, folder, download=True)
    except (OSError, RuntimeError) as exc:  # offline: URLError, or torchvision's mirrors failed
        raise CommandError(
            f"could not download {name} into {folder} ({first_line(exc)}); put its four IDX "
            f"files there, or pass --root DIR with a folder that holds them"
        ) from None


def demo_run(entry: Path, params: dict[str, Any], *, root: Path | None = None) -> Run:
    """Return the demo run kept in the cache folder ``entry``, training it only when missing.

    The run, with its aligned embedding and its tracked sub-clusters in its analysis store (the
    explorer's Colour menu lists "sub-clusters of c" from them), is saved atomically by
    ``Run.save`` to ``entry / "run"``; a later call loads it instead of training again, and
    computes either analysis only if it is missing (a cache written before it was stored).

    Parameters
    ----------
    entry
        The cache folder for these parameters (see :func:`user_cache.entry_dir`).
    params
        The demo parameters (``DEMO_PARAMS`` with any overrides).
    root
        A folder holding the MNIST-family data set's files (default: downloaded into
        :func:`demo_data_folder`); unused for digits.

    Returns
    -------
    Run
        The trained run, with its trajectory and sub-cluster tracks in its analysis store.

    >>> run = demo_run(user_cache.entry_dir("demo", DEMO_PARAMS), DEMO_PARAMS)  # doctest: +SKIP
    """
    from linlens_widgets.runs.store import Run, RunFormatError

    run_dir = entry / "run"
    if run_dir.exists():
        try:
            run = Run.load(run_dir)
        except RunFormatError as exc:
            say(f"cached run at {run_dir} is unreadable ({exc}); training it again")
            shutil.rmtree(run_dir)
        else:
            say(f"reusing cached run {run_dir}")
            embed(run)
            track_subclusters(run)
            return run
    data = _demo_dataset(params["dataset"], root)
    check_shape(data, params["hidden"], params["probe"])
    run = train_run(
        data,
        hidden=params["hidden"],
        bias=params["bias"],
        seed=params["seed"],
        epochs=params["epochs"],
        checkpoints=params["checkpoints"],
        probe=params["probe"],
    )
    embed(run)
    track_subclusters(run)
    entry.mkdir(parents=True, exist_ok=True)
    try:
        run.save(run_dir)
    except FileExistsError:  # another `linlens demo` finished first: use its run
        return Run.load(run_dir)
    say(f"cached the run at {run_dir}")
    return run
