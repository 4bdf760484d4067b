"""The explorer's test page (``/test``) and tests listing (``/tests``) over a store the real
pipeline built from the fake GitHub server (hostile names), plus one report ingested by
``ci-metrics ingest`` whose test id and failure message are hostile.

Expected numbers come from SQL over ``raw.test_results`` written here, and from what the
generator made flaky (``FakeWorld.flaky_tests``), never from the page's own queries.
"""

from __future__ import annotations

import csv
import html
import io
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from statistics import median
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import sync_playwright

from pipelines import store
from pipelines.fake_github import junit_sim
from pipelines.fake_github.generator import (
    HOSTILE_IMG,
    HOSTILE_SCRIPT,
    HOSTILE_SQL,
    FakeConfig,
    FakeWorld,
    generate,
)
from pipelines.kpi.config import KpiConfig
from pipelines.snapshot import publish
from reports.explorer.config import ExplorerConfig
from reports.explorer.tables import csv_value
from tests.browser import assert_quiet_and_local, launch, watched_page
from tests.explorer_support import build_store, hrefs, serving

pytestmark = pytest.mark.slow

END = date(2025, 3, 10)
DAYS = 5
START = END - timedelta(days=DAYS - 1)
PERIOD = {"start": START.isoformat(), "end": END.isoformat()}
KPI_CONFIG = KpiConfig(HOSTILE_SQL)
HOSTILE_TEST = f"tests.hostile::test_name[{HOSTILE_SCRIPT}]"
HOSTILE_MESSAGE = f"{HOSTILE_IMG} went wrong\n{HOSTILE_SCRIPT}\n  at line 2 & more"
HOSTILE_FIRST_LINE = f"{HOSTILE_IMG} went wrong"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def _xml_attr(text: str) -> str:
    return html.escape(text, quote=True).replace("\n", "&#10;")


@pytest.fixture(scope="module")
def world() -> FakeWorld:
    return generate(
        FakeConfig(seed=5, repos=2, days=DAYS, end_date=END, runs_per_day=12, hostile_names=True)
    )


@pytest.fixture(scope="module")
def built(world: FakeWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("explorer-tests")
    db, env = build_store(world, root, KPI_CONFIG)
    with store.connect(db, read_only=True) as con:
        repo, run_id, attempt, sha, branch = con.execute(
            "SELECT repo, run_id, run_attempt, head_sha, head_branch FROM raw.workflow_runs "
            "WHERE created_at::DATE = ? ORDER BY repo, run_id, run_attempt LIMIT 1",
            [END],
        ).fetchone()
    classname, name = HOSTILE_TEST.split("::", 1)
    report = root / "hostile-junit.xml"
    report.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<testsuite name="hostile" tests="2" failures="1" timestamp="2025-03-10T12:00:00">'
        f'<testcase classname={_attr(classname)} name={_attr(name)} time="0.25">'
        f"<failure message={_attr(HOSTILE_MESSAGE)}>{html.escape(HOSTILE_MESSAGE)}</failure>"
        "</testcase>"
        f'<testcase classname={_attr(classname)} name="test_other" time="0.5"/>'
        "</testsuite>\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pipelines.cli", "ingest", str(report)),
            *("--repo", repo, "--run-id", str(run_id), "--run-attempt", str(attempt)),
            *("--sha", sha, "--branch", branch),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    publish(db)  # the explorer reads the snapshot
    return db


def _attr(text: str) -> str:
    return f'"{_xml_attr(text)}"'


@pytest.fixture(scope="module")
def url(built: Path):
    with serving(ExplorerConfig(db_path=built, kpi=KPI_CONFIG)) as base:
        yield base


@pytest.fixture(scope="module")
def http(url: str):
    with httpx.Client(base_url=url, timeout=120) as client:
        yield client


def raw(db: Path, sql: str, params: list) -> list[tuple]:
    with store.connect(db, read_only=True) as con:
        return con.execute(sql, params).fetchall()


def page_json(http: httpx.Client, test_id: str, repo: str, **extra: str) -> dict:
    got = http.get(
        "/test", params={"test_id": test_id, "repo": repo, **PERIOD, **extra, "format": "json"}
    )
    assert got.status_code == 200, got.text
    return got.json()


def proving_commits(db: Path, test_id: str, repo: str) -> set[str]:
    """Commits where the test both passed and failed/errored, or a rerun row of a report is
    followed by a pass of it in the same report: straight from raw.test_results."""
    rows = raw(
        db,
        "SELECT head_sha, content_hash, seq, outcome FROM raw.test_results "
        "WHERE test_id = ? AND repo = ? AND day BETWEEN ? AND ? AND head_sha IS NOT NULL",
        [test_id, repo, START, END],
    )
    outcomes: dict[str, set[str]] = defaultdict(set)
    by_file: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for sha, content, seq, outcome in rows:
        outcomes[sha].add(outcome)
        by_file[(sha, content)].append((seq, outcome))
    out = {s for s, o in outcomes.items() if "passed" in o and o & {"failed", "error"}}
    for (sha, _), seqs in by_file.items():
        reruns = [s for s, o in seqs if o == "rerun"]
        passes = [s for s, o in seqs if o == "passed"]
        if reruns and passes and min(reruns) < max(passes):
            out.add(sha)
    return out


