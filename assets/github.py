"""Raw GitHub Actions data: every attempt of every workflow run, and every job.

Both assets are daily partitioned on the run's ``created_at`` and backfill a
range in one run, so a 30-day backfill lists the range with a handful of
``created`` windows instead of 30 separate runs.
"""

from datetime import date, timedelta

from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from assets import raw_checks
from pipelines import asset_keys
from pipelines.dagster_adapter import single_run_asset
from pipelines.github.client import GitHubError, listing_url
from pipelines.github.extract import (
    fetch_attempts,
    fetch_jobs,
    fetch_repository,
    list_runs,
    missing_attempts,
)
from pipelines.github.load import (
    StoredResponseCache,
    replace_jobs,
    replace_repositories,
    replace_runs,
    runs_needing_jobs,
    staged,
    stored_attempts,
)
from pipelines.github.rows import JOB_COLUMNS, RUN_COLUMNS
from pipelines.partitions import daily_partitions
from pipelines.resources import DuckDBStore, GitHubAPI
from pipelines.store import LOAD_MEMORY_LIMIT, markdown_table

RUNS_KEY = asset_keys.RUNS
JOBS_KEY = asset_keys.JOBS


def raw_asset(group: str) -> dict:
    """What every raw asset shares: daily partitions backfilled in one run, the duckdb
    pool."""
    return {
        "partitions_def": daily_partitions,
        "pool": "duckdb",
        "kinds": {"github", "duckdb"},
        "group_name": group,
    }


def partition_days(context: AssetExecutionContext) -> tuple[date, date]:
    """First and last UTC day of the partition (range) being materialized."""
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()


@single_run_asset(
    key=RUNS_KEY,
    **raw_asset("github"),
    check_specs=raw_checks.specs(RUNS_KEY),
    description="raw.workflow_runs: one row per (repo, run_id, run_attempt), every attempt.",
)
def github_workflow_runs(
    context: AssetExecutionContext, duckdb: DuckDBStore, github: GitHubAPI
) -> MaterializeResult:
    first, last = partition_days(context)
    repos = github.repo_list()
    with duckdb.connect() as con:  # brief: learn what is stored, then let go of the file
        cache = StoredResponseCache.for_run_listings(con, first, last)
        stored = stored_attempts(con, repos, first, last)
    windows = pages = probes = fetched_attempts = 0
    with github.client(cache) as client, staged(RUN_COLUMNS) as stage:
        repositories = []
        for repo in repos:
            try:
                repositories.append(fetch_repository(client, repo))
            except GitHubError as exc:  # metadata only: the runs still load
                context.log.warning(f"{repo}: default branch not read ({exc})")
            listing = list_runs(client, repo, first, last, stage.write)
            earlier = fetch_attempts(
                client, missing_attempts(listing.latest, stored), concurrency=github.concurrency
            )
            stage.write(earlier)
            windows += listing.windows
            pages += listing.pages
            probes += listing.split_probes
            fetched_attempts += len(earlier)
            for window in listing.truncated_windows:
                context.log.warning(f"{repo}: window {window} exceeds GitHub's 1,000-run cap")
        with duckdb.connect(memory_limit=LOAD_MEMORY_LIMIT) as con:
            rows = replace_runs(con, repos, first, last, stage, cache)
            replace_repositories(con, repositories)
            start, end = str(first), str(last + timedelta(days=1))
            statuses = dict(
                con.execute(
                    "SELECT status, count(*) FROM raw.workflow_runs WHERE list_contains(?, repo) "
                    "AND created_at >= ?::TIMESTAMP AND created_at < ?::TIMESTAMP GROUP BY 1",
                    [repos, start, end],
                ).fetchall()
            )
            preview = markdown_table(
                con,
                "SELECT repo, workflow_name, count(DISTINCT run_id) AS runs, count(*) AS attempts, "
                "count(*) FILTER (WHERE conclusion = 'success') AS successes "
                "FROM raw.workflow_runs WHERE list_contains(?, repo) "
                "AND created_at >= ?::TIMESTAMP AND created_at < ?::TIMESTAMP "
                "GROUP BY ALL ORDER BY ALL LIMIT 20",
                [repos, start, end],
            )
            checks = raw_checks.results(con, RUNS_KEY, first, last)
        context.log.info(f"GitHub cost for runs {first}…{last}: {client.stats.summary()}")
        stats = client.stats.as_dict()
    return MaterializeResult(
        metadata={
            "rows": rows,
            "days": f"{first} … {last}",
            "repos": ", ".join(repos),
            "attempts_fetched": fetched_attempts,
            "listing_windows": windows,
            "listing_pages": pages,
            "window_split_probes": probes,
            "attempts_by_status": MetadataValue.json(statuses),
            "requests": stats["requests"],
            "not_modified_304": stats["not_modified"],
            "retries": stats["retries"],
            "rate_limit_waits": stats["waits"],
            "rate_limit_remaining": stats["rate_limit_remaining"],
            "preview": MetadataValue.md(preview),
        },
        check_results=checks,
    )


@single_run_asset(
    key=JOBS_KEY,
    deps=[RUNS_KEY],
    **raw_asset("github"),
    check_specs=raw_checks.specs(JOBS_KEY),
    description="raw.workflow_jobs: one row per (repo, job_id), jobs of every attempt.",
)
def github_workflow_jobs(
    context: AssetExecutionContext, duckdb: DuckDBStore, github: GitHubAPI
) -> MaterializeResult:
    first, last = partition_days(context)
    repos = github.repo_list()
    with duckdb.connect() as con:
        todo, skipped = runs_needing_jobs(con, repos, first, last)
        urls = [listing_url(github.api_url, *r.jobs_listing()) for r in todo if not r.completed]
        cache = StoredResponseCache.for_urls(con, urls)
    with github.client(cache) as client, staged(JOB_COLUMNS) as stage:
        fetched = fetch_jobs(client, todo, stage.write, concurrency=github.concurrency)
        with duckdb.connect(memory_limit=LOAD_MEMORY_LIMIT) as con:
            replace_jobs(con, repos, first, last, todo, stage, cache)
            start, end = str(first), str(last + timedelta(days=1))
            total = con.execute(
                "SELECT count(*) FROM raw.workflow_jobs WHERE list_contains(?, repo) "
                "AND run_created_at >= ?::TIMESTAMP AND run_created_at < ?::TIMESTAMP",
                [repos, start, end],
            ).fetchone()[0]
            preview = markdown_table(
                con,
                "SELECT repo, workflow_name, name, count(*) AS jobs, "
                "count(*) FILTER (WHERE conclusion = 'failure') AS failures "
                "FROM raw.workflow_jobs WHERE list_contains(?, repo) "
                "AND run_created_at >= ?::TIMESTAMP AND run_created_at < ?::TIMESTAMP "
                "GROUP BY ALL ORDER BY jobs DESC LIMIT 20",
                [repos, start, end],
            )
            checks = raw_checks.results(con, JOBS_KEY, first, last)
        context.log.info(f"GitHub cost for jobs {first}…{last}: {client.stats.summary()}")
        stats = client.stats.as_dict()
    return MaterializeResult(
        metadata={
            "rows": int(total),
            "jobs_fetched": fetched,
            "runs_read": len(todo),
            "runs_skipped_final": skipped,
            "days": f"{first} … {last}",
            "requests": stats["requests"],
            "not_modified_304": stats["not_modified"],
            "retries": stats["retries"],
            "rate_limit_waits": stats["waits"],
            "rate_limit_remaining": stats["rate_limit_remaining"],
            "preview": MetadataValue.md(preview),
        },
        check_results=checks,
    )
