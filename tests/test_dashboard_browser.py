"""The generated dashboard in a real headless Chromium (Debian's ``chromium``, driven by
Playwright): opened from disk, offline, with hostile names in the data.

Expected chart values come from the run specs of ``test_reports_data`` (worked out in
Python), never from the page or the renderer. A screenshot of each window is kept in
``test-artifacts/`` for people to look at.
"""

import math
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
    window_days,
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
    paths = write_reports(report, root / "out", window=30, explorer_url="http://explorer.test/")
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

    # choosing a workflow dims the other series of the per-workflow charts, by name as data
    page.locator("#workflow-filter").select_option(XSS_SCRIPT)
    dimmed = visible_chart(page, "success", 90).locator("g.series.dim")
    assert dimmed.count() == len(WORKFLOWS) - 1
    page.locator("#workflow-filter").select_option("")

    # phone width in dark mode: still renders, no horizontal overflow of the page
    page.set_viewport_size({"width": 390, "height": 844})
    page.emulate_media(color_scheme="dark")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(ARTIFACTS / "dashboard-phone-dark.png"), full_page=False)


def totals_column(page: Page, days: int, key: str) -> list[float | None]:
    cells = page.locator(f'section.w-{days} table[data-table="daily-totals"] td[data-key="{key}"]')
    return [
        None if v == "" else float(v)
        for v in cells.evaluate_all("cells => cells.map(c => c.dataset.value)")
    ]


def expected_daily(runs: list[Run], days: int, workflow: str | None) -> dict[str, list]:
    """Per-day sums over the runs of ``workflow`` (None: every workflow), from the specs."""
    out: dict[str, list] = {k: [] for k in ("runs", "failures", "compute", "secs", "mean")}
    for d in window_days(days):
        rs = [r for r in runs if r.day == d and workflow in (None, r.workflow)]
        out["runs"].append(len(rs))
        out["failures"].append(sum(not r.success for r in rs))
        out["compute"].append(sum(math.ceil(r.job_s / 60) for r in rs))
        out["secs"].append(sum(r.duration_s for r in rs))
        out["mean"].append(sum(r.duration_s for r in rs) / len(rs) if rs else None)
    return out


def test_workflow_filter_re_adds_the_daily_sums(browser_page, dashboard) -> None:
    page, events = browser_page
    _, runs = dashboard
    select = page.locator("#workflow-filter")
    for workflow in (XSS_IMG, "CI", None):
        select.select_option(workflow or "")
        for days in (7, 30):
            page.locator(f'label[for="w-{days}"]').click()
            want = expected_daily(runs, days, workflow)
            assert totals_column(page, days, "runs") == want["runs"], (workflow, days)
            assert totals_column(page, days, "failures") == want["failures"]
            assert totals_column(page, days, "compute_minutes") == want["compute"]
            assert same(totals_column(page, days, "duration_sum_s"), want["secs"])
            assert same(totals_column(page, days, "duration_mean_s"), want["mean"])
            # the bar charts re-drawn from the same sums: runs per event, compute per repo
            volume = series_values(page, "volume", days)
            for event, values in expected_volume(
                [r for r in runs if workflow in (None, r.workflow)], days
            ).items():
                assert volume[event] == [float(v) for v in values], (workflow, event)
            assert list(series_values(page, "compute", days).values()) == [
                [float(v) for v in want["compute"]]
            ]
            drawn = visible_chart(page, "volume", days).locator("rect")
            assert sum(
                float(v) for v in drawn.evaluate_all("rs => rs.map(r => r.dataset.value)")
            ) == sum(want["runs"])
            # views that are not sums say so while a workflow is chosen
            note = page.locator(f"section.w-{days} #fig-prwait-{days} .when-filtered")
            assert note.is_visible() == (workflow is not None)
            rows = page.locator(f"section.w-{days} table.sortable tbody tr")
            shown = [
                t
                for t, v in zip(
                    rows.all_inner_texts(),
                    [rows.nth(i).is_visible() for i in range(rows.count())],
                    strict=True,
                )
                if v
            ]
            assert len(shown) == (1 if workflow else len(WORKFLOWS))
        if workflow == XSS_IMG:
            page.screenshot(path=str(ARTIFACTS / "dashboard-filtered.png"), full_page=True)
    assert events["errors"] == [] and events["dialogs"] == []


def test_links_lead_to_github_and_the_explorer(browser_page) -> None:
    page, _ = browser_page
    page.locator('label[for="w-7"]').click()
    hrefs = page.locator("section.w-7 a[data-explorer]").evaluate_all(
        "links => links.map(a => a.href)"
    )
    assert hrefs and all(h.startswith("http://explorer.test/") for h in hrefs)
    workflows = page.locator('section.w-7 table.sortable a[data-explorer="workflow"]')
    assert sorted(workflows.all_inner_texts()) == sorted(WORKFLOWS)
    commits = page.locator('section.w-7 a[data-github="commit"]').evaluate_all(
        "links => links.map(a => a.href)"
    )
    assert commits and all(h.startswith("https://github.com/o/r/commit/") for h in commits)
