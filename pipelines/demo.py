"""The demo: the whole pipeline on embedded defaults (the bundled fake GitHub server).

Runs on the local Dagster instance (``DAGSTER_HOME``, else an ephemeral one),
so the demo's runs show up afterwards in ``dagster dev``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines import settings, store
from pipelines.materialize import local_instance, run_pipeline


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
            "round(100.0 * count(*) FILTER (WHERE conclusion = 'success') "
            "/ nullif(count(*) FILTER (WHERE conclusion IN ('success','failure')), 0), 1) "
            "FROM raw.workflow_runs GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        targets = (
            con.execute(
                "SELECT repo, day, kpi, value, target, status FROM kpi.targets "
                "WHERE day = (SELECT max(day) FROM kpi.targets) ORDER BY repo, kpi"
            ).fetchall()
            if store.table_exists(con, "kpi", "targets")
            else []
        )
    lines = [
        f"Stored {runs} runs ({attempts} attempts) and {jobs} jobs created {first} … {last}",
        f"DuckDB file: {Path(db_path).resolve()}",
    ]
    lines += [
        f"  {repo:<20} {wf:<10} {n:>5} runs  {rate}% of attempts succeeded"
        for repo, wf, n, rate in by_wf
    ]
    if targets:
        lines.append(f"KPI targets over the 7 days ending {targets[0][1]}:")
        lines += [
            f"  {repo:<20} {kpi:<26} {_num(value):>10}  target {_num(target):>6}  {status}"
            for repo, _, kpi, value, target, status in targets
        ]
    return "\n".join(lines)


def _num(value: object) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def run_demo(*, days: int = 14, seed: int = 7, repos: int = 2) -> int:
    """Extract the last ``days`` days, from GitHub when configured, else from the fake server."""
    from pipelines.definitions import resources as configured
    from pipelines.resources import GitHubAPI

    last = datetime.now(UTC).date() - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    db_path = settings.get(settings.DB)
    res = dict(configured())
    use_github = bool(settings.get(settings.GITHUB_TOKEN) and settings.get(settings.REPOS))
    if not settings.get(settings.BASELINE_START) and days >= 14:
        # the demo's first week is its baseline, so reductions have something to compare to
        os.environ[settings.BASELINE_START.key] = first.isoformat()
        os.environ[settings.BASELINE_END.key] = (first + timedelta(days=6)).isoformat()
    instance = local_instance()
    if use_github:
        print(f"Reading GitHub ({settings.get(settings.GITHUB_API_URL)}) for {first} … {last}")
        run_pipeline(first, last, resources=res, instance=instance)
    else:
        from pipelines.fake_github.generator import FakeConfig, generate
        from pipelines.fake_github.server import FakeGitHubServer

        world = generate(FakeConfig(seed=seed, repos=repos, days=days, end_date=last))
        token = "demo-token"  # noqa: S105 - the fake server's own, not a secret
        with FakeGitHubServer(world, token=token) as server:
            print(f"Fake GitHub API on {server.url} serving {', '.join(world.repos)}")
            res["github"] = GitHubAPI(api_url=server.url, repos=",".join(world.repos), token=token)
            run_pipeline(first, last, resources=res, instance=instance)
    print(summarize(db_path))
    out_dir = Path(settings.get(settings.OUTPUT_DIR)).resolve()
    print(f"Summary: {out_dir / 'summary.md'}")
    print(f"JSON report: {out_dir / 'metrics-report.json'}")
    print(f"Dashboard: {out_dir / 'dashboard.html'}")
    where = os.environ.get("DAGSTER_HOME") or "an ephemeral instance"
    print(f"Dagster runs recorded in {where}; browse them with `make dev`.")
    return 0
