"""The code location loads, its schedule asks for the right ranges, and the CLI works."""

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dagster import AssetKey, BackfillPolicy, build_schedule_context

from pipelines import store
from pipelines.definitions import defs
from pipelines.fake_github.generator import FakeConfig, generate
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.partitions import daily_partitions
from pipelines.schedules import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    daily_pipeline_schedule,
    daily_reports_schedule,
)

ROOT = Path(__file__).resolve().parents[1]


def test_definitions_load_with_every_raw_asset() -> None:
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    assert {AssetKey("github_workflow_runs"), AssetKey("github_workflow_jobs")} <= keys
    runs = graph.get(AssetKey("github_workflow_runs"))
    assert runs.partitions_def == daily_partitions
    assert runs.backfill_policy == BackfillPolicy.single_run()
    jobs = ("extract_github", "daily_pipeline", "window_reports", "ingest_test_files_job")
    assert {defs.resolve_job_def(job).name for job in jobs} == set(jobs)


def test_dg_check_defs_accepts_the_project() -> None:
    dg = Path(sys.executable).with_name("dg")
    out = subprocess.run(
        [str(dg), "check", "defs"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_daily_schedule_rereads_the_lookback_days(monkeypatch) -> None:
    monkeypatch.setenv("CI_METRICS_LOOKBACK_DAYS", "3")
    tick = datetime(2025, 3, 1, 2, 30, tzinfo=UTC)  # crosses a month boundary
    request = daily_pipeline_schedule(build_schedule_context(scheduled_execution_time=tick))
    assert request.tags[RANGE_START_TAG] == "2025-02-26"
    assert request.tags[RANGE_END_TAG] == "2025-02-28"
    job = defs.resolve_job_def("daily_pipeline")
    assert AssetKey("test_results") in job.asset_layer.executable_asset_keys
    assert AssetKey(["kpi", "workflow_daily"]) in job.asset_layer.executable_asset_keys


def test_daily_reports_schedule_pins_every_window_table_to_yesterday() -> None:
    tick = datetime(2025, 1, 1, 4, 30, tzinfo=UTC)
    request = daily_reports_schedule(build_schedule_context(scheduled_execution_time=tick))
    ops = request.run_config["ops"]
    assert {c["config"]["as_of"] for c in ops.values()} == {"2024-12-31"}
    job = defs.resolve_job_def("window_reports")
    assert job.run_config_schema.config_type is not None
    from dagster import validate_run_config

    validate_run_config(job, request.run_config)


def test_cli_demo_extracts_into_a_fresh_store(tmp_path: Path) -> None:
    """`ci-metrics demo` (what `make demo` runs): fake server, ranged run, a summary."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CI_METRICS_", "GITHUB_", "DAGSTER_"))
    }
    env["CI_METRICS_DB"] = str(tmp_path / "demo.duckdb")
    env["DAGSTER_HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir()
    cli = Path(sys.executable).with_name("ci-metrics")
    out = subprocess.run(
        [str(cli), "demo", "--days", "3", "--repos", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    last = datetime.now(UTC).date() - timedelta(days=1)
    world = generate(FakeConfig(seed=7, repos=1, days=3, end_date=last))
    want = sum(len(r.attempts) for r in world.runs_created_between(last - timedelta(days=2), last))
    with store.connect(tmp_path / "demo.duckdb", read_only=True) as con:
        got = con.execute("SELECT count(*) FROM raw.workflow_runs").fetchone()[0]
    assert got == want
    assert f"({want} attempts)" in out.stdout
    assert str(tmp_path / "demo.duckdb") in out.stdout


def test_enterprise_server_api_prefix(tmp_path: Path) -> None:
    from dagster import DagsterInstance

    from pipelines.materialize import materialize_range
    from pipelines.resources import DuckDBStore, GitHubAPI

    day = date(2025, 5, 5)
    world = generate(FakeConfig(seed=2, repos=1, days=1, end_date=day, runs_per_day=15))
    with (
        FakeGitHubServer(world, api_prefix="/api/v3", token="t") as server,
        DagsterInstance.ephemeral() as instance,
    ):
        assert server.url.endswith("/api/v3")
        resources = {
            "duckdb": DuckDBStore(path=str(tmp_path / "ghes.duckdb")),
            "github": GitHubAPI(api_url=server.url, token="t", repos=world.repos[0]),
        }
        assert materialize_range(day, day, resources=resources, instance=instance).success
    with store.connect(tmp_path / "ghes.duckdb", read_only=True) as con:
        runs = con.execute("SELECT count(DISTINCT run_id) FROM raw.workflow_runs").fetchone()[0]
    assert runs == len(world.runs_created_between(day, day))
