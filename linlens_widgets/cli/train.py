"""``linlens train``: train an MLP with recorded checkpoints, embed it, and save the run folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from linlens_widgets.cli.data import DATASETS, load_dataset
from linlens_widgets.cli.embedding import embed
from linlens_widgets.cli.errors import CommandError
from linlens_widgets.cli.options import add_run_shape, positive_float, positive_int
from linlens_widgets.cli.run_folder import check_out
from linlens_widgets.cli.terminal import say
from linlens_widgets.cli.training import RUN_DEFAULTS, check_shape, train_run


def add_parser(commands: Any) -> None:
    """Add the ``train`` command to the subcommands ``commands``."""
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
    add_run_shape(train, RUN_DEFAULTS)
    train.add_argument("--out", type=Path, required=True, metavar="DIR", help="run folder to write")
    train.add_argument("--lr", type=positive_float, help="learning rate (default: train's)")
    train.add_argument("--optimizer", choices=("sgd", "adam"), help="(default: train's)")
    train.add_argument("--batch-size", type=positive_int, help="(default: train's)")
    train.add_argument(
        "--bias",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="give the linear layers a bias (default: bias-free, as in the paper)",
    )
    train.add_argument(
        "--init-scale", type=positive_float, default=1.0, help="(default: %(default)s)"
    )
    train.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    train.add_argument(
        "--no-embed",
        dest="embed",
        action="store_false",
        help="skip the aligned t-SNE (export computes it later)",
    )
    train.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run ``linlens train``: every ``--out`` problem is found before training starts."""
    out: Path = args.out.expanduser()
    check_out(out, overwrite=args.overwrite)
    if isinstance(args.checkpoints, list) and args.checkpoints[-1] > args.epochs:
        raise CommandError(
            f"--checkpoints epoch {args.checkpoints[-1]:g} is after the last epoch ({args.epochs})"
        )
    data = load_dataset(args.dataset, args.root, download=args.download)
    check_shape(data, args.hidden, args.probe)
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
    run = train_run(
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
        embed(run)
    out.parent.mkdir(parents=True, exist_ok=True)
    run.save(out, overwrite=args.overwrite)
    say(f"saved the run to {out} ({len(run.checkpoints)} checkpoints)")
    return 0
