"""The workflow page (``/workflow?workflow=NAME&…``): the workflow's daily trends, its runs
(paged, sortable) and a breakdown of its jobs, for the filter and period asked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from pipelines import store
from pipelines.kpi.config import KpiConfig
from reports.explorer import listings, trends
from reports.explorer.page import Here, Page
from reports.explorer.params import BadRequestError
from reports.explorer.tables import Column, Table, commit_link, github_page, pr_links


def runs_table(con: duckdb.DuckDBPyConnection, here: Here, page_size: int) -> Table:
    q = here.question
    sort, descending = here.sort("runs", "created_at", listings.RUN_ORDERS)
    page = here.page("runs")
    rows, total = listings.runs(
        con,
        q.filters,
        q.period,
        sort=sort,
        descending=descending,
        limit=page_size,
        offset=(page - 1) * page_size,
    )

    def run_page(row: dict[str, Any]) -> str:
        return q.url("/run", repo=row["repo"], run_id=str(row["run_id"]))

    columns = [
        Column("repo", "Repository", wrap=True, sortable=False),
        Column("run_number", "Run", "count", link=run_page),
        Column("run_id", "Run id", "id", sortable=False, link=run_page),
        Column("created_at", "Created", "time"),
        Column("event", "Event"),
        Column("head_branch", "Branch", wrap=True),
        Column("conclusion", "Conclusion"),
        Column("attempts", "Attempts", "count"),
        Column("duration_s", "Duration", "duration"),
        Column("queue_s", "Queue", "duration"),
        Column("head_sha", "Commit", "sha", link=commit_link, sortable=False),
        Column("pull_request_numbers", "PRs", sortable=False, links=pr_links),
        Column("html_url", "GitHub", sortable=False, link=github_page),
    ]
    return Table(
        "runs",
        "Runs",
        columns,
        rows,
        sort=sort,
        descending=descending,
        page=page,
        page_size=page_size,
        total=total,
    )


JOB_SORTS = (
    "job",
    "runs",
    "failure_rate",
    "duration_p50_s",
    "duration_p95_s",
    "queue_p50_s",
    "queue_p95_s",
    "compute_minutes",
    "compute_share",
)


def jobs_table(con: duckdb.DuckDBPyConnection, here: Here) -> Table:
    q = here.question
    sort, descending = here.sort("jobs", "compute_minutes", JOB_SORTS)
    rows = listings.sorted_rows(listings.jobs(con, q.filters, q.period), sort, descending)
    columns = [
        Column("job", "Job", wrap=True),
        Column("runs", "Runs", "count"),
        Column("executions", "Executions", "count", sortable=False),
        Column("failure_rate", "Failure rate", "percent"),
        Column("duration_p50_s", "Duration p50", "duration"),
        Column("duration_p95_s", "Duration p95", "duration"),
        Column("queue_p50_s", "Queue p50", "duration"),
        Column("queue_p95_s", "Queue p95", "duration"),
        Column("runner_labels", "Runner labels", wrap=True, sortable=False),
        Column("compute_minutes", "Compute minutes", "count"),
        Column("compute_share", "Share of compute", "percent"),
    ]
    return Table("jobs", "Jobs", columns, rows, sort=sort, descending=descending)


COSTLIEST_JOBS = 5


def steps_table(con: duckdb.DuckDBPyConnection, here: Here, jobs: list[dict[str, Any]]) -> Table:
    """Where the costliest jobs (the first of ``jobs``, the job breakdown's rows by compute
    minutes) spend their time: their steps in order, job by job."""
    q = here.question
    costliest = sorted(jobs, key=lambda r: (-(r["compute_minutes"] or 0), r["job"]))
    minutes = {r["job"]: r["compute_minutes"] for r in costliest[:COSTLIEST_JOBS]}
    found = listings.job_steps(con, q.filters, q.period, list(minutes))
    order = {job: i for i, job in enumerate(minutes)}
    rows = [
        {"job": r["job"], "job_compute_minutes": minutes[r["job"]], **r}
        for r in sorted(found, key=lambda r: (order[r["job"]], r["step_number"], r["step"]))
    ]
    columns = [
        Column("job", "Job", wrap=True, sortable=False),
        Column("job_compute_minutes", "Job compute minutes", "count", sortable=False),
        Column("step_number", "#", "count", sortable=False),
        Column("step", "Step", wrap=True, sortable=False),
        Column("executions", "Executions", "count", sortable=False),
        Column("duration_p50_s", "Duration p50", "duration", sortable=False),
        Column("duration_p95_s", "Duration p95", "duration", sortable=False),
        Column("total_s", "Total", "duration", sortable=False),
        Column("share_of_job", "Share of the job", "percent", sortable=False),
    ]
    title = f"Steps of the {COSTLIEST_JOBS} costliest jobs"
    return Table("steps", title, columns, rows)


def workflow(
    con: duckdb.DuckDBPyConnection,
    here: Here,
    config: KpiConfig,
    known: Sequence[str],
    page_size: int,
) -> Page:
    """``known``: every repository of the store (:func:`pipelines.kpi.query.known_repos`)."""
    q = here.question
    if not q.filters.workflows:
        raise BadRequestError("workflow: name the workflow (/workflow?workflow=NAME)")
    repos = q.filters.within(known)
    drawn, jobs, runs = store.parallel(  # independent questions: side by side
        con,
        lambda c: trends.daily(c, repos, q.filters, q.period, config),
        lambda c: jobs_table(c, here),
        lambda c: runs_table(c, here, page_size),
    )
    tables = [runs, jobs, steps_table(con, here, jobs.rows)]
    title = ", ".join(q.filters.workflows)
    return Page(
        "workflow.html.j2",
        f"Workflow {title}",
        tables,
        {"workflow": list(q.filters.workflows), "series": drawn["series"]},
        {"figures": drawn["figures"], "workflow": title},
    )
