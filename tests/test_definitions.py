"""The code location loads, its schedule asks for the right ranges, and the CLI works."""

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dagster import AssetKey, BackfillPolicy, SkipReason, build_schedule_context

from pipelines import store
from pipelines.definitions import defs
from pipelines.fake_github.generator import FakeConfig, generate
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.partitions import RANGE_END_TAG, RANGE_START_TAG, daily_partitions
from pipelines.schedules import build_schedules

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


def _request_range(schedule, tick: datetime) -> tuple[str, str, str]:
    request = schedule(build_schedule_context(scheduled_execution_time=tick))
    return request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG], request.run_key


def _schedules(*, lookback_days: int = 3, reread_days: int = 30):
    return build_schedules(
        daily_partitions.start.date(), lookback_days=lookback_days, reread_days=reread_days
    )


def test_daily_schedule_runs_yesterday_and_the_lookback_days_before_it() -> None:
    daily, _ = _schedules(lookback_days=3)
    assert daily.cron_schedule == "0 2 * * *"
    assert daily.execution_timezone == "UTC"
    tick = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)  # crosses a month boundary
    first, last, key = _request_range(daily, tick)
    yesterday = date(2025, 2, 28)
    assert (first, last) == ((yesterday - timedelta(days=3)).isoformat(), yesterday.isoformat())
    assert _request_range(daily, tick)[2] == key  # a repeated tick: same key
    one_day, _ = _schedules(lookback_days=0)
    assert _request_range(one_day, tick)[:2] == ("2025-02-28", "2025-02-28")
    start = daily_partitions.start.date()
    early = datetime.combine(start + timedelta(days=1), datetime.min.time(), UTC)
    assert _request_range(daily, early)[:2] == (str(start), str(start))
    before = daily(build_schedule_context(scheduled_execution_time=early - timedelta(days=30)))
    assert isinstance(before, SkipReason)


def test_weekly_schedule_rereads_the_last_thirty_days() -> None:
    _, weekly = _schedules(reread_days=30)
    assert weekly.cron_schedule == "0 3 * * 0"
    tick = datetime(2025, 3, 2, 3, 0, tzinfo=UTC)
    first, last, _ = _request_range(weekly, tick)
    assert (date.fromisoformat(last) - date.fromisoformat(first)).days + 1 == 30
    assert last == "2025-03-01"
    early = datetime(2025, 1, 5, 3, 0, tzinfo=UTC)
    assert _request_range(weekly, early)[:2] == (
        daily_partitions.start.date().isoformat(),
        "2025-01-04",
    )


def test_settings_reach_the_definitions_when_they_are_built(monkeypatch) -> None:
    """The partition start, lookback and resources come from the environment at build time,
    not at import: a module imported earlier does not hold on to them."""
    from pipelines.definitions import build

    monkeypatch.setenv("CI_METRICS_START_DATE", "2025-06-01")
    monkeypatch.setenv("CI_METRICS_LOOKBACK_DAYS", "0")
    monkeypatch.setenv("CI_METRICS_FULL_SUITE_WORKFLOW", "nightly")
    built = build()
    graph = built.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        partitions = graph.get(key).partitions_def
        assert partitions is None or partitions.start.date() == date(2025, 6, 1), key
    assert built.resolve_job_def("daily_pipeline").partitions_def.start.date() == date(2025, 6, 1)
    daily = next(s for s in built.schedules if s.name == "daily_pipeline_schedule")
    tick = datetime(2025, 6, 3, 2, 0, tzinfo=UTC)
    assert _request_range(daily, tick)[:2] == ("2025-06-02", "2025-06-02")
    kpi = built.resources["kpi_settings"]
    assert kpi.full_suite_workflow.env_var_name == "CI_METRICS_FULL_SUITE_WORKFLOW"  # read at run
    assert daily_partitions.start.date() == date(2025, 1, 1)  # the import-time default


def test_the_daily_job_covers_the_whole_graph() -> None:
    job = defs.resolve_job_def("daily_pipeline")
    assert job.asset_layer.executable_asset_keys == defs.resolve_asset_graph().get_all_asset_keys()
    assert job.partitions_def == daily_partitions


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


def test_target_checks_follow_each_pipeline_run_once() -> None:
    """The checks sensor watches the jobs that rebuild kpi.target_status and asks for one
    kpi_target_checks run per finished run; those jobs plan no target check themselves."""
    from dagster import (
        DagsterEventType,
        DagsterInstance,
        RunStatusChangeRecordsFilter,
        asset,
        build_run_status_sensor_context,
        materialize,
    )

    from pipelines.target_checks_sensor import kpi_target_checks_after_runs as sensor

    assert sensor in list(defs.sensors)
    checks_job = defs.resolve_job_def("kpi_target_checks")
    assert sensor.job_name == checks_job.name and checks_job.partitions_def is None
    target_step = "kpi__target_status_"
    assert len([n for n in checks_job.graph.node_dict if n.startswith(target_step)]) == 6
    assert len(checks_job.graph.node_dict) == 6
    for name in ("daily_pipeline", "window_reports"):
        steps = defs.resolve_job_def(name).graph.node_dict
        assert "kpi__target_status" in steps, name  # the table, without its checks
        assert not any(n.startswith(target_step) for n in steps), name

    @asset
    def anything() -> None:
        return None

    with DagsterInstance.ephemeral() as instance:
        result = materialize([anything], instance=instance)
        run = instance.get_run_by_id(result.run_id)
        [record] = instance.fetch_run_status_changes(
            RunStatusChangeRecordsFilter(event_type=DagsterEventType.RUN_SUCCESS), limit=1
        ).records
        context = build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=record.event_log_entry.dagster_event,
            dagster_instance=instance,
            dagster_run=run,
        )
        request = sensor(context)
    assert request.run_key == f"targets-after:{run.run_id}"
