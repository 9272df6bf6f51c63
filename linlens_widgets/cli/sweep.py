"""``linlens sweep``: the digits MLP trained over a grid of parameters on a Dask cluster.

See :func:`linlens_widgets.sweep`: one run is saved per grid point (the Cartesian product of every
``--grid``); points already saved are skipped, failed ones are recorded in ``sweep.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from linlens_widgets.cli.errors import CommandError
from linlens_widgets.cli.options import positive_int
from linlens_widgets.cli.terminal import say
from linlens_widgets.cli.training import RUN_DEFAULTS

#: Seconds to connect to a ``--scheduler`` and hear it answer, together.
SCHEDULER_TIMEOUT_S = 20


def add_parser(commands: Any) -> None:
    """Add the ``sweep`` command to the subcommands ``commands``."""
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
        type=positive_int,
        nargs="+",
        default=RUN_DEFAULTS["hidden"],
        metavar="WIDTH",
        help="hidden widths when not in the grid (default: %(default)s)",
    )
    sweep.add_argument("--epochs", type=positive_int, default=20, help="(default: %(default)s)")
    sweep.add_argument(
        "--analyses",
        nargs="*",
        default=["embed", "class_similarity"],
        metavar="NAME",
        help="per-run analyses (default: embed class_similarity)",
    )
    where = sweep.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=positive_int, help="local worker processes (default: one per core)"
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://host:8786"
    )
    sweep.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run ``linlens sweep``: every grid value is checked before a cluster is reached."""
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
    say(f"{len(result.completed)} of {len(result)} runs in {result.out}")
    return 0
