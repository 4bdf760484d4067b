"""Debian's Chromium, headless: a local file that may load nothing else, or a page of a
local server, with what the page logs, asks and requests recorded."""

from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(p: Playwright) -> Browser:
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def _listen(page: Page, events: dict[str, list]) -> None:
    page.on("console", lambda m: events["console"].append((m.type, m.text)))
    page.on("pageerror", lambda e: events["errors"].append(str(e)))
    page.on("dialog", lambda d: (events["dialogs"].append(d.message), d.dismiss()))


def _events() -> dict[str, list]:
    return {"console": [], "requests": [], "dialogs": [], "errors": []}


def offline_page(browser: Browser, path: Path) -> tuple[Page, dict[str, list]]:
    """``path`` loaded in a new page whose requests other than files are refused; the
    page's console messages, requests, dialogs and errors are recorded as they come."""
    events = _events()
    context = browser.new_context(viewport={"width": 1360, "height": 900})

    def route(r) -> None:
        events["requests"].append(r.request.url)
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    _listen(page, events)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, events


def watched_page(browser: Browser) -> tuple[Page, dict[str, list]]:
    """A new page whose console messages, requests, dialogs and errors are recorded."""
    events = _events()
    page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
    _listen(page, events)
    page.on("request", lambda r: events["requests"].append(r.url))
    return page, events


def assert_quiet_and_local(events: dict[str, list], host: str = "127.0.0.1") -> None:
    """No page error, dialog, console error or warning, and every request went to ``host``."""
    assert events["errors"] == [] and events["dialogs"] == []
    assert [c for c in events["console"] if c[0] in ("error", "warning")] == []
    away = {u for u in events["requests"] if urlsplit(u).hostname != host}
    assert events["requests"] and not away, away
