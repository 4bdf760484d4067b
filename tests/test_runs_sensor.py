"""The GitHub runs sensor against the real fake server: which days it asks for, that a
quiet repository costs a 304, that repeated ticks never ask twice, and that faults skip
the tick without losing the cursor."""

import json
from datetime import UTC, date, datetime, timedelta

from dagster import DefaultSensorStatus, SensorResult, SkipReason, build_sensor_context

from pipelines.fake_github.faults import Faults
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.partitions import RANGE_END_TAG, RANGE_START_TAG, daily_partitions
from pipelines.resources import GitHubAPI
from pipelines.runs_sensor import build_runs_sensor, plan_run
from tests.conftest import TOKEN

FIRST = daily_partitions.start.date()
github_runs_sensor = build_runs_sensor(daily_partitions, running=False, interval_s=30)


def _tick(server: FakeGitHubServer, cursor: str | None = None) -> SensorResult | SkipReason:
    github = GitHubAPI(api_url=server.url, token=TOKEN, repos=",".join(server.world.repos))
    context = build_sensor_context(cursor=cursor, resources={"github": github})
    return github_runs_sensor(context)


def _newest_completed_days(world, repo: str, n: int = 100) -> set[str]:
    done = [r for r in reversed(world.sorted_runs(repo)) if r.latest.status == "completed"]
    return {r.created_at.date().isoformat() for r in done[:n]}


def test_first_tick_asks_for_the_days_of_the_newest_completed_runs(fake_github, small_world):
    result = _tick(fake_github)
    days = set().union(*(_newest_completed_days(small_world, r) for r in small_world.repos))
    [request] = result.run_requests
    assert request.tags[RANGE_START_TAG] == min(days)
    assert request.tags[RANGE_END_TAG] == max(days)
    assert json.loads(result.cursor)["pending"] == []


def test_a_quiet_tick_costs_only_304s_and_asks_for_nothing(fake_github, small_world):
    first = _tick(fake_github)
    before = fake_github.stats.snapshot()
    second = _tick(fake_github, first.cursor)
    after = fake_github.stats.snapshot()
    repos = len(small_world.repos)
    assert second.run_requests == []
    assert after["api_requests"] - before["api_requests"] == repos
    assert after["not_modified"] - before["not_modified"] == repos
    assert json.loads(second.cursor) == json.loads(first.cursor)


def test_a_new_run_asks_for_its_day_once(fake_github, small_world):
    cursor = _tick(fake_github).cursor
    repo = small_world.repos[1]
    created = datetime(2025, 3, 8, 14, 0, tzinfo=UTC)
    small_world.insert_run(repo, created)
    result = _tick(fake_github, cursor)
    [request] = result.run_requests
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (
        "2025-03-08",
        "2025-03-08",
    )
    # a tick replayed from the old cursor (say the cursor update was lost) asks for the same
    # run key, which the daemon launches only once; the new cursor asks for nothing more
    again = _tick(fake_github, cursor)
    assert [r.run_key for r in again.run_requests] == [request.run_key]
    assert _tick(fake_github, result.cursor).run_requests == []


def test_days_that_are_not_partitions_yet_wait_in_the_cursor():
    request, pending = plan_run(
        {"2025-03-09", "2026-11-27", "2026-11-28"}, FIRST, date(2026, 11, 26)
    )
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (
        "2025-03-09",
        "2025-03-09",
    )
    assert pending == ["2026-11-27", "2026-11-28"]
    later, still = plan_run(set(pending), FIRST, date(2026, 11, 27))
    assert later.tags[RANGE_END_TAG] == "2026-11-27"
    assert still == ["2026-11-28"]
    assert FIRST == date(2025, 1, 1)
    assert plan_run({"2024-12-31"}, FIRST, date(2026, 11, 26)) == (None, [])  # before the first day


def test_a_rate_limited_tick_skips_and_keeps_the_cursor(fake_github, small_world):
    first = _tick(fake_github)
    fake_github.faults = Faults(primary_exhaust_after=1, primary_reset_s=3600)
    small_world.insert_run(small_world.repos[0], datetime(2025, 3, 9, 9, tzinfo=UTC))
    skipped = _tick(fake_github, first.cursor)
    assert isinstance(skipped, SkipReason)
    assert "rate limit" in skipped.skip_message.lower()
    assert TOKEN not in skipped.skip_message
    fake_github.faults = Faults()
    # the limit resets: the next tick (from the unchanged cursor) finds the new run
    result = _tick(fake_github, first.cursor)
    assert [r.tags[RANGE_END_TAG] for r in result.run_requests] == ["2025-03-09"]


def test_the_sensor_is_off_unless_asked_for(monkeypatch):
    from pipelines.definitions import build

    def sensor():
        return next(s for s in build().sensors if s.name == "github_runs_sensor")

    monkeypatch.delenv("CI_METRICS_POLL_GITHUB", raising=False)
    assert sensor().default_status is DefaultSensorStatus.STOPPED
    monkeypatch.setenv("CI_METRICS_POLL_GITHUB", "on")
    monkeypatch.setenv("CI_METRICS_POLL_INTERVAL_S", "45")
    assert sensor().default_status is DefaultSensorStatus.RUNNING
    assert sensor().minimum_interval_seconds == 45


def test_yesterdays_runs_are_ready_and_todays_wait():
    today = datetime.now(UTC).date()
    request, pending = plan_run({today.isoformat()}, FIRST, today - timedelta(days=1))
    assert request is None and pending == [today.isoformat()]
