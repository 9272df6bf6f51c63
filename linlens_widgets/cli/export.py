"""``linlens export``: a saved run's explorer as one self-contained HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from linlens_widgets.cli.embedding import embed
from linlens_widgets.cli.pages import save_explorer, writable_page
from linlens_widgets.cli.run_folder import load_run


def add_parser(commands: Any) -> None:
    """Add the ``export`` command to the subcommands ``commands``."""
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
    export.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run ``linlens export``: check the page, embed the run (once), write the page."""
    writable_page(args.page)  # page problems show before the (long) embedding
    run = load_run(args.run)
    embed(run)
    save_explorer(run, args.page, args.precision)
    return 0
