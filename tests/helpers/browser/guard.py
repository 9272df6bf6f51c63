"""Per-test bookkeeping for browser tests: artifacts folder, failure screenshots, error checks."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from playwright.sync_api import Page

from tests.helpers.browser.watch import PageWatch

REPO_ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS_ROOT = REPO_ROOT / "test-artifacts" / "e2e"


def artifacts_dir(test_name: str) -> Path:
    """A clean folder for one test's screenshots and logs under ``test-artifacts/e2e``."""
    folder = ARTIFACTS_ROOT / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_")
    shutil.rmtree(folder, ignore_errors=True)
    return folder


@dataclass
class Watched:
    """A page and the watch listening on it (what a guard tracks)."""

    page: Page
    watch: PageWatch


@dataclass
class Guard:
    """Screenshots tracked pages on failure and fails a test that saw page or console errors."""

    folder: Path
    tracked: list[Watched] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def track(self, page: Page, watch: PageWatch) -> None:
        """Watch ``page`` for this test only: forget errors seen before it started."""
        watch.clear()
        self.tracked.append(Watched(page, watch))

    def allow(self, pattern: str) -> None:
        """Let console/page errors matching ``pattern`` pass (for tests that force an error)."""
        self.allowed.append(re.compile(pattern))

    def screenshot(self, name: str = "failure") -> Path:
        """Save a full-page screenshot of every tracked page; return the folder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for i, watched in enumerate(self.tracked):
            try:
                watched.page.screenshot(path=self.folder / f"{name}-{i}.png", full_page=True)
            except Exception as exc:  # the page may be gone; the log says why
                (self.folder / f"{name}-{i}.txt").write_text(f"no screenshot: {exc}\n")
        return self.folder

    def fail(self, message: str) -> NoReturn:
        """Screenshot, then fail with ``message`` naming the screenshot folder."""
        folder = self.screenshot()
        raise AssertionError(f"{message}\n(screenshots and page errors in {folder})")

    def check(self, condition: bool, message: str) -> None:
        """``assert condition`` that screenshots and names the folder when it fails."""
        if not condition:
            self.fail(message)

    def problems(self) -> list[str]:
        """Page and console errors seen on tracked pages, minus allowed ones."""
        found = [p for w in self.tracked for p in w.watch.problems()]
        return [p for p in found if not any(a.search(p) for a in self.allowed)]

    def assert_clean(self) -> None:
        """Fail if any tracked page raised an uncaught error or logged a console error."""
        problems = self.problems()
        if problems:
            self.fail("page errors or console errors:\n  " + "\n  ".join(problems))

    def write_log(self, extra: str = "") -> None:
        """Write every error seen (allowed or not) and ``extra`` to ``errors.txt``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        lines = [p for w in self.tracked for p in w.watch.problems()]
        (self.folder / "errors.txt").write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
