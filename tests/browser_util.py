"""A headless Chromium for the browser tests: Playwright (PyPI) driving Debian's `chromium` package.

Playwright's own browser download is not used (it needs the internet); `make test` installs the
Debian package when run as root and Playwright from requirements.lock. Where either is missing,
`browser_missing()` says so in one line and the browser tests skip.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Iterator

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]


def browser_missing() -> str | None:
    """Why no browser test can run here (one line), or None when Playwright and Chromium are installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser test skipped: the Playwright package is not installed (requirements.lock pins it; `make test` installs it)"
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return ("browser test skipped: Debian's chromium is not installed (`make test` installs it as root; "
                "else: sudo apt-get install chromium)")
    return None


@contextlib.contextmanager
def chromium_page(profile: Path) -> Iterator[tuple[object, list[str]]]:
    """A fresh page of a headless Chromium with its own user-data-dir; yields (page, errors seen in its console)."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(profile), executable_path=executable, headless=True, args=ARGS)
        try:
            page = context.new_page()
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page, errors
        finally:
            context.close()
