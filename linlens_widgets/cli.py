"""The ``linlens`` command: a trained network in the linked explorer with one command.

``linlens demo`` trains the default digits run once (cached in the user cache directory, see
:mod:`linlens_widgets._user_cache`), embeds it, and opens JupyterLab on a notebook with the
explorer; ``--html`` writes the kernel-free explorer page instead. ``linlens train`` trains and
saves a run, ``linlens export`` turns a saved run into an explorer page, ``linlens report`` into a
Bokeh report of its training dynamics, and ``linlens info`` summarises it. ``linlens sweep``
trains the digits MLP over a grid of parameters on a Dask cluster (see
:func:`linlens_widgets.sweep`).

User errors (a missing MNIST folder, an existing ``--out``) print ``linlens: error: …`` and exit
with status 2, without a traceback.

>>> from linlens_widgets.cli import main
>>> main(["train", "--epochs", "3", "--out", "runs/tiny"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import math
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from linlens_widgets import __version__, _user_cache
from linlens_widgets.runs.summary import run_summary

if TYPE_CHECKING:
    from linlens_widgets.runs.datasets import Dataset
    from linlens_widgets.runs.store import Run

PROG = "linlens"
DATASETS = ("digits", "mnist", "fashion-mnist")
MNIST_ENV_VARS = {"mnist": "LINLENS_MNIST", "fashion-mnist": "LINLENS_FASHION_MNIST"}
LAB_INSTALL_HINT = "install with pip install 'linlens-widgets[lab]'"

DEMO_PARAMS: dict[str, Any] = {
    "dataset": "digits",
    "hidden": [256, 256],
    "bias": False,
    "epochs": 20,
    "checkpoints": "log",
    "probe": None,
    "seed": 0,
}
"""The run ``linlens demo`` trains: the paper's bias-free two-hidden-layer MLP on digits."""

TRAIN_DEFAULTS: dict[str, Any] = {**DEMO_PARAMS}
"""Defaults of ``linlens train``: the demo's network, on whichever dataset is chosen."""

_SHAPE_OPTIONS = ("hidden", "epochs", "checkpoints", "probe", "seed")

DEMO_NOTEBOOK = "quickstart.ipynb"


class CommandError(Exception):
    """A problem with what the user asked for; printed as ``linlens: error: …`` (exit 2)."""


#: Seconds to connect to a ``--scheduler`` and hear it answer, together.
SCHEDULER_TIMEOUT_S = 20

