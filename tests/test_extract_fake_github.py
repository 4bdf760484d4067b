"""Extraction through real Dagster runs against the real fake GitHub server into real DuckDB.

Expected rows come from the generator's own data (what it built), never from
the extractor's output.
"""

import dataclasses
import math
from datetime import timedelta

import pytest
from dagster import DagsterInstance

from pipelines import store
from pipelines.fake_github.faults import Faults
from pipelines.fake_github.generator import FakeConfig, generate
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.github.extract import LISTING_CAP
from pipelines.materialize import materialize_range
from tests.conftest import END, TOKEN, raw_resources
from tests.expected import JOB_SQL, RUN_SQL, expected_attempts, expected_jobs


def stored(db_path, sql: str) -> set[tuple]:
    with store.connect(db_path, read_only=True) as con:
        rows = con.execute(sql).fetchall()
    return {tuple(tuple(v) if isinstance(v, list) else v for v in row) for row in rows}


def run_range(server, db_path, instance, first, last, **github):
    return materialize_range(
        first, last, resources=raw_resources(server, db_path, **github), instance=instance
    )


def metadata(result, key: str) -> dict:
    mats = [m for m in result.get_asset_materialization_events() if m.asset_key.path == [key]]
    assert mats, f"no materialization of {key}"  # one per partition of the range, same metadata
    return {k: v.value for k, v in mats[0].materialization.metadata.items()}


def test_range_backfill_matches_ground_truth(fake_github, small_world, db_path, instance):
    first, last = END - timedelta(days=4), END
    result = run_range(fake_github, db_path, instance, first, last)
    assert result.success
    want_runs = expected_attempts(small_world, first, last)
    assert len({(r[0], r[1]) for r in want_runs}) >= 150  # the world is not trivially small
    assert any(r[2] > 1 for r in want_runs), "the world must hold re-run attempts"
    assert any(r[3] != "completed" for r in want_runs), "and runs still in progress"
    assert stored(db_path, RUN_SQL) == want_runs
    assert stored(db_path, JOB_SQL) == expected_jobs(small_world, first, last)
    # one run for the whole range, listed with created windows, not one per day
    runs = instance.get_runs()
    assert len(runs) == 1
    meta = metadata(result, "github_workflow_runs")
    assert meta["listing_windows"] == len(small_world.repos)
    assert meta["rows"] == len(want_runs)


def test_single_day_only_touches_that_day(fake_github, small_world, db_path, instance):
    day = END - timedelta(days=2)
    assert run_range(fake_github, db_path, instance, day, day).success
    assert stored(db_path, RUN_SQL) == expected_attempts(small_world, day, day)
    assert stored(db_path, JOB_SQL) == expected_jobs(small_world, day, day)
    other = END - timedelta(days=1)
    run_range(fake_github, db_path, instance, other, other)
    assert stored(db_path, RUN_SQL) == expected_attempts(small_world, day, other)


def test_second_pass_is_identical_and_costs_only_304s(fake_github, db_path, instance):
    first, last = END - timedelta(days=4), END
    run_range(fake_github, db_path, instance, first, last)
    with store.connect(db_path, read_only=True) as con:
        before_runs = con.execute(f"SELECT * FROM ({RUN_SQL}) ORDER BY ALL").fetchall()
        before_all = con.execute("SELECT * FROM raw.workflow_runs ORDER BY ALL").fetchall()
        in_progress = con.execute(
            "SELECT count(DISTINCT run_id) FROM raw.workflow_runs WHERE status <> 'completed'"
        ).fetchone()[0]
    second = run_range(fake_github, db_path, instance, first, last)
    with store.connect(db_path, read_only=True) as con:
        assert con.execute("SELECT * FROM raw.workflow_runs ORDER BY ALL").fetchall() == before_all
        assert con.execute(f"SELECT * FROM ({RUN_SQL}) ORDER BY ALL").fetchall() == before_runs
    runs_meta = metadata(second, "github_workflow_runs")
    # one page per listing window, and each repository's own answer (its default branch)
    repos = len(runs_meta["repos"].split(", "))
    assert runs_meta["requests"] == runs_meta["not_modified_304"]
    assert runs_meta["requests"] == runs_meta["listing_pages"] + repos
    assert runs_meta["attempts_fetched"] == 0
    jobs_meta = metadata(second, "github_workflow_jobs")
    # only runs still going are read again; every finished run's jobs are final
    assert jobs_meta["runs_read"] == in_progress
    assert jobs_meta["requests"] == jobs_meta["not_modified_304"]


