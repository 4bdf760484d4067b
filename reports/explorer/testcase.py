"""The test page (``/test?test_id=ID&…``): one test's daily history, its failure messages
grouped by first line, the commits that prove it flaky, and where it runs; and the tests
listing (``/tests``) that leads to it. Both read the filtered test rows and the test
flakiness units of the KPI layer (:func:`pipelines.kpi.query.test_ctes`), so a flaky
commit here is one that the test flakiness KPI counts.

A test id names a test within a repository; with no ``repo`` in the filter the page adds
up the test's rows of every repository that has it, and its tables say which repository a
row is from.
"""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.kpi import formatting
from reports import charts
from reports.explorer import listings
from reports.explorer.page import Here, Page
from reports.explorer.params import BadRequestError, Question
from reports.explorer.run import NotFoundError
from reports.explorer.tables import Column, Table, commit_link

OUTCOMES = (
    ("passed", "passed"),
    ("failed", "failed"),
    ("errors", "errors"),
    ("skipped", "skipped"),
    ("reruns", "re-runs"),
)
TITLE_CHARS = 120
RUN_LINKS = 12


def _test_id(here: Here) -> str:
    value = here.value("test_id")
    if not value:
        raise BadRequestError("test: give test_id (/test?test_id=ID, with repo=OWNER/NAME)")
    return value


def test_url(q: Question, test_id: str, repo: str | None) -> str:
    """The test page of ``test_id`` in ``repo``, for the same filter and period."""
    return q.url("/test", test_id=test_id, repo=repo)


def _run_url(q: Question, repo: str | None, run_id: Any, attempt: Any = None) -> str | None:
    if repo is None or run_id is None:
        return None
    extra = {"attempt": str(attempt)} if attempt is not None else {}
    return q.url("/run", repo=repo, run_id=str(run_id), **extra)


def _run_column(q: Question, key: str, label: str) -> Column:
    """Column ``key`` (a run id of the row's repository) linking to that run's page."""
    return Column(key, label, "id", sortable=False, link=lambda r: _run_url(q, r["repo"], r[key]))


def _daily(here: Here, test_id: str, con: duckdb.DuckDBPyConnection) -> Table:
    q = here.question
    got = {
        r["day"]: r for r in listings.test_listing(con, "test_daily", test_id, q.filters, q.period)
    }
    zero = {k: 0 for k, _ in OUTCOMES}
    rows = [
        {"day": d, "executions": 0, **zero, "duration_p50_s": None, **got.get(d, {})}
        for d in (day.isoformat() for day in q.period.day_list())
    ]
    columns = [
        Column("day", "Day", sortable=False),
        Column("executions", "Executions", "count", sortable=False),
        *(Column(k, label.capitalize(), "count", sortable=False) for k, label in OUTCOMES),
        Column("duration_p50_s", "Median duration", "duration", sortable=False),
    ]
    return Table("daily", "Daily history", columns, rows)


def _figures(daily: Table) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    days = [r["day"] for r in daily.rows]
    outcomes = [
        {"label": label, "values": [r[k] for r in daily.rows]}
        for k, label in OUTCOMES
        if any(r[k] for r in daily.rows)
    ]
    duration = [{"label": "median", "values": [r["duration_p50_s"] for r in daily.rows]}]
    series = {"days": days, "executions_by_outcome": outcomes, "duration_p50_s": duration}
    figures = [
        {
            "id": "outcomes",
            "title": "Executions per day by outcome",
            "svg": charts.stacked_bar_chart(
                "outcomes",
                "Executions per day by outcome",
                days,
                outcomes,
                fmt=lambda v: formatting.number(v),
            ),
            "legend": charts.legend(outcomes),
        },
        {
            "id": "test-duration",
            "title": "Median duration per day",
            "svg": charts.line_chart(
                "test-duration",
                "Median duration per day",
                days,
                duration,
                fmt=formatting.duration,
                time_axis=True,
            ),
            "legend": charts.legend(duration),
        },
    ]
    return series, figures


def _totals(here: Here, test_id: str, con: duckdb.DuckDBPyConnection) -> Table:
    q = here.question
    rows, _ = listings.tests(con, q.filters, q.period, test_id=test_id, sort="repo", limit=1000)
    return Table(
        "totals",
        "Over the period",
        [
            Column("repo", "Repository", wrap=True, sortable=False),
            Column("executions", "Executions", "count", sortable=False),
            Column("failures", "Failures", "count", sortable=False),
            Column("failure_rate", "Failure rate", "percent", sortable=False),
            Column("flaky_commits", "Flaky commits", "count", sortable=False),
            Column("duration_p50_s", "Duration p50", "duration", sortable=False),
            Column("duration_p95_s", "Duration p95", "duration", sortable=False),
        ],
        rows,
        note="Failures are failed or errored executions; the rate is over those not skipped.",
    )


def _messages(here: Here, test_id: str, con: duckdb.DuckDBPyConnection) -> Table:
    q = here.question
    rows = listings.test_listing(con, "test_messages", test_id, q.filters, q.period)
    return Table(
        "messages",
        "Failure messages",
        [
            Column("first_line", "First line", wrap=True, sortable=False),
            Column("occurrences", "Count", "count", sortable=False),
            Column("runs", "Runs", "count", sortable=False),
            Column("outcomes", "Outcomes", sortable=False),
            Column("first_seen", "First seen", "time", sortable=False),
            Column("last_seen", "Last seen", "time", sortable=False),
            Column(
                "sample_run_id",
                "Latest run",
                "id",
                sortable=False,
                link=lambda r: _run_url(
                    q, r["sample_repo"], r["sample_run_id"], r["sample_attempt"]
                ),
            ),
            Column("sample_repo", "Repository", wrap=True, sortable=False),
            Column("message", "Latest message", wrap=True, sortable=False),
        ],
        rows,
        note="Failed, errored and re-run executions, grouped by the first line of their message; "
        f"the latest message of each group is shown, cut at {listings.MESSAGE_CHARS:,} characters.",
    )


