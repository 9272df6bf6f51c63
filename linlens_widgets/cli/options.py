"""Argument types and the options ``train`` and ``demo`` share (the run's shape).

Each type turns one command-line string into a checked value, or raises
:class:`argparse.ArgumentTypeError` with a message naming what was expected; argparse prints it as
one ``linlens: error: …`` line.
"""

from __future__ import annotations

import argparse
import math
from typing import Any


def positive_int(text: str) -> int:
    """Parse a positive integer (a width, a count of epochs, a batch size)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def seed(text: str) -> int:
    """Parse a seed every generator accepts: an integer from 0 to 2**63 - 1."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to 2**63-1, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """Parse a positive finite number (a learning rate, an initialisation scale)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def checkpoints(text: str) -> str | int | list[float]:
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


SHAPE_OPTIONS = ("hidden", "epochs", "checkpoints", "probe", "seed")
"""The options :func:`add_run_shape` adds, by their ``argparse`` destination."""


def add_run_shape(parser: Any, defaults: dict[str, Any]) -> None:
    """Add the options ``train`` and ``demo`` share: widths, epochs, checkpoints, probe, seed."""
    parser.add_argument(
        "--hidden",
        type=positive_int,
        nargs="+",
        default=defaults["hidden"],
        metavar="WIDTH",
        help=f"hidden layer widths (default: {' '.join(map(str, defaults['hidden']))})",
    )
    parser.add_argument(
        "--epochs", type=positive_int, default=defaults["epochs"], help="(default: %(default)s)"
    )
    parser.add_argument(
        "--checkpoints",
        type=checkpoints,
        default=defaults["checkpoints"],
        help="checkpoint schedule: 'log' (20 log-spaced), 'epoch' (every epoch), a count of "
        "log-spaced checkpoints, or comma-separated epochs such as 0,0.5,1,5 (default: log)",
    )
    parser.add_argument(
        "--probe",
        type=positive_int,
        default=defaults["probe"],
        metavar="N",
        help="test samples whose W_eff are tracked (default: the test split, at most 2000)",
    )
    parser.add_argument(
        "--seed", type=seed, default=defaults["seed"], help="(default: %(default)s)"
    )
