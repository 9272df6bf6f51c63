"""Collect what a page reports but a user never sees: uncaught errors, console errors, requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.sync_api import ConsoleMessage, Page, Request


@dataclass
class PageWatch:
    """Lists of page errors, console errors and requests seen since the last ``clear``."""

    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> PageWatch:
        """Start listening on ``page``; returns self."""
        page.on("pageerror", lambda exc: self.page_errors.append(f"{exc.name}: {exc.message}"))
        page.on("console", self._on_console)
        page.on("request", self._on_request)
        return self

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        location = message.location or {}
        where = f"{location.get('url', '?')}:{location.get('lineNumber', '?')}"
        self.console_errors.append(f"{message.text} ({where})")

    def _on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def clear(self) -> None:
        """Forget everything seen so far."""
        self.page_errors.clear()
        self.console_errors.clear()
        self.requests.clear()

    def problems(self) -> list[str]:
        """Every uncaught page error and console error, labelled."""
        return [f"pageerror: {e}" for e in self.page_errors] + [
            f"console.error: {e}" for e in self.console_errors
        ]
