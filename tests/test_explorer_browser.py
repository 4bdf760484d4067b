"""The explorer in Debian's headless Chromium, served by a real uvicorn on 127.0.0.1 over
a pipeline-built store with hostile names: overview → workflow → run by clicking, no
console error, no request leaving 127.0.0.1, no script from the data run. Screenshots go
to ``test-artifacts/`` for people to look at."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright

from pipelines.fake_github.generator import HOSTILE_SQL, FakeConfig, generate
from pipelines.kpi.config import KpiConfig
from reports.explorer.config import ExplorerConfig
from tests.browser import assert_quiet_and_local, launch, watched_page
from tests.explorer_support import build_store, serving

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
KPI_CONFIG = KpiConfig(HOSTILE_SQL)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory):
    world = generate(
        FakeConfig(
            seed=5, repos=2, days=5, end_date=date(2025, 3, 10), runs_per_day=12, hostile_names=True
        )
    )
    db, _ = build_store(world, tmp_path_factory.mktemp("explorer-browser"), KPI_CONFIG)
    with serving(ExplorerConfig(db_path=db, kpi=KPI_CONFIG)) as base:
        yield base


def test_click_from_overview_to_a_workflow_and_a_run(url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        page, events = watched_page(browser)
        page.goto(url + "/")
        page.wait_for_load_state("load")
        assert page.locator("li.card").count() == 2 * 6
        assert page.locator("svg.chart").count() == 3
        page.screenshot(path=str(ARTIFACTS / "explorer-overview.png"), full_page=True)

        page.locator('#table-workflows td[data-key="workflow_name"] a').first.click()
        page.wait_for_load_state("load")
        assert urlsplit(page.url).path == "/workflow"
        assert page.locator("#table-runs tbody tr").count() > 0
        page.screenshot(path=str(ARTIFACTS / "explorer-workflow.png"), full_page=True)

        done = page.locator("#table-runs tbody tr").filter(
            has=page.locator('td[data-key="conclusion"]', has_text="success")
        )
        done.first.locator('td[data-key="run_number"] a').click()
        page.wait_for_load_state("load")
        assert urlsplit(page.url).path == "/run"
        assert page.locator("svg.gantt g.job rect.bar").count() >= 1
        page.screenshot(path=str(ARTIFACTS / "explorer-run.png"), full_page=True)

        # the filter bar: tick a branch class and apply
        page.goto(url + "/")
        page.locator("details.pick summary", has_text="Branches").click()
        page.locator('input[name="branch"][value="pr"]').check()
        page.locator("form.filters button[type=submit]").click()
        page.wait_for_load_state("load")
        assert "branch=pr" in page.url
        assert page.evaluate("() => window.__pwned") is None
        browser.close()
    assert_quiet_and_local(events)


def test_the_runners_page_from_the_nav(url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        page, events = watched_page(browser)
        page.goto(url + "/?branch=pr")
        page.locator("nav.nav a", has_text="Runners").click()
        page.wait_for_load_state("load")
        assert urlsplit(page.url).path == "/runners" and "branch=pr" in page.url
        for table in ("labels", "groups", "costs"):
            assert page.locator(f"#table-{table} tbody tr").count() > 0, table
        group = page.locator('#table-groups td[data-key="runner_group"]', has_text="<script>")
        assert group.count() == 1  # the self-hosted group's hostile name, shown as text
        page.screenshot(path=str(ARTIFACTS / "explorer-runners.png"), full_page=True)
        page.locator('#table-labels td[data-key="workflows"] a').first.click()
        page.wait_for_load_state("load")
        assert urlsplit(page.url).path == "/workflow"
        assert page.evaluate("() => window.__pwned") is None
        browser.close()
    assert_quiet_and_local(events)