def _flaky(here: Here, test_id: str, con: duckdb.DuckDBPyConnection) -> Table:
    q = here.question
    rows = listings.test_listing(con, "test_flaky_commits", test_id, q.filters, q.period)

    def runs(row: dict[str, Any]) -> list[tuple[str, str]]:
        ids = row.get("run_ids") or []
        return [(str(i), _run_url(q, row["repo"], i) or "") for i in ids[:RUN_LINKS]]

    return Table(
        "flaky_commits",
        "Commits that prove it flaky",
        [
            Column("repo", "Repository", wrap=True, sortable=False),
            Column("head_sha", "Commit", "sha", sortable=False, link=commit_link),
            Column("first_day", "First day", sortable=False),
            Column("last_day", "Last day", sortable=False),
            Column("executions", "Executions", "count", sortable=False),
            Column("passed", "Passed", "count", sortable=False),
            Column("failed", "Failed", "count", sortable=False),
            Column("reruns", "Re-runs", "count", sortable=False),
            _run_column(q, "failed_run_id", "A failing run"),
            _run_column(q, "passed_run_id", "A passing run"),
            Column("run_ids", "Runs", sortable=False, links=runs),
        ],
        rows,
        note="A commit proves the test flaky when the test both failed and passed on it, or was "
        "re-run to a pass in one execution (test flakiness, as the KPI counts it).",
    )


def _where(here: Here, test_id: str, con: duckdb.DuckDBPyConnection) -> Table:
    q = here.question
    rows = listings.test_listing(con, "test_where", test_id, q.filters, q.period)

    def workflow(row: dict[str, Any]) -> str | None:
        if row["workflow_name"] is None or row["repo"] is None:
            return None
        return q.url("/workflow", workflow=row["workflow_name"], repo=row["repo"])

    return Table(
        "where",
        "Where it runs",
        [
            Column("repo", "Repository", wrap=True, sortable=False),
            Column("workflow_name", "Workflow", wrap=True, sortable=False, link=workflow),
            Column("job", "Job (or report)", wrap=True, sortable=False),
            Column("executions", "Executions", "count", sortable=False),
            Column("runs", "Runs", "count", sortable=False),
            Column("failures", "Failures", "count", sortable=False),
            Column("failure_rate", "Failure rate", "percent", sortable=False),
            Column("duration_p50_s", "Duration p50", "duration", sortable=False),
            _run_column(q, "last_run_id", "Latest run"),
        ],
        rows,
        note="A job is the one whose runner wrote the report; where no single job matches, "
        "the report's artifact or file name stands for it.",
    )


def test(con: duckdb.DuckDBPyConnection, here: Here) -> Page:
    """The page of one test over the filter and period; 404 for an id never seen."""
    test_id = _test_id(here)
    repos = listings.test_repos(con, test_id)
    if not repos:
        raise NotFoundError(f"no test {test_id!r} in the store")
    q = here.question
    daily = _daily(here, test_id, con)
    series, figures = _figures(daily)
    tables = [
        _totals(here, test_id, con),
        daily,
        _messages(here, test_id, con),
        _flaky(here, test_id, con),
        _where(here, test_id, con),
    ]
    short = test_id if len(test_id) <= TITLE_CHARS else test_id[: TITLE_CHARS - 1] + "…"
    shown = set(q.filters.repos)
    return Page(
        "test.html.j2",
        f"Test {short}",
        tables,
        {"test_id": test_id, "repos": repos, "series": series},
        {
            "test_id": test_id,
            "figures": figures,
            "repos": [
                {"repo": r, "url": test_url(q, test_id, r), "current": r in shown}
                for r in repos
                if r is not None
            ],
            "tests_url": q.url("/tests"),
        },
    )


def tests(con: duckdb.DuckDBPyConnection, here: Here, page_size: int) -> Page:
    """Every test of the filter and period, paged and sortable, each linking to its page."""
    q = here.question
    sort, descending = here.sort("tests", "flaky_commits", listings.TEST_ORDERS)
    page = here.page("tests")
    rows, total = listings.tests(
        con,
        q.filters,
        q.period,
        sort=sort,
        descending=descending,
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    columns = [
        Column("repo", "Repository", wrap=True),
        Column("test_id", "Test", wrap=True, link=lambda r: test_url(q, r["test_id"], r["repo"])),
        Column("executions", "Executions", "count"),
        Column("failures", "Failures", "count"),
        Column("failure_rate", "Failure rate", "percent"),
        Column("flaky_commits", "Flaky commits", "count"),
        Column("duration_p50_s", "Duration p50", "duration"),
        Column("duration_p95_s", "Duration p95", "duration"),
        Column("last_day", "Last day"),
    ]
    table = Table(
        "tests",
        "Tests",
        columns,
        rows,
        sort=sort,
        descending=descending,
        page=page,
        page_size=page_size,
        total=total,
        note="Failures are failed or errored executions; the rate is over those not skipped. "
        "A flaky commit is one on which the test both failed and passed (or was re-run to a pass).",
    )
    return Page("tests.html.j2", "Tests", [table])
