"""The load benchmark, scaled down: one backfill of the whole graph over a generated
world, in a child process, must finish, store what the world holds, render the
dashboard and stay within a generous memory bound. The full-scale figures come from
``python benchmarks/load.py`` (see ``make bench``)."""

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines import store
from pipelines.fake_github.generator import FakeConfig, generate

REPO_ROOT = Path(__file__).resolve().parents[2]
SCALE = {"days": 60, "repos": 3, "runs_per_day": 2, "seed": 5}
PEAK_RSS_BOUND_MB = 3 * 1024
HANG_GUARD_S = 1200


def _expected(days: int, repos: int, runs_per_day: float, seed: int) -> dict[str, int]:
    """Runs, attempts, jobs and test executions of the world the benchmark generates."""
    from benchmarks.load import END

    world = generate(
        FakeConfig(seed=seed, repos=repos, days=days, end_date=END, runs_per_day=runs_per_day)
    )
    first = END - timedelta(days=days - 1)
    counts = world.expected_counts(first, END)
    counts["test_executions"] = sum(
        len(world.test_executions(run, n))
        for run in world.runs_created_between(first, END)
        for n in {a.run_attempt for a in run.artifacts if a.holds_tests and not a.expired}
    )
    return counts


@pytest.mark.slow
def test_a_scaled_down_backfill_fits_and_stores_the_world(
    tmp_path: Path, record: Callable[..., None]
) -> None:
    db = tmp_path / "load.duckdb"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "benchmarks" / "load.py"),
            "--days",
            str(SCALE["days"]),
            "--repos",
            str(SCALE["repos"]),
            "--runs-per-day",
            str(SCALE["runs_per_day"]),
            "--seed",
            str(SCALE["seed"]),
            "--db",
            str(db),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])

    want = _expected(**SCALE)
    assert want["test_executions"] > 0, "the world must carry test results"
    stored = figures["stored"]  # the benchmark's counts of what the store holds
    assert {k: stored[k] for k in ("runs", "attempts", "jobs", "test_executions")} == {
        k: want[k] for k in ("runs", "attempts", "jobs", "test_executions")
    }
    with store.connect(db, read_only=True) as con:
        days_with_kpis = con.execute(
            "SELECT count(DISTINCT day) FROM kpi.workflow_daily"
        ).fetchone()[0]
    assert days_with_kpis == SCALE["days"]
    dashboard = tmp_path / "reports" / "dashboard.html"
    assert dashboard.stat().st_size > 0
    assert "<html" in dashboard.read_text(encoding="utf-8")[:500].lower()
    assert figures["pipeline_peak_rss_mb"] < PEAK_RSS_BOUND_MB
    assert figures["generator_server_peak_rss_mb"] < PEAK_RSS_BOUND_MB

    record(
        "load",
        "scaled-down backfill of the whole graph",
        f"benchmarks/load.py at {SCALE['days']} days × {SCALE['repos']} repos × "
        f"{SCALE['runs_per_day']} runs/day: one ranged run of raw data, test results, "
        "per-day KPIs, window tables and the dashboard",
        f"stored exactly the world's {want['runs']} runs, {want['attempts']} attempts, "
        f"{want['jobs']} jobs and {want['test_executions']} test executions; KPIs for every "
        "day; dashboard rendered",
        wall_s=figures["backfill_s"],
        runs_per_s=figures["runs_per_s"],
        pipeline_peak_rss_mb=figures["pipeline_peak_rss_mb"],
        server_peak_rss_mb=figures["generator_server_peak_rss_mb"],
        duckdb_mb=figures["duckdb_mb"],
        phases_s=figures["phases_s"],
    )