#: Largest network ``train``/``demo`` build (parameters): 400 MB per checkpoint in float32.
MAX_PARAMETERS = 100_000_000


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``linlens: error: …`` line, like the rest."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix(PROG).strip()
        where = f" (see linlens {command} --help)" if command else " (see linlens --help)"
        raise CommandError(f"{message}{where}")


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``linlens`` command line.

    Parameters
    ----------
    argv
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 2 for usage errors and user errors (printed as
        ``linlens: error: …`` on stderr, without a traceback).

    >>> main(["--version"])  # doctest: +SKIP
    linlens X.Y.Z
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.handler(args))
    except SystemExit as exc:  # argparse exits on --help and --version
        return exc.code if isinstance(exc.code, int) else 2
    except KeyboardInterrupt:  # every write is atomic: what was being written is not there
        print(f"{PROG}: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as exc:
        if not _is_user_error(exc):
            raise
        print(f"{PROG}: error: {printable(_error_text(exc))}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for ``linlens`` and its subcommands.

    >>> build_parser().parse_args(["export", "runs/a", "a.html"]).page
    PosixPath('a.html')
    """
    parser = _Parser(
        prog=PROG,
        description="Watch a ReLU network learn through the linear lens.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_demo(commands)
    _add_train(commands)
    _add_export(commands)
    _add_report(commands)
    _add_info(commands)
    _add_sweep(commands)
    return parser


def _add_demo(commands: Any) -> None:
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
    _add_run_shape(shape, DEMO_PARAMS)
    demo.set_defaults(handler=_cmd_demo)


def _add_train(commands: Any) -> None:
    train = commands.add_parser(
        "train",
        help="train an MLP, record checkpoints, embed, and save the run",
        description="Train an MLP with recorded checkpoints and save it as a run folder.",
    )
    train.add_argument("--dataset", choices=DATASETS, default="digits", help="(default: digits)")
    train.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help=(
            "folder with the MNIST-family IDX files (default: $LINLENS_MNIST for mnist, "
            "$LINLENS_FASHION_MNIST for fashion-mnist)"
        ),
    )
    train.add_argument(
        "--download", action="store_true", help="download MNIST-family files into --root"
    )
    _add_run_shape(train, TRAIN_DEFAULTS)
    train.add_argument("--out", type=Path, required=True, metavar="DIR", help="run folder to write")
    train.add_argument("--lr", type=_positive_float, help="learning rate (default: train's)")
    train.add_argument("--optimizer", choices=("sgd", "adam"), help="(default: train's)")
    train.add_argument("--batch-size", type=_positive_int, help="(default: train's)")
    train.add_argument(
        "--bias",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="give the linear layers a bias (default: bias-free, as in the paper)",
    )
    train.add_argument(
        "--init-scale", type=_positive_float, default=1.0, help="(default: %(default)s)"
    )
    train.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    train.add_argument(
        "--no-embed",
        dest="embed",
        action="store_false",
        help="skip the aligned t-SNE (export computes it later)",
    )
    train.set_defaults(handler=_cmd_train)


def _add_run_shape(parser: Any, defaults: dict[str, Any]) -> None:
    """Add the options ``train`` and ``demo`` share: widths, epochs, checkpoints, probe, seed."""
    parser.add_argument(
        "--hidden",
        type=_positive_int,
        nargs="+",
        default=defaults["hidden"],
        metavar="WIDTH",
        help=f"hidden layer widths (default: {' '.join(map(str, defaults['hidden']))})",
    )
    parser.add_argument(
        "--epochs", type=_positive_int, default=defaults["epochs"], help="(default: %(default)s)"
    )
    parser.add_argument(
        "--checkpoints",
        type=_checkpoints,
        default=defaults["checkpoints"],
        help="checkpoint schedule: 'log' (20 log-spaced), 'epoch' (every epoch), a count of "
        "log-spaced checkpoints, or comma-separated epochs such as 0,0.5,1,5 (default: log)",
    )
    parser.add_argument(
        "--probe",
        type=_positive_int,
        default=defaults["probe"],
        metavar="N",
        help="test samples whose W_eff are tracked (default: the test split, at most 2000)",
    )
    parser.add_argument(
        "--seed", type=_seed, default=defaults["seed"], help="(default: %(default)s)"
    )


def _add_export(commands: Any) -> None:
    export = commands.add_parser(
        "export",
        help="write a saved run's explorer as a kernel-free HTML page",
        description="Write the linked explorer of a saved run as one self-contained HTML page.",
    )
    export.add_argument("run", type=Path, help="run folder (written by linlens train or Run.save)")
    export.add_argument("page", type=Path, help="HTML file to write")
    export.add_argument(
        "--precision",
        choices=("auto", "float32", "float16"),
        default="auto",
        help="how the page stores the network's weights (default auto: float16 when that moves "
        "no probe sample's W_eff by more than 2e-3, else float32)",
    )
    export.set_defaults(handler=_cmd_export)


def _add_report(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="write a saved run's training dynamics as an offline Bokeh HTML report",
        description=(
            "Write loss/accuracy, intra/inter-class W_eff similarity and sub-cluster persistence "
            "over training as one standalone HTML page (BokehJS inlined, no CDN)."
        ),
    )
    report.add_argument("run", type=Path, help="run folder")
    report.add_argument("page", type=Path, help="HTML file to write")
    report.set_defaults(handler=_cmd_report)


def _add_info(commands: Any) -> None:
    info = commands.add_parser(
        "info",
        help="summarise a saved run",
        description="Print a saved run's dataset, model, checkpoints and cached analyses.",
    )
    info.add_argument("run", type=Path, help="run folder")
    info.set_defaults(handler=_cmd_info)


def _add_sweep(commands: Any) -> None:
    sweep = commands.add_parser(
        "sweep",
        help="train the digits MLP over a grid of parameters on a Dask cluster",
        description=(
            "Train, analyse and save one digits MLP run per grid point (the Cartesian product of "
            "every --grid) on Dask's distributed scheduler; points already saved in --out are "
            "skipped, failed points are recorded in DIR/sweep.json. Grid names: the MLP's hidden, "
            "bias, init_scale, and train()'s lr, epochs, batch_size, optimizer, momentum, "
            "weight_decay, checkpoints, probe; seed seeds both."
        ),
    )
    sweep.add_argument(
        "--grid",
        action="append",
        required=True,
        metavar="NAME=V1,V2",
        help="values of one parameter (repeat for more), e.g. --grid init_scale=0.001,1 "
        "--grid seed=0,1 --grid hidden=64x64,128",
    )
    sweep.add_argument("--out", type=Path, required=True, metavar="DIR", help="sweep folder")
    sweep.add_argument(
        "--hidden",
        type=_positive_int,
        nargs="+",
        default=TRAIN_DEFAULTS["hidden"],
        metavar="WIDTH",
        help="hidden widths when not in the grid (default: %(default)s)",
    )
    sweep.add_argument("--epochs", type=_positive_int, default=20, help="(default: %(default)s)")
    sweep.add_argument(
        "--analyses",
        nargs="*",
        default=["embed", "class_similarity"],
        metavar="NAME",
        help="per-run analyses (default: embed class_similarity)",
    )
    where = sweep.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=_positive_int, help="local worker processes (default: one per core)"
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://host:8786"
    )
    sweep.set_defaults(handler=_cmd_sweep)


# --------------------------------------------------------------------------- argument types


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _seed(text: str) -> int:
    """Parse a seed every generator accepts: an integer from 0 to 2**63 - 1."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to 2**63-1, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def _checkpoints(text: str) -> str | int | list[float]:
    """Parse ``--checkpoints``: a schedule name, a count, or comma-separated epochs."""
    if text in ("log", "epoch"):
        return text
    if text.isdigit():
        if int(text) < 2:
            raise argparse.ArgumentTypeError(f"a checkpoint count must be at least 2, got {text}")
        return int(text)
    try:
        epochs = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'log', 'epoch', a count or comma-separated epochs, got {text!r}"
        ) from None
    if not epochs or any(not (math.isfinite(e) and e >= 0) for e in epochs):
        raise argparse.ArgumentTypeError(
            f"epochs must be finite non-negative numbers, got {text!r}"
        )
    return sorted(epochs)


# --------------------------------------------------------------------------- errors


def _is_user_error(exc: Exception) -> bool:
    """Tell errors that describe the user's input apart from bugs (which keep their traceback).

    Besides :class:`CommandError`, a damaged run folder and file-system errors (a missing,
    existing, unwritable or wrongly typed path) are the user's to fix.
    """
    if isinstance(exc, CommandError | OSError):
        return True
    store = sys.modules.get("linlens_widgets.runs.store")
    return store is not None and isinstance(exc, store.RunFormatError)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    return " ".join(str(exc).split("\n"))


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    r"""Return ``text`` with control and direction-changing characters written as escapes.

    Run folders are data: a dataset, class or metric name from a manifest must not move the
    cursor, clear the terminal, set its title or reorder the line when printed.

    >>> printable("a\x1b[2Jb\u202e")
    'a\\x1b[2Jb\\u202e'
    """
    return "".join(_escape(c) if _is_control(c) else c for c in text)


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _say(message: str) -> None:
    """Report progress on stderr, so stdout stays clean for ``info``."""
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- shared steps


def _load_dataset(name: str, root: Path | None, *, download: bool = False) -> Dataset:
    """Load ``name``; the MNIST family needs a folder (``--root`` or its environment variable)."""
    from linlens_widgets.runs import datasets

    if name == "digits":
        if root is not None:
            raise CommandError("--root applies to mnist and fashion-mnist, not digits")
        return datasets.digits()
    if root is None:
        env_var = MNIST_ENV_VARS[name]
        env_root = _env(env_var)
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


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _train_run(
    data: Dataset,
    *,
    hidden: Sequence[int],
    bias: bool,
    init_scale: float = 1.0,
    seed: int,
    **train_kwargs: Any,
) -> Run:
    """Build the MLP preset for ``data`` (seeded) and train it with a progress bar."""
    import linlens_widgets as ll

    model = ll.models.mlp(
        data.n_features, list(hidden), data.n_classes, bias=bias, init_scale=init_scale, seed=seed
    )
    _say(
        f"training {data.n_features}-{'-'.join(map(str, hidden))}-{data.n_classes} MLP "
        f"({'with' if bias else 'without'} bias) on {data.name}"
    )
    try:
        return ll.train(model, data, seed=seed, progress=True, **train_kwargs)
    except ValueError as exc:  # e.g. a diverged loss; train's own messages say what to change
        raise CommandError(f"{exc} (on the command line: --lr, --init-scale)") from None


def _embed(run: Run) -> None:
    """Compute (or reuse) the run's aligned embedding, kept in the run's analysis store."""
    import linlens_widgets as ll
    from linlens_widgets.analysis.store import AnalysisStore

    n = len(run.probe_labels)
    perplexity = min(EMBED_PERPLEXITY, n // 3)
    if perplexity < 1:
        raise CommandError(f"the run has {n} probe samples; an embedding needs at least 3")
    if "trajectory" not in AnalysisStore(run):
        _say(f"embedding {len(run.checkpoints)} checkpoints (aligned t-SNE)")
        if perplexity < EMBED_PERPLEXITY:
            _say(
                f"{n} probe samples allow a t-SNE perplexity of at most {perplexity} "
                f"(N >= 3 x perplexity); using {perplexity} instead of {EMBED_PERPLEXITY}"
            )
    ll.embed(run, perplexity=perplexity, progress=True)


EMBED_PERPLEXITY = 30
"""The t-SNE perplexity ``export`` uses when the probe set is large enough (``ll.embed``'s)."""


def _writable_page(page: Path) -> Path:
    """Check that ``page`` names a file (not a folder) and create its parent folder."""
    from linlens_widgets.runs.atomic_write import check_output_target

    page = page.expanduser()
    if page.is_dir():
        raise CommandError(f"{page} is a folder; give a file name such as {page / 'page.html'}")
    try:
        check_output_target(page)  # no device, FIFO or socket; no file where a folder should be
    except OSError as exc:
        raise CommandError(str(exc)) from None
    page.parent.mkdir(parents=True, exist_ok=True)
    return page


def _save_explorer(run: Run, page: Path, precision: str = "auto") -> Path:
    """Write the kernel-free explorer page for ``run`` and return its path."""
    from linlens_widgets.widgets.explorer import LensExplorer

    page = _writable_page(page)
    LensExplorer(run).save_html(page, precision=precision)
    _say(f"wrote {page} (open it in a browser; no server needed)")
    return page


# --------------------------------------------------------------------------- demo


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.html is None and importlib.util.find_spec("jupyterlab") is None:
        raise CommandError(f"JupyterLab is not installed; {LAB_INSTALL_HINT}")
    if args.html is not None:
        _writable_page(args.html)  # page problems show before the demo run is trained
    params = {**DEMO_PARAMS, **{name: getattr(args, name) for name in _SHAPE_OPTIONS}}
    params["dataset"] = args.dataset
    entry = _user_cache.entry_dir("demo", params)
    run = demo_run(entry, params, root=args.root)
    if args.html is not None:
        _save_explorer(run, args.html)
        return 0
    notebook = write_demo_notebook(entry / DEMO_NOTEBOOK, entry / "run")
    execute_demo_notebook(notebook)
    return _launch_lab(notebook, port=args.port, open_browser=not args.no_browser)


def execute_demo_notebook(path: Path, *, timeout_s: int = 600) -> bool:
    """Run the demo notebook once, saving its outputs and widget state into the file.

    Opened afterwards, JupyterLab draws the explorer from the saved widget state at once (its
    front end is the package's own bundle, saved with the state), before any cell is re-run
    and before the kernel has computed anything. Progress bars of that run are dropped from
    the saved outputs, so no leftover bar shows. A notebook that already has outputs is left
    alone (the user may have edited it); so is one that fails to run, with a one-line note.

    Parameters
    ----------
    path
        The demo notebook.
    timeout_s
        Longest time one cell may run.

    Returns
    -------
    bool
        Whether the notebook was executed and saved now.
    """
    import nbformat

    if importlib.util.find_spec("nbclient") is None:
        return False
    notebook = nbformat.read(path, as_version=4)
    if any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"):
        _trust(notebook)
        return False
    from nbclient import NotebookClient

    _say("running the demo notebook once, so the explorer shows as soon as it opens")
    client = NotebookClient(
        notebook,
        timeout=timeout_s,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except Exception as exc:  # the notebook still opens; it just runs in the browser instead
        _say(f"could not run the demo notebook ahead ({_error_text(exc)}); run it in JupyterLab")
        return False
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in map(_without_progress, cell.outputs) if o is not None]
    nbformat.write(notebook, path)
    _trust(notebook)
    return True


def _trust(notebook: Any) -> None:
    """Mark the demo notebook, which this command wrote and ran itself, as trusted.

    JupyterLab renders widget outputs (an unsafe MIME type) only in trusted notebooks; an
    untrusted one shows the explorer's text repr until its cells are re-run. This is what
    ``jupyter trust`` does: the notebook's signature goes into the user's Jupyter data folder.
    """
    from nbformat.sign import NotebookNotary

    try:
        NotebookNotary().sign(notebook)
    except Exception as exc:  # an unwritable data folder: the notebook still opens, untrusted
        _say(f"could not mark the demo notebook as trusted ({_error_text(exc)})")


_PROGRESS_BAR = re.compile(r"\d+%\|")


def _without_progress(output: Any) -> Any | None:
    """Return a notebook output without progress-bar text (None when nothing else is left)."""
    if output.get("output_type") == "stream":
        lines = re.split(r"(?<=[\r\n])", output.get("text", ""))
        kept = "".join(line for line in lines if not _PROGRESS_BAR.search(line))
        if not kept.strip():
            return None
        output["text"] = kept
        return output
    plain = str(output.get("data", {}).get("text/plain", ""))
    return None if _PROGRESS_BAR.search(plain) else output


def demo_data_folder(name: str) -> Path:
    """Return the folder ``linlens demo --dataset NAME`` downloads NAME into (user cache).

    >>> demo_data_folder("mnist").parts[-2:]
    ('datasets', 'mnist')
    """
    return _user_cache.user_cache_dir() / "datasets" / name


def _demo_dataset(name: str, root: Path | None) -> Dataset:
    """Load the demo's data: digits, a given folder, or the MNIST family via the user cache."""
    if name == "digits" or root is not None or _env(MNIST_ENV_VARS[name]) is not None:
        return _load_dataset(name, root)
    folder = demo_data_folder(name)
    _say(f"{name}: reading {folder} (downloaded there through torchvision the first time)")
    try:
        return _load_dataset(name, folder, download=True)
    except (OSError, RuntimeError) as exc:  # offline: URLError, or torchvision's mirrors failed
        raise CommandError(
            f"could not download {name} into {folder} ({_first_line(exc)}); put its four IDX "
            f"files there, or pass --root DIR with a folder that holds them"
        ) from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(":") if text else type(exc).__name__


def demo_run(entry: Path, params: dict[str, Any], *, root: Path | None = None) -> Run:
    """Return the demo run kept in the cache folder ``entry``, training it only when missing.

    The run (with its aligned embedding in its analysis store) is saved atomically by
    ``Run.save`` to ``entry / "run"``; a later call loads it instead of training again.

    Parameters
    ----------
    entry
        The cache folder for these parameters (see :func:`_user_cache.entry_dir`).
    params
        The demo parameters (``DEMO_PARAMS`` with any overrides).
    root
        A folder holding the MNIST-family data set's files (default: downloaded into
        :func:`demo_data_folder`); unused for digits.

    Returns
    -------
    Run
        The trained run, with its trajectory in its analysis store.

    >>> run = demo_run(_user_cache.entry_dir("demo", DEMO_PARAMS), DEMO_PARAMS)  # doctest: +SKIP
    """
    from linlens_widgets.runs.store import Run, RunFormatError

    run_dir = entry / "run"
    if run_dir.exists():
        try:
            run = Run.load(run_dir)
        except RunFormatError as exc:
            _say(f"cached run at {run_dir} is unreadable ({exc}); training it again")
            shutil.rmtree(run_dir)
        else:
            _say(f"reusing cached run {run_dir}")
            _embed(run)
            return run
    data = _demo_dataset(params["dataset"], root)
    _check_shape(data, params["hidden"], params["probe"])
    run = _train_run(
        data,
        hidden=params["hidden"],
        bias=params["bias"],
        seed=params["seed"],
        epochs=params["epochs"],
        checkpoints=params["checkpoints"],
        probe=params["probe"],
    )
    _embed(run)
    entry.mkdir(parents=True, exist_ok=True)
    try:
        run.save(run_dir)
    except FileExistsError:  # another `linlens demo` finished first: use its run
        return Run.load(run_dir)
    _say(f"cached the run at {run_dir}")
    return run


def write_demo_notebook(path: Path, run_dir: Path) -> Path:
    """Write the demo notebook that loads ``run_dir`` into the explorer, unless it exists.

    An existing notebook is kept, so edits made in an earlier session survive.

    Parameters
    ----------
    path
        Where the notebook goes (``.ipynb``).
    run_dir
        The saved run the notebook loads.

    Returns
    -------
    Path
        ``path``.

    >>> write_demo_notebook(Path("demo.ipynb"), Path("run"))  # doctest: +SKIP
    PosixPath('demo.ipynb')
    """
    import nbformat
    from nbformat import v4

    if path.exists():
        return path
    cells = [
        v4.new_markdown_cell(
            "# The linear lens, on a trained network\n\n"
            "`linlens demo` trained a ReLU MLP (its layer widths and data set are printed "
            "below, read from the run) and recorded checkpoints along the way. At every "
            "input *x* the network is exactly linear: f(x) = W_eff(x) x. The explorer below "
            "embeds every probe sample's effective weights W_eff(x) with an aligned t-SNE "
            "across the checkpoints.\n\n"
            "- **Brush** points (shift+drag or the lasso button) to select samples.\n"
            "- **Compare** two samples' W_eff images per class, with their cosine.\n"
            "- **Scrub** the checkpoint slider (or press Play) to watch the clusters form."
        ),
        v4.new_code_cell(
            "import linlens_widgets as ll\n\n"
            f"run = ll.Run.load({str(run_dir)!r})\n"
            'spec = run.model_spec["kwargs"]\n'
            'widths = [spec["n_in"], *spec["hidden"], spec["n_out"]]\n'
            'print("-".join(map(str, widths)), "ReLU MLP,", "biases:", spec["bias"], '
            '"data:", run.dataset_name)\n'
            "explorer = ll.LensExplorer(run)\n"
            "explorer"
        ),
        v4.new_markdown_cell("The samples you brushed, and their labels:"),
        v4.new_code_cell(
            "selected = explorer.embedding.selection\n"
            "labels = run.probe_labels[selected].tolist()\n"
            "len(selected), labels[:20]"
        ),
        v4.new_markdown_cell(
            "Training dynamics: loss and accuracy, intra/inter-class similarity of W_eff, and "
            "how each class's sub-clusters persist and stay apart over training."
        ),
        v4.new_code_cell(
            "from bokeh.io import show  # BokehJS is already loaded, by the explorer's panel\n\n"
            "show(ll.plots.training_dynamics(run))"
        ),
    ]
    notebook = v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def _free_port() -> int:
    """Return a TCP port on localhost that is free now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def notebook_url(notebook: Path, port: int, token: str) -> str:
    """Return the address that opens ``notebook`` itself in JupyterLab (not a Launcher).

    >>> notebook_url(Path("/cache/demo.ipynb"), 8888, "abc")
    'http://localhost:8888/lab/tree/demo.ipynb?token=abc'
    """
    from urllib.parse import quote

    return f"http://localhost:{port}/lab/tree/{quote(notebook.name)}?token={token}"


def _launch_lab(notebook: Path, *, port: int | None, open_browser: bool) -> int:
    """Run ``python -m jupyter lab`` on ``notebook`` until the user stops it.

    The port and the access token are chosen here, so the printed address opens the notebook
    itself, token included.
    """
    import secrets

    port = _free_port() if port is None else port
    token = secrets.token_urlsafe(24)
    command = [sys.executable, "-m", "jupyter", "lab", notebook.name]
    command += [f"--port={port}", f"--IdentityProvider.token={token}"]
    if not open_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers often run as root
        command.append("--allow-root")
    _say(f"starting JupyterLab on {notebook} (Ctrl+C to stop)")
    print(f"Open the demo notebook: {notebook_url(notebook, port, token)}", flush=True)
    print(
        "Next: click a point in the scatter to compare it, shift-click a second one, and drag "
        "the checkpoint slider (or press Play) to watch training.",
        flush=True,
    )
    process = subprocess.Popen(command, cwd=notebook.parent)
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:  # Jupyter gets the same Ctrl+C and decides when to stop
            continue


# --------------------------------------------------------------------------- train / export / info


def _cmd_train(args: argparse.Namespace) -> int:
    out: Path = args.out.expanduser()
    _check_out(out, overwrite=args.overwrite)
    if isinstance(args.checkpoints, list) and args.checkpoints[-1] > args.epochs:
        raise CommandError(
            f"--checkpoints epoch {args.checkpoints[-1]:g} is after the last epoch ({args.epochs})"
        )
    data = _load_dataset(args.dataset, args.root, download=args.download)
    _check_shape(data, args.hidden, args.probe)
    options = {
        name: value
        for name, value in (
            ("lr", args.lr),
            ("optimizer", args.optimizer),
            ("batch_size", args.batch_size),
            ("probe", args.probe),
        )
        if value is not None
    }
    run = _train_run(
        data,
        hidden=args.hidden,
        bias=args.bias,
        init_scale=args.init_scale,
        seed=args.seed,
        epochs=args.epochs,
        checkpoints=args.checkpoints,
        **options,
    )
    if args.embed:
        _embed(run)
    out.parent.mkdir(parents=True, exist_ok=True)
    run.save(out, overwrite=args.overwrite)
    _say(f"saved the run to {out} ({len(run.checkpoints)} checkpoints)")
    return 0


def _check_shape(data: Dataset, hidden: Sequence[int], probe: int | None) -> None:
    """Refuse a probe larger than the test split, and a network too large to build."""
    n_test = len(data.y_test)
    if probe is not None and probe > n_test:
        raise CommandError(
            f"--probe {probe} is larger than the {data.name} test split ({n_test} samples); "
            f"choose --probe {n_test} or less"
        )
    widths = [data.n_features, *hidden, data.n_classes]
    parameters = sum(a * b + b for a, b in itertools.pairwise(widths))
    if parameters > MAX_PARAMETERS:
        raise CommandError(
            f"--hidden {' '.join(map(str, hidden))} makes a network of {parameters:,} "
            f"parameters, more than {MAX_PARAMETERS:,}; choose smaller widths"
        )


def _check_out(out: Path, *, overwrite: bool) -> None:
    """Find every problem with ``--out`` before training: exists, not replaceable, unwritable."""
    from linlens_widgets.runs.store import check_replaceable

    if out.exists() or out.is_symlink():
        if not overwrite:
            raise CommandError(f"{out} already exists; pass --overwrite to replace it")
        try:
            check_replaceable(out.absolute())
        except FileExistsError as exc:
            raise CommandError(f"--out {exc}") from None
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise CommandError(f"--out {out}: {parent} is a file, not a folder; choose another --out")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CommandError(f"--out {out}: cannot write in {parent}; choose a writable folder")


def _load_run(path: Path) -> Run:
    path = path.expanduser()
    if not path.exists():
        raise CommandError(f"no run folder at {path}")
    from linlens_widgets.runs.store import Run, RunFormatError

    try:
        return Run.load(path)
    except RunFormatError as exc:
        raise CommandError(f"{path} is not a readable run folder: {exc}") from None


def _cmd_export(args: argparse.Namespace) -> int:
    _writable_page(args.page)  # page problems show before the (long) embedding
    run = _load_run(args.run)
    _embed(run)
    _save_explorer(run, args.page, args.precision)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from linlens_widgets import plots

    run = _load_run(args.run)
    page = _writable_page(args.page)
    plots.report(run, page)
    _say(f"wrote {page} (open it in a browser; no server needed)")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    run = _load_run(args.run)
    for label, value in run_summary(run).items():
        print(f"{label + ':':<13} {printable(value)}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    import contextlib
    import functools

    from linlens_widgets.runs import datasets, models
    from linlens_widgets.sweeps import grid as sweep_grid
    from linlens_widgets.sweeps.execute import check_address, connect, sweep

    if args.scheduler is not None:
        try:
            check_address(args.scheduler)
        except ValueError as exc:
            raise CommandError(f"--scheduler: {exc}") from None
    try:  # every grid value checked before a cluster is reached or data loaded
        grid = dict(sweep_grid.parse_grid_option(text, models.mlp) for text in args.grid)
        allowed = {"hidden", "bias", "init_scale", "seed"} | sweep_grid.train_parameters()
        unknown = sorted(set(grid) - allowed)
        if unknown:
            raise ValueError(f"unknown grid names {unknown}; use {', '.join(sorted(allowed))}")
        sweep_grid.check_values(grid, models.mlp)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    train_kwargs = {} if "epochs" in grid else {"epochs": args.epochs}
    with contextlib.ExitStack() as stack:
        client = None
        if args.scheduler is not None:
            try:
                client = stack.enter_context(connect(args.scheduler, timeout=SCHEDULER_TIMEOUT_S))
            except OSError as exc:
                raise CommandError(
                    f"cannot reach the Dask scheduler {args.scheduler}: {exc}"
                ) from None
        elif args.workers is not None:
            from distributed import Client, LocalCluster

            cluster = stack.enter_context(
                LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=":0")
            )
            client = stack.enter_context(Client(cluster))
        data = datasets.digits()
        make = functools.partial(
            models.mlp, n_in=data.n_features, hidden=args.hidden, n_out=data.n_classes
        )
        try:
            result = sweep(
                make,
                data,
                grid,
                out=args.out,
                train_kwargs=train_kwargs,
                analyses=args.analyses,
                client=client,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    for row in result.table:
        detail = row["error"] if row["status"] != "ok" else f"test_acc={row.get('test_acc')}"
        print(f"{row['status']:<6} {row['name']}  {detail}")
    _say(f"{len(result.completed)} of {len(result)} runs in {result.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