def test_runs_that_complete_or_gain_attempts_are_updated(small_world, db_path, instance):
    first, last = END - timedelta(days=1), END
    with FakeGitHubServer(small_world, token=TOKEN) as server:
        run_range(server, db_path, instance, first, last)
    # GitHub moves on: an unfinished run completes, a finished run is re-run
    runs = small_world.runs_created_between(first, last)
    going = next(r for r in runs if r.latest.status != "completed")
    done = next(r for r in runs if r.latest.status == "completed" and len(r.attempts) == 1)
    end_at = going.latest.run_started_at + timedelta(minutes=5)
    going.attempts[-1] = dataclasses.replace(
        going.latest,
        status="completed",
        conclusion="success",
        updated_at=end_at,
        jobs=tuple(
            dataclasses.replace(
                j,
                status="completed",
                conclusion="success",
                started_at=j.started_at or j.created_at,
                completed_at=end_at,
            )
            for j in going.latest.jobs
        ),
    )
    prev = done.latest
    done.attempts.append(
        dataclasses.replace(
            prev,
            run_attempt=2,
            conclusion="success",
            run_started_at=prev.updated_at + timedelta(minutes=1),
            updated_at=prev.updated_at + timedelta(minutes=9),
            jobs=tuple(
                dataclasses.replace(j, job_id=j.job_id + 10_000_000, run_attempt=2)
                for j in prev.jobs
            ),
        )
    )
    with FakeGitHubServer(small_world, token=TOKEN) as server:
        run_range(server, db_path, instance, first, last)
    assert stored(db_path, RUN_SQL) == expected_attempts(small_world, first, last)
    assert stored(db_path, JOB_SQL) == expected_jobs(small_world, first, last)


def test_window_split_past_the_1000_run_cap(db_path, instance):
    world = generate(FakeConfig(seed=5, repos=1, days=1, end_date=END, runs_per_day=2600))
    assert len(world.runs_created_between(END, END)) > 2000
    with FakeGitHubServer(world, token=TOKEN) as server:
        result = run_range(server, db_path, instance, END, END)
    meta = metadata(result, "github_workflow_runs")
    runs = len(world.runs_created_between(END, END))
    # narrowed windows: each request brings ~100 new runs, none past the cap is asked for
    assert meta["listing_windows"] >= runs // LISTING_CAP + 1
    assert math.ceil(runs / 100) <= meta["listing_pages"] <= math.ceil(runs / 100) + 2
    assert server.stats.by_status.get(422, 0) == 0
    assert stored(db_path, RUN_SQL) == expected_attempts(world, END, END)


@pytest.mark.parametrize(
    "faults",
    [
        Faults(error_every=7, error_burst=2),
        Faults(drop_every=9),
        Faults(secondary_every=11, retry_after_s=1),
        Faults(primary_exhaust_after=25, primary_reset_s=2),
        Faults(slow_every=5, slow_s=0.3),
    ],
    ids=["5xx-bursts", "dropped-connections", "secondary-limit", "primary-limit", "slow"],
)
def test_faults_end_with_the_right_data(small_world, db_path, instance, faults):
    first, last = END - timedelta(days=1), END
    with FakeGitHubServer(small_world, token=TOKEN, faults=faults) as server:
        result = run_range(server, db_path, instance, first, last)
        assert sum(server.stats.faults.values()) > 0, "the fault must actually have happened"
    assert result.success
    assert stored(db_path, RUN_SQL) == expected_attempts(small_world, first, last)
    assert stored(db_path, JOB_SQL) == expected_jobs(small_world, first, last)


def test_runs_inserted_during_pagination_are_not_duplicated(db_path, instance):
    world = generate(FakeConfig(seed=9, repos=1, days=1, end_date=END, runs_per_day=450))
    original = expected_attempts(world, END, END)
    with FakeGitHubServer(world, token=TOKEN, faults=Faults(insert_during_pagination=True)) as s:
        run_range(s, db_path, instance, END, END)
        assert s.stats.faults.get("insert_during_pagination", 0) >= 1
    got = stored(db_path, RUN_SQL)
    with store.connect(db_path, read_only=True) as con:
        dupes = con.execute(
            "SELECT count(*) FROM (SELECT repo, run_id, run_attempt FROM raw.workflow_runs "
            "GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()[0]
    assert dupes == 0
    assert original <= got  # every run that existed is there; a newcomer may be too


def test_unrecoverable_failure_keeps_stored_rows_and_hides_the_token(
    small_world, db_path, instance: DagsterInstance
):
    first, last = END - timedelta(days=1), END
    with FakeGitHubServer(small_world, token=TOKEN) as server:
        run_range(server, db_path, instance, first, last)
    before = stored(db_path, "SELECT * FROM raw.workflow_runs")
    faults = Faults(primary_exhaust_after=1, primary_reset_s=7200)
    with FakeGitHubServer(small_world, token=TOKEN, faults=faults) as server:
        result = materialize_range(
            first,
            last,
            resources=raw_resources(server, db_path, max_rate_limit_wait_s=5),
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    assert stored(db_path, "SELECT * FROM raw.workflow_runs") == before
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.event_specific_data.error)
    assert "rate limit" in message and "resets at" in message
    for record in instance.all_logs(result.run_id):
        assert TOKEN not in str(record)
    for run in instance.get_runs():
        assert TOKEN not in str(instance.get_run_by_id(run.run_id).run_config)
    github = raw_resources(server, db_path)["github"]
    assert github.token == TOKEN and TOKEN not in repr(github) and TOKEN not in str(github)