# ---- the numbers are raw.test_results'


def test_daily_history_and_totals_equal_sql_over_raw_results(
    http: httpx.Client, built: Path, world: FakeWorld
) -> None:
    test_id = next(t for t in sorted(world.flaky_tests) if "test_cache" in t)
    for repo in world.repos:
        body = page_json(http, test_id, repo)
        rows = raw(
            built,
            "SELECT day, outcome, duration_s FROM raw.test_results "
            "WHERE test_id = ? AND repo = ? AND day BETWEEN ? AND ?",
            [test_id, repo, START, END],
        )
        assert rows, "the test ran in the period"
        daily = {r["day"]: r for r in body["tables"]["daily"]}
        assert list(daily) == [(START + timedelta(days=i)).isoformat() for i in range(DAYS)]
        for day, shown in daily.items():
            mine = [r for r in rows if r[0].isoformat() == day]
            count = {o: sum(1 for r in mine if r[1] == o) for o in ("passed", "failed", "error")}
            assert shown["executions"] == len(mine), day
            assert (shown["passed"], shown["failed"], shown["errors"]) == (
                count["passed"],
                count["failed"],
                count["error"],
            ), day
            timed = [r[2] for r in mine if r[2] is not None]
            want = median(timed) if timed else None
            assert (shown["duration_p50_s"] is None) == (want is None), day
            if want is not None:
                assert shown["duration_p50_s"] == pytest.approx(want), day
        (total,) = body["tables"]["totals"]
        failures = sum(1 for r in rows if r[1] in ("failed", "error"))
        assert total["executions"] == len(rows) and total["failures"] == failures
        assert total["flaky_commits"] == len(proving_commits(built, test_id, repo))


def test_flaky_tests_show_their_proving_commits_and_steady_ones_none(
    http: httpx.Client, built: Path, world: FakeWorld
) -> None:
    shown_any = 0
    for test_id in sorted(world.flaky_tests):
        for repo in world.repos:
            body = page_json(http, test_id, repo)
            got = {r["head_sha"] for r in body["tables"]["flaky_commits"]}
            assert got == proving_commits(built, test_id, repo), (test_id, repo)
            shown_any += len(got)
            for row in body["tables"]["flaky_commits"]:
                assert row["passed"] >= 1 and (row["failed"] >= 1 or row["rerun_then_pass"])
    assert shown_any >= 1, "the generator's flaky tests failed and passed on some commit"
    # tests made steady: some never fail; others fail on a commit the generator broke, in
    # every job and attempt of it, which proves nothing
    failing = {
        t
        for (t,) in raw(
            built,
            "SELECT DISTINCT test_id FROM raw.test_results WHERE outcome IN ('failed', 'error') "
            "AND day BETWEEN ? AND ?",
            [START, END],
        )
    }
    steady = [t for t in sorted(junit_sim.BREAKABLE_TEST_IDS) if t not in failing]
    broken = [t for t in sorted(junit_sim.BREAKABLE_TEST_IDS) if t in failing]
    assert steady and broken, "some tests never failed, some failed on a broken commit"
    for test_id in [*steady[:2], *broken]:
        for repo in world.repos:
            body = page_json(http, test_id, repo)
            assert body["tables"]["flaky_commits"] == [], test_id
            assert all(r["flaky_commits"] == 0 for r in body["tables"]["totals"])
            if test_id in steady:
                assert body["tables"]["messages"] == []


