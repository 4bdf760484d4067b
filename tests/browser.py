"""Debian's Chromium, headless, showing a local file that may load nothing else."""

from pathlib import Path

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


def offline_page(browser: Browser, path: Path) -> tuple[Page, dict[str, list]]:
    """``path`` loaded in a new page whose requests other than files are refused; the
    page's console messages, requests, dialogs and errors are recorded as they come."""
    events: dict[str, list] = {"console": [], "requests": [], "dialogs": [], "errors": []}
    context = browser.new_context(viewport={"width": 1360, "height": 900})

    def route(r) -> None:
        events["requests"].append(r.request.url)
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: events["console"].append((m.type, m.text)))
    page.on("pageerror", lambda e: events["errors"].append(str(e)))
    page.on("dialog", lambda d: (events["dialogs"].append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, events
