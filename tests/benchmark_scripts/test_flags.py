"""The benchmark scripts refuse a count that would leave nothing to time, naming the flag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("rounds", ["0", "-2"])
def test_live_explorer_refuses_rounds_below_one(tmp_path: Path, rounds: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.live_explorer", str(tmp_path), "--rounds", rounds],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "--rounds" in done.stderr and "at least 1" in done.stderr
    assert "Traceback" not in done.stderr