def test_failure_message_groups_equal_an_independent_count(
    http: httpx.Client, built: Path, world: FakeWorld
) -> None:
    cases = [(t, r) for t in sorted(world.flaky_tests) for r in world.repos]
    rows = raw(built, "SELECT repo FROM raw.test_results WHERE test_id = ?", [HOSTILE_TEST])
    cases.append((HOSTILE_TEST, rows[0][0]))
    checked = 0
    for test_id, repo in cases:
        got = raw(
            built,
            "SELECT message, run_id FROM raw.test_results WHERE test_id = ? AND repo = ? "
            "AND day BETWEEN ? AND ? AND outcome IN ('failed', 'error', 'rerun')",
            [test_id, repo, START, END],
        )
        want: dict[str | None, int] = defaultdict(int)
        runs: dict[str | None, set[int]] = defaultdict(set)
        for message, run_id in got:
            first = (message or "").replace("\r", "").split("\n")[0].strip() or None
            want[first] += 1
            runs[first].add(run_id)
        body = page_json(http, test_id, repo)
        shown = {g["first_line"]: g for g in body["tables"]["messages"]}
        assert {k: g["occurrences"] for k, g in shown.items()} == dict(want), test_id
        for first, group in shown.items():
            assert group["sample_run_id"] in runs[first]
            assert group["message"].replace("\r", "").split("\n")[0].strip() == first
        checked += len(shown)
    assert checked >= 2
    hostile = page_json(http, HOSTILE_TEST, cases[-1][1])["tables"]["messages"]
    assert [g["first_line"] for g in hostile] == [HOSTILE_FIRST_LINE]
    assert hostile[0]["message"] == HOSTILE_MESSAGE


def test_where_it_runs_adds_up_to_the_workflows_executions(
    http: httpx.Client, built: Path, world: FakeWorld
) -> None:
    test_id = sorted(world.flaky_tests)[0]
    repo = world.repos[0]
    want = dict(
        raw(
            built,
            "SELECT w.workflow_name, count(*) FROM raw.test_results t "
            "JOIN (SELECT DISTINCT repo, run_id, workflow_name FROM raw.workflow_runs) w "
            "ON w.repo = t.repo AND w.run_id = t.run_id "
            "WHERE t.test_id = ? AND t.repo = ? AND t.day BETWEEN ? AND ? GROUP BY 1",
            [test_id, repo, START, END],
        )
    )
    rows = page_json(http, test_id, repo)["tables"]["where"]
    got: dict[str, int] = defaultdict(int)
    for r in rows:
        got[r["workflow_name"]] += r["executions"]
    assert dict(got) == want and want
    jobs = {name for (name,) in raw(built, "SELECT DISTINCT name FROM raw.workflow_jobs", [])}
    assert any(r["job"] in jobs for r in rows), "jobs are found through their runner"


def test_tests_listing_pages_sorts_and_counts_every_test(http: httpx.Client, built: Path) -> None:
    want = raw(
        built,
        "SELECT repo, test_id, count(*) FROM raw.test_results WHERE day BETWEEN ? AND ? "
        "GROUP BY ALL",
        [START, END],
    )
    seen: list[dict] = []
    page = 1
    while True:
        body = http.get(
            "/tests",
            params={
                **PERIOD,
                "tests_sort": "duration_p95_s",
                "tests_dir": "asc",
                "tests_page": str(page),
                "format": "json",
            },
        ).json()
        assert body["paging"]["tests"]["total"] == len(want)
        seen += body["tables"]["tests"]
        if page >= body["paging"]["tests"]["pages"]:
            break
        page += 1
    assert page >= 2, "enough tests for two pages"
    assert {(r["repo"], r["test_id"]): r["executions"] for r in seen} == {
        (r, t): n for r, t, n in want
    }
    p95 = [r["duration_p95_s"] for r in seen if r["duration_p95_s"] is not None]
    assert p95 == sorted(p95)
    listed = http.get("/tests", params=PERIOD).text
    links = hrefs(listed, r"/test\?")
    assert links and all(http.get(link).status_code == 200 for link in links[:5])


def _quantile(values: list[float], q: float) -> float:
    """quantile_cont: linear interpolation between the closest ranks."""
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@pytest.mark.parametrize("dimension", [None, "workflow", "event"])
def test_tests_listing_counts_and_percentiles_equal_python_over_raw_rows(
    http: httpx.Client, built: Path, dimension: str | None
) -> None:
    # with no run filter the listing reads the rows without their runs; with a workflow or
    # an event it selects them by their run's: each equals the rows counted here
    rows = raw(
        built,
        "SELECT t.repo, t.test_id, t.duration_s, coalesce(r.workflow_name, t.workflow), r.event "
        "FROM raw.test_results t "
        "LEFT JOIN (SELECT DISTINCT repo, run_id, workflow_name, event FROM raw.workflow_runs) r "
        "ON r.repo = t.repo AND r.run_id = t.run_id WHERE t.day BETWEEN ? AND ?",
        [START, END],
    )
    index = {"workflow": 3, "event": 4}.get(dimension or "")
    # the least common value among the rows: the filter leaves some rows out
    counts = Counter(r[index] for r in rows if index is not None and r[index] is not None)
    value = min(counts, key=lambda v: (counts[v], v)) if counts else None
    want: dict[tuple, list] = defaultdict(list)
    for row in rows:
        if index is None or row[index] == value:
            want[(row[0], row[1])].append(row[2])
    assert want and (index is None or sum(map(len, want.values())) < len(rows))
    params = {**PERIOD, "format": "json", "tests_sort": "test_id", "tests_dir": "asc"}
    if dimension:
        params[dimension] = value
    seen: list[dict] = []
    for page in range(1, 100):
        body = http.get("/tests", params={**params, "tests_page": str(page)}).json()
        seen += body["tables"]["tests"]
        if page >= body["paging"]["tests"]["pages"]:
            break
    assert {(r["repo"], r["test_id"]): r["executions"] for r in seen} == {
        k: len(v) for k, v in want.items()
    }
    for r in seen:
        timed = [d for d in want[(r["repo"], r["test_id"])] if d is not None]
        assert r["duration_p50_s"] == pytest.approx(_quantile(timed, 0.5))
        assert r["duration_p95_s"] == pytest.approx(_quantile(timed, 0.95))


