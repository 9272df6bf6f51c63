"""Suite-wide test settings: deterministic seeds, and a front-end bundle built from ``js/src``.

The package's build hook builds the bundle when the package is installed, not when a file in
``js/src`` changes afterwards. So that the tests never run against a stale bundle, the session
starts by comparing modification times and rebuilds with ``npm run build`` when a source file is
newer than the bundle.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
JS = REPO / "js"
STATIC = REPO / "linlens_widgets" / "widgets" / "static"
BUNDLE = ("embedding.js", "compare.js", "scrubber.js", "explorer.js", "page.js")


def stale_bundle_reason() -> str | None:
    """Why the bundle in ``widgets/static`` must be rebuilt, or ``None`` when it is current."""
    sources = [p for p in (JS / "src").rglob("*") if p.is_file()]
    sources += [JS / "build.mjs", JS / "package.json"]
    missing = [name for name in BUNDLE if not (STATIC / name).is_file()]
    if missing:
        return f"bundle file(s) {', '.join(missing)} missing"
    built = min((STATIC / name).stat().st_mtime for name in BUNDLE)
    newer = sorted(str(p.relative_to(REPO)) for p in sources if p.stat().st_mtime > built)
    return f"{', '.join(newer[:3])} changed since the bundle was built" if newer else None


def _rebuild_bundle(reason: str) -> None:
    command = "npm run build"
    npm = shutil.which("npm")
    if npm is None:
        pytest.exit(
            f"the front-end bundle is stale ({reason}) and npm is not installed: install Node.js "
            f"and npm, then run `cd js && npm ci && {command}`",
            returncode=1,
        )
    steps = [[npm, "run", "build"]]
    if not (JS / "node_modules").is_dir():
        steps.insert(0, [npm, "ci"])
    for step in steps:
        done = subprocess.run(step, cwd=JS, capture_output=True, text=True, check=False)
        if done.returncode:
            ran = "npm " + " ".join(step[1:])
            pytest.exit(
                f"rebuilding the stale front-end bundle ({reason}) failed in js/ (`{ran}`):\n"
                f"{done.stderr[-2000:]}",
                returncode=1,
            )
    for name in BUNDLE:  # esbuild may leave identical output untouched: mark it current
        os.utime(STATIC / name)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Rebuild the front-end bundle first when it is older than its sources."""
    if not (JS / "src").is_dir():  # an installed package tested without its sources
        return
    reason = stale_bundle_reason()
    if reason is not None:
        _rebuild_bundle(reason)


@pytest.fixture(autouse=True)
def _seed_everything() -> None:
    """Seed every generator before each test so that results never depend on test order."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
