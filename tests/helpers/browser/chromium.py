"""Where Chromium is and how it is launched (headless, WebGL through SwiftShader, no network)."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("LINLENS_CHROMIUM", "/usr/lib/chromium/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # WebGL 1 and 2 through SwiftShader (no GPU on CI); explicit, so that Chromium never
    # refuses the software fallback it has deprecated as automatic.
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]
VIEWPORT = {"width": 1400, "height": 1000}
