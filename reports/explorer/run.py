"""The run page (``/run?repo=R&run_id=N``): the run's attempts, a timeline of each
attempt's jobs, their steps (linked to the job's log on GitHub), and its test results with
their failure messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import duckdb

from reports.explorer import gantt, listings
from reports.explorer.page import Here, Page
from reports.explorer.params import BadRequestError, Question
from reports.explorer.tables import Column, Table, commit_link, github_page, pr_links

TESTS_PAGE = 200


class NotFoundError(LookupError):
    """The store has no such run."""


def _run_id(here: Here) -> tuple[str, int]:
    repo, raw = here.value("repo"), here.value("run_id")
    if not repo or not raw:
        raise BadRequestError("run: give repo and run_id (/run?repo=OWNER/NAME&run_id=N)")
    try:
        return repo, int(raw)
    except ValueError:
        raise BadRequestError(f"run_id: {raw!r} is not a number") from None


def _attempt(here: Here) -> int | None:
    raw = here.value("attempt")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequestError(f"attempt: {raw!r} is not a number") from None


def _test_link(q: Question, repo: str, created_at: str | None) -> Callable[[dict], str]:
    """Links to a test's page over the request's period when it holds the run's day, else
    over the days ending on the run's day: the test's history up to this run."""
    day = date.fromisoformat(created_at[:10]) if created_at else None
    if day is None or q.period.start <= day <= q.period.end:
        return lambda r: q.url("/test", test_id=r["test_id"], repo=repo)
    start = (day - timedelta(days=q.period.days - 1)).isoformat()
    return lambda r: q.url(
        "/test", test_id=r["test_id"], repo=repo, start=start, end=day.isoformat()
    )


def _step_link(row: dict[str, Any]) -> str | None:
    """The step in the job's log on GitHub (its ``#step:N:1`` anchor)."""
    url, number = github_page(row), row.get("step_number")
    if url is None or number is None:
        return None
    return f"{url}#step:{int(number)}:1"


def run(con: duckdb.DuckDBPyConnection, here: Here) -> Page:
    repo, run_id = _run_id(here)
    attempt = _attempt(here)
    attempts = listings.run_attempts(con, repo, run_id)
    if not attempts:
        raise NotFoundError(f"no run {run_id} of {repo} in the store")
    jobs = listings.run_jobs(con, repo, run_id)
    page = here.page("tests")
    tests, total = listings.run_tests(
        con, repo, run_id, attempt, limit=TESTS_PAGE, offset=(page - 1) * TESTS_PAGE
    )
    last = attempts[-1]

    attempt_table = Table(
        "attempts",
        "Attempts",
        [
            Column(
                "run_attempt",
                "Attempt",
                "count",
                sortable=False,
                link=lambda r: here.with_(attempt=str(r["run_attempt"]), tests_page=None),
            ),
            Column("status", "Status", sortable=False),
            Column("conclusion", "Conclusion", sortable=False),
            Column("event", "Event", sortable=False),
            Column("head_branch", "Branch", wrap=True, sortable=False),
            Column("head_sha", "Commit", "sha", link=commit_link, sortable=False),
            Column("pull_request_numbers", "PRs", sortable=False, links=pr_links),
            Column("triggering_actor", "Triggered by", sortable=False),
            Column("created_at", "Created", "time", sortable=False),
            Column("run_started_at", "Started", "time", sortable=False),
            Column("updated_at", "Updated", "time", sortable=False),
            Column("duration_s", "Duration", "duration", sortable=False),
            Column("html_url", "GitHub", sortable=False, link=github_page),
        ],
        attempts,
    )
    job_table = Table(
        "jobs",
        "Jobs",
        [
            Column("run_attempt", "Attempt", "count", sortable=False),
            Column("name", "Job", wrap=True, sortable=False, link=github_page),
            Column("status", "Status", sortable=False),
            Column("conclusion", "Conclusion", sortable=False),
            Column("started_at", "Started", "time", sortable=False),
            Column("completed_at", "Completed", "time", sortable=False),
            Column("duration_s", "Duration", "duration", sortable=False),
            Column("queue_s", "Queue", "duration", sortable=False),
            Column("runner_name", "Runner", wrap=True, sortable=False),
            Column("labels", "Labels", wrap=True, sortable=False),
        ],
        jobs,
    )
    step_table = Table(
        "steps",
        "Steps",
        [
            Column("run_attempt", "Attempt", "count", sortable=False),
            Column("job", "Job", wrap=True, sortable=False),
            Column("step_number", "#", "count", sortable=False),
            Column("step", "Step", wrap=True, sortable=False, link=_step_link),
            Column("conclusion", "Conclusion", sortable=False),
            Column("started_at", "Started", "time", sortable=False),
            Column("duration_s", "Duration", "duration", sortable=False),
        ],
        listings.run_steps(con, repo, run_id),
    )
    test_table = Table(
        "tests",
        "Test results",
        [
            Column("run_attempt", "Attempt", "count", sortable=False),
            Column(
                "test_id",
                "Test",
                wrap=True,
                sortable=False,
                link=_test_link(here.question, repo, last.get("created_at")),
            ),
            Column("outcome", "Outcome", sortable=False),
            Column("duration_s", "Duration", "duration", sortable=False),
            Column("message", "Message", wrap=True, sortable=False),
        ],
        tests,
        page=page,
        page_size=TESTS_PAGE,
        total=total,
        note="Failures and errors first."
        + (f" Attempt {attempt} only." if attempt is not None else ""),
    )
    timelines = [
        {
            "attempt": a["run_attempt"],
            "svg": gantt.timeline(
                f"attempt-{a['run_attempt']}",
                [j for j in jobs if j["run_attempt"] == a["run_attempt"]],
            ),
        }
        for a in attempts
    ]
    title = f"{last.get('workflow_name') or 'Run'} #{last.get('run_number') or run_id}"
    return Page(
        "run.html.j2",
        title,
        [attempt_table, job_table, step_table, test_table],
        {"repo": repo, "run_id": run_id, "attempt": attempt},
        {
            "run": last,
            "repo": repo,
            "run_id": run_id,
            "timelines": timelines,
            "workflow_url": here.question.url(
                "/workflow", workflow=last.get("workflow_name") or "", repo=repo
            ),
        },
    )
