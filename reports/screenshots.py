"""``make screenshots``: pictures of the dashboard and the explorer for the README.

Runs ``ci-metrics demo`` (the bundled fake GitHub server, an ephemeral Dagster instance)
into a temporary folder, with the explorer's address set so the dashboard carries its
links, starts ``ci-metrics serve`` on 127.0.0.1 over that store, and photographs both
with Debian's headless Chromium (Playwright, a dev dependency) at 1280 px wide.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from pipelines import settings

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1280, 1500


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ci-metrics serve exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


def _photograph(pages: list[tuple[str, Path]]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            context = browser.new_context(
                viewport={"width": WIDTH, "height": HEIGHT}, color_scheme="light"
            )
            for url, path in pages:
                page = context.new_page()
                page.goto(url)
                page.wait_for_load_state("load")
                path.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(path), full_page=False)
                print(f"{path} ({path.stat().st_size // 1024} KiB)")
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    """Build the demo store, render, serve and photograph; the exit code."""
    parser = argparse.ArgumentParser(prog="python -m reports.screenshots")
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNGs")
    parser.add_argument("--days", type=int, default=21, help="days of demo data (21)")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    port = _free_port()
    explorer = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="ci-metrics-shots-") as tmp:
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CI_METRICS_")}
        env.pop("GITHUB_TOKEN", None)  # always the bundled fake server
        env.pop("DAGSTER_HOME", None)  # an ephemeral instance: no runs left behind
        env[settings.DB.key] = str(root / "store.duckdb")
        env[settings.OUTPUT_DIR.key] = str(root / "reports")
        env[settings.EXPLORER_URL.key] = explorer
        # the demo's first week is its baseline (as ci-metrics demo sets it for itself);
        # set here, the explorer computes the reductions against the same days
        last = datetime.now(UTC).date() - timedelta(days=1)
        first = last - timedelta(days=args.days - 1)
        env[settings.BASELINE_START.key] = first.isoformat()
        env[settings.BASELINE_END.key] = (first + timedelta(days=6)).isoformat()
        cli = [sys.executable, "-m", "pipelines.cli"]
        subprocess.run([*cli, "demo", "--days", str(args.days)], env=env, check=True)  # noqa: S603
        server = subprocess.Popen(  # noqa: S603 - our own command line, fixed arguments
            [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env
        )
        try:
            _wait_for(f"{explorer}/", server)
            _photograph(
                [
                    ((root / "reports" / "dashboard.html").as_uri(), out / "dashboard.png"),
                    (f"{explorer}/", out / "explorer.png"),
                ]
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
