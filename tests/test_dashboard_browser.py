"""The generated dashboard in a real headless Chromium (Debian's ``chromium``, driven by
Playwright): opened from disk, offline, with hostile names in the data.

Expected chart values come from the run specs of ``test_reports_data`` (worked out in
Python), never from the page or the renderer. A screenshot of each window is kept in
``test-artifacts/`` for people to look at.
"""

from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from pipelines import store
from reports.data import load_report
from reports.files import write_reports
from tests.browser import launch, offline_page
from tests.report_store import (
    AS_OF,
    WORKFLOWS,
    XSS_IMG,
    XSS_SCRIPT,
    Run,
    expected_compute,
    expected_mean_duration,
    expected_pr_validation,
    expected_rolling_success,
    expected_test_tables,
    expected_volume,
    insert_store,
    run_specs,
)

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def same(got: list[float | None], want: list[float | None]) -> bool:
    """Equal lists, gaps in the same places, numbers to the 6 digits the page keeps."""
    return len(got) == len(want) and all(
        (g is None and w is None)
        or (g is not None and w is not None and abs(g - w) <= 1e-5 * max(1.0, abs(w)))
        for g, w in zip(got, want, strict=True)
    )


def parse_values(text: str) -> list[float | None]:
    return [None if v == "" else float(v) for v in text.split(",")]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Run]]:
    runs = run_specs()
    root = tmp_path_factory.mktemp("browser")
    insert_store(root / "store.duckdb", runs)
    with store.connect(root / "store.duckdb", read_only=True) as con:
        report = load_report(con, as_of=AS_OF, now=datetime(2025, 3, 11, 7, 0))
    paths = write_reports(report, root / "out", window=30)
    return paths["dashboard"], runs


@pytest.fixture(scope="module")
def browser_page(dashboard: tuple[Path, list[Run]]):
    path, _ = dashboard
    with sync_playwright() as p:
        browser = launch(p)
        page, events = offline_page(browser, path)
        yield page, events
        browser.close()


def visible_chart(page: Page, name: str, days: int):
    return page.locator(f'section.w-{days} svg[data-chart="{name}-{days}"]')


def series_values(page: Page, name: str, days: int) -> dict[str, list[float | None]]:
    groups = visible_chart(page, name, days).locator("g.series")
    return {
        groups.nth(i).get_attribute("data-series"): parse_values(
            groups.nth(i).get_attribute("data-values")
        )
        for i in range(groups.count())
    }


def check_window(page: Page, runs: list[Run], days: int) -> None:
    for other in (7, 30, 90):
        assert page.locator(f"section.w-{other}").is_visible() == (other == days)
    volume = series_values(page, "volume", days)
    assert volume == {k: [float(x) for x in v] for k, v in expected_volume(runs, days).items()}
    # one drawn bar per non-zero value, each carrying that value
    rects = visible_chart(page, "volume", days).locator("rect")
    drawn = sorted(float(rects.nth(i).get_attribute("data-value")) for i in range(rects.count()))
    assert drawn == sorted(float(x) for v in expected_volume(runs, days).values() for x in v if x)
    compute = series_values(page, "compute", days)
    assert list(compute.values()) == [[float(x) for x in expected_compute(runs, days)]]
    mean = series_values(page, "duration-mean", days)
    rolling = series_values(page, "success", days)
    for name in WORKFLOWS:
        assert same(mean[name], expected_mean_duration(runs, name, days)), name
        assert same(rolling[name], expected_rolling_success(runs, name, days)), name
    card = page.locator(f'section.w-{days} li.card[data-kpi="pr_validation_avg_s"]')
    assert float(card.get_attribute("data-value")) == pytest.approx(
        expected_pr_validation(runs, AS_OF, days), rel=1e-5
    )
    for chart in ("success", "duration-mean", "duration-p95", "volume", "compute", "prwait"):
        assert visible_chart(page, chart, days).is_visible(), chart
        assert visible_chart(page, chart, days).get_attribute("data-kind") != "empty", chart
    # the test tables of the shown window, as worked out from the test rows
    tests = expected_test_tables(days)
    for table, key in (("slow", "slow"), ("flaky", "flaky"), ("test-regressions", "regressions")):
        cells = page.locator(f'section.w-{days} table[data-table="{table}"] tbody th')
        assert cells.count() == 0 or cells.first.is_visible(), table
        assert sorted(cells.all_inner_texts()) == sorted(tests[key]), table


def test_dashboard_in_chromium(browser_page, dashboard) -> None:
    page, events = browser_page
    path, runs = dashboard
    ARTIFACTS.mkdir(exist_ok=True)

    check_window(page, runs, 30)  # the window chosen when rendering
    page.screenshot(path=str(ARTIFACTS / "dashboard-30d.png"), full_page=True)

    page.locator('label[for="w-7"]').click()
    check_window(page, runs, 7)
    assert page.evaluate("location.hash") == "#window=7"
    page.keyboard.press("ArrowRight")  # the radio group is keyboard operable: 7 -> 30
    check_window(page, runs, 30)
    page.locator('label[for="w-90"]').click()
    check_window(page, runs, 90)
    page.screenshot(path=str(ARTIFACTS / "dashboard-90d.png"), full_page=True)

    # hostile names are text, nothing ran, nothing was fetched, nothing complained
    row_names = page.locator("section.w-90 table.sortable tbody th").all_inner_texts()
    assert set(row_names) == set(WORKFLOWS)
    assert XSS_IMG in page.locator("section.w-90 section.tests").inner_text()
    assert XSS_SCRIPT in page.locator("section.w-90 section.tests").inner_text()
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 2
    assert events["dialogs"] == []
    assert events["errors"] == []
    assert [c for c in events["console"] if c[0] in ("error", "warning")] == []
    assert events["requests"] == [path.as_uri()]

    # the performance table sorts by success rate
    table = page.locator("section.w-90 table.sortable")
    table.locator("thead button", has_text="Success").click()
    rates = [
        float(v)
        for v in table.locator("tbody td:nth-child(3)").evaluate_all(
            "cells => cells.map(c => c.dataset.sort)"
        )
    ]
    assert rates == sorted(rates)
    assert table.locator("th[aria-sort=ascending]").count() == 1

    # highlighting a workflow dims the other series, matched by name as data
    page.locator("#focus").select_option(XSS_SCRIPT)
    dimmed = visible_chart(page, "success", 90).locator("g.series.dim")
    assert dimmed.count() == len(WORKFLOWS) - 1

    # phone width in dark mode: still renders, no horizontal overflow of the page
    page.set_viewport_size({"width": 390, "height": 844})
    page.emulate_media(color_scheme="dark")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(ARTIFACTS / "dashboard-phone-dark.png"), full_page=False)
