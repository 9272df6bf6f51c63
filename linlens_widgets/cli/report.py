"""``linlens report``: a saved run's training dynamics as an offline Bokeh HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from linlens_widgets.cli.pages import writable_page
from linlens_widgets.cli.run_folder import load_run
from linlens_widgets.cli.terminal import say


def add_parser(commands: Any) -> None:
    """Add the ``report`` command to the subcommands ``commands``."""
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
    report.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run ``linlens report``: write the run's report page."""
    from linlens_widgets import plots

    run = load_run(args.run)
    page = writable_page(args.page)
    plots.report(run, page)
    say(f"wrote {page} (open it in a browser; no server needed)")
    return 0
