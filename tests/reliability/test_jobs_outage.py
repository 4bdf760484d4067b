"""An outage between the runs and the jobs of a range builds no KPI over runs without jobs.

The fake server's primary rate limit runs out halfway through the jobs requests of the
whole pipeline's run (and resets only in two hours, beyond the client's wait): the runs
of the range are stored, their jobs are not. No KPI table may then hold a row for the
range, neither from that run nor from a run of the KPI tables alone (as materializing
them from the UI does); the blocking check on the jobs asset names the runs without
jobs, startup failures aside (they have none). A healthy re-run then ends with the store
a run without the outage leaves, KPIs included.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance

from assets.dashboard import dashboard
from assets.github import github_workflow_jobs, github_workflow_runs
from assets.jobs_read import count_jobs_not_read
from assets.kpi import kpi_assets
from assets.target_checks import kpi_target_checks
from assets.test_results import test_results
from pipelines import store
from pipelines.fake_github.faults import Faults
from pipelines.fake_github.generator import FakeConfig, generate
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.kpi.build import TABLES_BY_NAME
from pipelines.materialize import materialize_range
from tests.conftest import END, TOKEN, raw_resources
from tests.snapshot import assert_same_store, snapshot

pytestmark = pytest.mark.slow

FIRST, LAST = END - timedelta(days=1), END
# startup failures made common, so the range surely has some (they have no jobs to read)
WORLD = FakeConfig(seed=41, repos=1, days=3, end_date=END, runs_per_day=8, startup_failure_p=0.15)
GRAPH = [github_workflow_runs, github_workflow_jobs, test_results, *kpi_assets, dashboard]
PER_DAY_KPIS = [a for a in kpi_assets if TABLES_BY_NAME[a.key.path[-1]].per_day]
SCHEMAS = ("raw", "meta", "kpi")


def pipeline(server: FakeGitHubServer, db: Path, assets: list, **github: object):
    """One ranged run of ``assets`` (with every check) over FIRST … LAST, as the schedule
    does it; its result and the requests the server answered meanwhile."""
    before = server.stats.snapshot()["api_requests"]
    with DagsterInstance.ephemeral() as instance:
        result = materialize_range(
            FIRST,
            LAST,
            resources=raw_resources(server, db, **github),
            instance=instance,
            assets=[*assets, *kpi_target_checks],
            raise_on_error=False,
        )
    return result, server.stats.snapshot()["api_requests"] - before


def requests_of(result, asset: str) -> int:
    """The requests ``asset`` made (each partition of the range carries the same figure)."""
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.path == [asset]]
    return int(events[0].materialization.metadata["requests"].value)


def kpi_rows(db: Path) -> dict[str, int]:
    """Rows per KPI table, of the tables that exist."""
    with store.connect(db, read_only=True) as con:
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'kpi'"
        ).fetchall()
        return {t: con.execute(f"SELECT count(*) FROM kpi.{t}").fetchone()[0] for (t,) in tables}


def test_a_jobs_outage_builds_no_kpi_and_a_healthy_rerun_converges(tmp_path: Path, record):
    world = generate(WORLD)
    in_range = world.runs_created_between(FIRST, LAST)
    completed = [r for r in in_range if all(a.status == "completed" for a in r.attempts)]
    startup_failures = [r for r in completed if r.latest.conclusion == "startup_failure"]
    assert startup_failures, "the world should hold a startup failure in the range"
    without_jobs = len(completed) - len(startup_failures)
    clean, db = tmp_path / "clean.duckdb", tmp_path / "store.duckdb"

    with FakeGitHubServer(world, token=TOKEN) as server:
        reference, _ = pipeline(server, clean, GRAPH)
        assert reference.success
        runs_requests = requests_of(reference, "github_workflow_runs")
        jobs_requests = requests_of(reference, "github_workflow_jobs")
        assert jobs_requests >= 4

        # the limit runs out after half of the jobs requests of a run like the clean one
        cut = runs_requests + jobs_requests // 2
        server.faults = Faults(
            primary_exhaust_after=server.stats.snapshot()["api_requests"] + cut,
            primary_reset_s=7200,
        )
        outage, answered = pipeline(server, db, GRAPH, max_rate_limit_wait_s=1)
        assert runs_requests < answered < runs_requests + jobs_requests, "not mid-way"
        failed = {e.step_key for e in outage.all_events if e.is_step_failure}
        assert failed == {"github_workflow_jobs"}
        built = {e.asset_key.path[0] for e in outage.get_asset_materialization_events()}
        assert built == {"github_workflow_runs"}  # no KPI table, nor the test results
        with store.connect(db, read_only=True) as con:
            stored = con.execute("SELECT count(DISTINCT run_id) FROM raw.workflow_runs").fetchone()
            fetched = con.execute("SELECT count(*) FROM meta.jobs_fetched").fetchone()
        assert stored == (len(in_range),) and fetched == (0,)
        assert sum(kpi_rows(db).values()) == 0, kpi_rows(db)

        # the check names every completed run of the range but the startup failures
        with store.connect(db, read_only=True) as con:
            assert count_jobs_not_read(con, FIRST, LAST) == without_jobs

        # the KPI tables alone, over the same range: refused, nothing built
        server.faults = Faults()
        alone, _ = pipeline(server, db, PER_DAY_KPIS)
        assert not alone.success
        assert sum(kpi_rows(db).values()) == 0, kpi_rows(db)
        message = str(next(e for e in alone.all_events if e.is_step_failure).event_specific_data)
        assert f"{without_jobs} completed run(s)" in message, message

        healthy, _ = pipeline(server, db, GRAPH)
    assert healthy.success
    evaluations = {e.check_name: e.passed for e in healthy.get_asset_check_evaluations()}
    assert evaluations["jobs_read_for_completed_runs"] is True
    assert_same_store(
        snapshot(db, schemas=SCHEMAS, skip=("meta.http_cache",)),
        snapshot(clean, schemas=SCHEMAS, skip=("meta.http_cache",)),
    )
    record(
        "faults",
        "jobs-outage-mid-way",
        f"pipeline over {FIRST} … {LAST}; the rate limit runs out after {cut} of about "
        f"{runs_requests + jobs_requests} requests (half the jobs) and resets in 2 h; then "
        "the per-day KPI tables alone; then a healthy re-run",
        f"runs stored, jobs not; no KPI row built by either run; the check counts "
        f"{without_jobs} run(s) without jobs ({len(startup_failures)} startup failure(s) "
        "aside); the healthy re-run equals a clean run, KPIs included",
        requests_answered=answered,
    )
