"""The ``linlens`` command: a trained network in the linked explorer with one command.

``linlens demo`` trains the default digits run once (cached in the user cache directory, see
:mod:`linlens_widgets.cli.user_cache`), embeds it, and opens JupyterLab on a notebook with the
explorer; ``--html`` writes the kernel-free explorer page instead. ``linlens train`` trains and
saves a run, ``linlens export`` turns a saved run into an explorer page, ``linlens report`` into a
Bokeh report of its training dynamics, and ``linlens info`` summarises it. ``linlens sweep``
trains the digits MLP over a grid of parameters on a Dask cluster (see
:func:`linlens_widgets.sweep`).

This module only wires the parser; each command is one module of this package (``demo``,
``train``, ``export``, ``report``, ``info``, ``sweep``), each with ``add_parser`` and
``run_command``. User errors (a missing MNIST folder, an existing ``--out``) print
``linlens: error: …`` and exit with status 2, without a traceback.

>>> from linlens_widgets.cli import main
>>> main(["train", "--epochs", "3", "--out", "runs/tiny"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from linlens_widgets.cli import demo, export, info, report, sweep, train
from linlens_widgets.cli.errors import CommandError, error_text, is_user_error
from linlens_widgets.cli.terminal import PROG, printable
from linlens_widgets.version import __version__


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``linlens: error: …`` line, like the rest."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix(PROG).strip()
        where = f" (see linlens {command} --help)" if command else " (see linlens --help)"
        raise CommandError(f"{message}{where}")


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
        if not is_user_error(exc):
            raise
        print(f"{PROG}: error: {printable(error_text(exc))}", file=sys.stderr)
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
    for command in (demo, train, export, report, info, sweep):
        command.add_parser(commands)
    return parser
