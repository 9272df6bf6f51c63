"""``linlens info``: a saved run's dataset, model, checkpoints and cached analyses."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from linlens_widgets.cli.run_folder import load_run
from linlens_widgets.cli.terminal import printable
from linlens_widgets.runs.summary import run_summary


def add_parser(commands: Any) -> None:
    """Add the ``info`` command to the subcommands ``commands``."""
    info = commands.add_parser(
        "info",
        help="summarise a saved run",
        description="Print a saved run's dataset, model, checkpoints and cached analyses.",
    )
    info.add_argument("run", type=Path, help="run folder")
    info.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run ``linlens info``: one ``label: value`` line each on stdout, names made printable."""
    run = load_run(args.run)
    for label, value in run_summary(run).items():
        print(f"{label + ':':<13} {printable(value)}")
    return 0
