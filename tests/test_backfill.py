"""A backfill over a date range is one run, and leaves the store exactly as running the
days one by one does: through Python, and through `dagster asset materialize
--partition-range`, the command the README gives."""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance

from assets.target_checks import check_keys, kpi_target_checks
from pipelines.fake_github.generator import FakeConfig, generate
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.materialize import run_pipeline
from tests.conftest import END, ROOT, TOKEN, dagster_home, raw_resources, server_env
from tests.snapshot import assert_same_store, snapshot

pytestmark = pytest.mark.slow

FIRST, LAST = END - timedelta(days=3), END
SCHEMAS = ("raw", "meta", "kpi")
# listing URLs (and so their cached answers) name the window asked for, which differs
# between one range and single days by design
SKIP = ("meta.http_cache",)


@pytest.fixture(scope="module")
def server():
    world = generate(FakeConfig(seed=5, repos=2, days=4, end_date=END, runs_per_day=12))
    with FakeGitHubServer(world, token=TOKEN) as server:
        yield server


def assert_each_target_check_ran_once(instance: DagsterInstance) -> None:
    """A ranged run evaluates each KPI target check once: one completed execution, none
    left planned for the days of the range."""
    for key in check_keys(kpi_target_checks):
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=20)
        assert [(r.status.value, r.partition) for r in history] in (
            [("SUCCEEDED", None)],
            [("FAILED", None)],
        ), key


def test_a_range_equals_its_days_run_one_by_one(server, tmp_path, monkeypatch):
    monkeypatch.setenv("CI_METRICS_OUTPUT_DIR", str(tmp_path / "reports"))
    ranged, daily = tmp_path / "ranged.duckdb", tmp_path / "daily.duckdb"
    with DagsterInstance.ephemeral() as instance:
        ranged_run, checks_run = run_pipeline(
            FIRST, LAST, resources=raw_resources(server, ranged), instance=instance
        )
        assert ranged_run.success and checks_run.success
        # the whole range, one run; then the target checks, once each
        assert len(instance.get_run_records()) == 2
        assert_each_target_check_ran_once(instance)
        day = FIRST
        while day <= LAST:
            for r in run_pipeline(
                day, day, resources=raw_resources(server, daily), instance=instance
            ):
                assert r.success
            day += timedelta(days=1)
    want = snapshot(daily, schemas=SCHEMAS, skip=SKIP)
    assert want["raw.workflow_runs"][1], "the days loaded nothing"
    assert want["kpi.workflow_daily"][1], "no KPI rows"
    assert_same_store(snapshot(ranged, schemas=SCHEMAS, skip=SKIP), want)

    # the command line's ranged materialization: one run, the same store
    cli_db = tmp_path / "cli.duckdb"
    home = dagster_home(tmp_path / "home")
    env = server_env(server, home=home, db=cli_db, out=tmp_path / "reports")
    dagster = Path(sys.executable).with_name("dagster")
    out = subprocess.run(
        [
            str(dagster), "asset", "materialize", "--select", "*",
            "--partition-range", f"{FIRST}...{LAST}", "-m", "pipelines.definitions",
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert_same_store(snapshot(cli_db, schemas=SCHEMAS, skip=SKIP), want)
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        [record] = instance.get_run_records()
        tags = record.dagster_run.tags
    assert (
        tags["dagster/asset_partition_range_start"],
        tags["dagster/asset_partition_range_end"],
    ) == (
        str(FIRST),
        str(LAST),
    )
