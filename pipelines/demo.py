"""The demo: the whole pipeline on embedded defaults (the bundled fake GitHub server).

Runs on the local Dagster instance (``DAGSTER_HOME``, else an ephemeral one),
so the demo's runs show up afterwards in ``dagster dev``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from pipelines import settings, store
from pipelines.kpi.formatting import number, percent
from pipelines.materialize import local_instance, run_pipeline
from pipelines.progress import StepProgress


def summarize(db_path: str | Path) -> str:
    """A few lines on what the store now holds, for people."""
    with store.connect(db_path, read_only=True) as con:
        runs, attempts, first, last = con.execute(
            "SELECT count(DISTINCT (repo, run_id)), count(*), min(created_at)::DATE, "
            "max(created_at)::DATE FROM raw.workflow_runs"
        ).fetchone()
        jobs = con.execute("SELECT count(*) FROM raw.workflow_jobs").fetchone()[0]
        by_wf = con.execute(
            "SELECT repo, workflow_name, count(DISTINCT run_id), "
            "count(*) FILTER (WHERE conclusion = 'success') "
            "/ nullif(count(*) FILTER (WHERE conclusion IN ('success','failure')), 0) "
            "FROM raw.workflow_runs GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    lines = [
        f"Stored {runs} runs ({attempts} attempts) and {jobs} jobs created {first} … {last}",
        f"DuckDB file: {Path(db_path).resolve()}",
    ]
    lines += [
        f"  {repo:<20} {wf:<10} {number(n):>5} runs  {percent(rate)} of attempts succeeded"
        for repo, wf, n, rate in by_wf
    ]
    return "\n".join(lines)


def show_kpis(db_path: str | Path, console: Console | None = None) -> None:
    """The KPI tables of ``ci-metrics report`` for the last 7 days in the store."""
    from reports.data import load_report
    from reports.terminal import render_kpis

    console = console or Console(highlight=False)
    with store.connect(db_path, read_only=True) as con:
        if not store.table_exists(con, "kpi", "targets"):
            return
        report = load_report(con)
    w = report["windows"]["7"]
    console.print(
        f"KPIs over the 7 days {w['start']} – {w['end']} (`ci-metrics report` shows more):"
    )
    render_kpis(report, window=7, console=console)


def run_demo(*, days: int = 14, seed: int = 7, repos: int = 2, verbose: bool = False) -> int:
    """Extract the last ``days`` days, from GitHub when configured, else from the fake server.

    Prints a line per step of the run, or with ``verbose`` Dagster's event log.
    """
    from pipelines.definitions import resources as configured
    from pipelines.resources import GitHubAPI

    last = datetime.now(UTC).date() - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    db_path = settings.get(settings.DB)
    use_github = bool(settings.get(settings.GITHUB_TOKEN) and settings.get(settings.REPOS))
    if not settings.get(settings.BASELINE_START) and days >= 14:
        # the demo's first week is its baseline, so reductions have something to compare to
        os.environ[settings.BASELINE_START.key] = first.isoformat()
        os.environ[settings.BASELINE_END.key] = (first + timedelta(days=6)).isoformat()
    res = dict(configured())  # after the baseline is set: the resources read it
    instance = local_instance()
    progress = None if verbose else StepProgress()
    if use_github:
        print(f"Reading GitHub ({settings.get(settings.GITHUB_API_URL)}) for {first} … {last}")
        run_pipeline(first, last, resources=res, instance=instance, progress=progress)
    else:
        from pipelines.fake_github.generator import FakeConfig, generate
        from pipelines.fake_github.server import FakeGitHubServer

        world = generate(FakeConfig(seed=seed, repos=repos, days=days, end_date=last))
        token = "demo-token"  # noqa: S105 - the fake server's own, not a secret
        with FakeGitHubServer(world, token=token) as server:
            print(f"Fake GitHub API on {server.url} serving {', '.join(world.repos)}")
            res["github"] = GitHubAPI(api_url=server.url, repos=",".join(world.repos), token=token)
            run_pipeline(first, last, resources=res, instance=instance, progress=progress)
    print(summarize(db_path))
    show_kpis(db_path)
    out_dir = Path(settings.get(settings.OUTPUT_DIR)).resolve()
    print(f"Summary: {out_dir / 'summary.md'}")
    print(f"JSON report: {out_dir / 'metrics-report.json'}")
    print(f"Dashboard: {out_dir / 'dashboard.html'}")
    where = os.environ.get("DAGSTER_HOME") or "an ephemeral instance"
    print(f"Dagster runs recorded in {where}; browse them with `make dev`.")
    return 0