# ---- exports, errors, links


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _html_rows(page: str, table: str) -> int:
    section = page.split(f'id="table-{table}"', 1)[1].split("</section>", 1)[0]
    body = section.split("<tbody>", 1)[1] if "<tbody>" in section else ""
    return body.count("<tr>")


def test_every_table_downloads_as_csv_equal_to_the_table_shown(
    http: httpx.Client, world: FakeWorld
) -> None:
    test_id = sorted(world.flaky_tests)[0]
    pages = [
        ("/test", {"test_id": test_id, "repo": world.repos[1], **PERIOD}),
        ("/test", {"test_id": HOSTILE_TEST, **PERIOD}),
        ("/tests", {**PERIOD, "tests_sort": "failure_rate"}),
    ]
    checked = 0
    for path, params in pages:
        shown = http.get(path, params=params).text
        body = http.get(path, params={**params, "format": "json"}).json()
        for name, rows in body["tables"].items():
            got = http.get(path, params={**params, "format": "csv", "table": name})
            assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
            lines = _csv(got.text)
            assert lines[1:] == [[csv_value(v) for v in r.values()] for r in rows], (path, name)
            assert _html_rows(shown, name) == len(rows), (path, name)
            checked += len(rows)
    assert checked > 0


def test_unknown_and_missing_test_ids(http: httpx.Client) -> None:
    missing = http.get("/test", params={"test_id": "tests.nowhere::test_nothing"})
    assert missing.status_code == 404 and "tests.nowhere::test_nothing" in html.unescape(
        missing.text
    )
    assert http.get("/test", params={"test_id": "x", "format": "json"}).status_code == 404
    assert http.get("/test").status_code == 400
    empty = http.get("/tests", params={"repo": "nobody/nothing", "format": "json"}).json()
    assert empty["tables"]["tests"] == []


def test_drill_down_run_to_test_to_run(http: httpx.Client, world: FakeWorld) -> None:
    runs = http.get(
        "/workflow", params={"workflow": HOSTILE_SQL, "repo": world.repos[0], **PERIOD}
    ).text
    run_links = hrefs(runs, r"/run\?")
    assert run_links
    tests = next(
        (found for link in run_links if (found := hrefs(http.get(link).text, r"/test\?"))), []
    )
    assert tests, "the run pages' test results link to test pages"
    for link in tests[:3]:
        page = http.get(link)
        assert page.status_code == 200, link
        back = hrefs(page.text, r"/run\?")
        assert back, "the test page links to runs"
        for run_link in back[:5]:
            assert http.get(run_link).status_code == 200, run_link


def test_hostile_test_id_and_message_stay_text_in_chromium(
    http: httpx.Client, url: str, world: FakeWorld
) -> None:
    params = {"test_id": HOSTILE_TEST, **PERIOD}
    text = http.get("/test", params=params).text
    assert "<script" not in text.lower() and "<img" not in text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in text
    page_url = str(httpx.URL(url + "/test", params=params))
    listing_url = str(
        httpx.URL(url + "/tests", params={**PERIOD, "tests_sort": "test_id", "tests_dir": "desc"})
    )
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        page, events = watched_page(browser)
        for target in (page_url, listing_url):
            page.goto(target)
            page.wait_for_load_state("load")
            assert page.locator("main script, main img, main iframe").count() == 0
            assert page.evaluate("() => window.__pwned") is None
        page.goto(page_url)
        page.wait_for_load_state("load")
        assert page.locator(".test-id code").inner_text() == HOSTILE_TEST
        cell = page.locator('#table-messages td[data-key="message"]').first
        assert cell.inner_text().strip() == HOSTILE_MESSAGE.strip()
        assert page.locator("svg.chart").count() == 2
        page.screenshot(path=str(ARTIFACTS / "explorer-test.png"), full_page=True)
        page.locator('#table-messages td[data-key="sample_run_id"] a').first.click()
        page.wait_for_load_state("load")
        assert urlsplit(page.url).path == "/run"
        browser.close()
    assert_quiet_and_local(events)
