"""KPI models against a seeded random store, checked with a plain-Python reading of the contract."""

import math
import random
import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest

from pipelines import store
from pipelines.kpi.build import build_all
from pipelines.kpi.config import KpiConfig
from tests.raw_rows import JOB_COLS, RUN_COLS, insert, rows_as_dicts, run
from tests.reference import quantile

FIRST = date(2024, 12, 20)  # spans a month and a year boundary
DAYS = 20
CONCLUSIONS = ["success"] * 6 + ["failure", "timed_out", "cancelled", "skipped", None]


def make_store(rng: random.Random) -> tuple[list[dict], list[dict]]:
    runs, jobs = [], []
    job_id = 0
    for run_id in range(1, 601):
        created = datetime.combine(FIRST, datetime.min.time()) + timedelta(
            seconds=rng.randrange(DAYS * 86400)
        )
        workflow = rng.choice(["CI", "Lint", "Docs"])
        event = rng.choice(["push", "pull_request", "pull_request_target", "schedule"])
        sha = f"sha{rng.randrange(150)}"
        repo = rng.choice(["o/a", "o/b"])
        for attempt in range(1, rng.choice([1, 1, 1, 2, 3]) + 1):
            start = created + timedelta(seconds=rng.randrange(0, 120) + 1000 * (attempt - 1))
            status = "completed" if rng.random() > 0.05 else "in_progress"
            conclusion = rng.choice(CONCLUSIONS) if status == "completed" else None
            runs.append(
                run(
                    run_id,
                    attempt,
                    created=created,
                    start_offset_s=(start - created).total_seconds(),
                    duration_s=rng.uniform(5, 900),
                    conclusion=conclusion,
                    status=status,
                    event=event,
                    workflow=workflow,
                    workflow_id=["CI", "Lint", "Docs"].index(workflow),
                    sha=sha,
                    repo=repo,
                )
            )
            for _ in range(rng.randrange(0, 4)):
                job_id += 1
                seconds = rng.choice([None, 0, 59.9, 60, 60.5, rng.uniform(1, 1000)])
                jobs.append(
                    {
                        "repo": repo,
                        "job_id": job_id,
                        "run_id": run_id,
                        "run_attempt": attempt,
                        "name": "j",
                        "status": "completed",
                        "conclusion": rng.choice(["success", "failure", "skipped"]),
                        "started_at": start,
                        "completed_at": None
                        if seconds is None
                        else start + timedelta(seconds=seconds),
                    }
                )
    return runs, jobs


def klass(a: dict) -> str | None:
    if a["status"] != "completed":
        return None
    if a["conclusion"] == "success":
        return "success"
    if a["conclusion"] in ("failure", "timed_out", "startup_failure"):
        return "failure"
    return "excluded"


def duration(a: dict) -> float:
    return (a["updated_at"] - a["run_started_at"]).total_seconds()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    rng = random.Random(20250101)
    runs, jobs = make_store(rng)
    path = tmp_path_factory.mktemp("random") / "store.duckdb"
    with store.connect(path) as con:
        insert(con, "workflow_runs", RUN_COLS, runs)
        insert(con, "workflow_jobs", JOB_COLS, jobs)
        build_all(
            con,
            FIRST,
            FIRST + timedelta(days=DAYS - 1),
            config=KpiConfig(baseline=None),
        )
        daily = rows_as_dicts(con, "SELECT * FROM kpi.workflow_daily")
        targets = rows_as_dicts(con, "SELECT * FROM kpi.targets")
        units = rows_as_dicts(con, "SELECT * FROM kpi.run_flakiness")
    return runs, jobs, daily, targets, units


def by_run(runs: list[dict]) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = defaultdict(list)
    for a in runs:
        out[(a["repo"], a["run_id"])].append(a)
    return out


def test_workflow_daily_matches_reference(built) -> None:
    runs, jobs, daily, _, _ = built
    attempts_of = by_run(runs)
    status_of = {(a["repo"], a["run_id"], a["run_attempt"]): a["status"] for a in runs}
    minutes: dict[tuple, int] = defaultdict(int)
    for j in jobs:
        if j["completed_at"] is None or j["conclusion"] == "skipped":
            continue
        if status_of[(j["repo"], j["run_id"], j["run_attempt"])] != "completed":
            continue
        minutes[(j["repo"], j["run_id"])] += math.ceil(
            (j["completed_at"] - j["started_at"]).total_seconds() / 60
        )
    groups: dict[tuple, list] = defaultdict(list)
    for (repo, run_id), attempts in attempts_of.items():
        final = max(attempts, key=lambda a: a["run_attempt"])
        groups[(repo, final["workflow_name"], final["created_at"].date())].append(
            (attempts, final, minutes[(repo, run_id)])
        )
    assert len(daily) == len(groups)
    for row in daily:
        members = groups[(row["repo"], row["workflow_name"], row["day"])]
        finals = [klass(f) for _, f, _ in members]
        s, f = finals.count("success"), finals.count("failure")
        assert row["runs"] == len(members)
        assert row["attempts"] == sum(len(a) for a, _, _ in members)
        assert (row["successes"], row["failures"]) == (s, f)
        assert row["success_rate"] == (pytest.approx(s / (s + f)) if s + f else None)
        firsts = [klass(next(x for x in a if x["run_attempt"] == 1)) for a, _, _ in members]
        fs, ff = firsts.count("success"), firsts.count("failure")
        assert row["first_attempt_success_rate"] == (
            pytest.approx(fs / (fs + ff)) if fs + ff else None
        )
        durations = [duration(fin) for _, fin, _ in members if klass(fin) in ("success", "failure")]
        assert row["duration_p50_s"] == pytest.approx(quantile(durations, 0.5))
        assert row["duration_p95_s"] == pytest.approx(quantile(durations, 0.95))
        if durations:
            assert row["duration_mean_s"] == pytest.approx(statistics.mean(durations))
        assert row["compute_minutes"] == sum(m for _, _, m in members)


def test_targets_pr_validation_and_run_flakiness_match_reference(built) -> None:
    runs, _, _, targets, units = built
    finals = [max(a, key=lambda x: x["run_attempt"]) for a in by_run(runs).values()]
    unit_attempts: dict[tuple, list[dict]] = defaultdict(list)
    for a in runs:
        unit_attempts[(a["repo"], a["workflow_id"], a["head_sha"])].append(a)
    ref_units = {}
    for key, attempts in unit_attempts.items():
        classes = {klass(a) for a in attempts}
        if classes & {"success", "failure"}:
            first_day = min(a["created_at"] for a in attempts).date()
            ref_units[key] = (first_day, {"success", "failure"} <= classes)
    assert {
        (u["repo"], u["workflow_id"], u["head_sha"]): (u["day"], u["flaky"]) for u in units
    } == ref_units
    checked = 0
    for t in targets:
        lo, hi = t["day"] - timedelta(days=6), t["day"]
        if t["kpi"] == "pr_validation_avg_s":
            durations = [
                duration(f)
                for f in finals
                if f["repo"] == t["repo"]
                and f["event"] in ("pull_request", "pull_request_target")
                and lo <= f["created_at"].date() <= hi
                and klass(f) in ("success", "failure")
            ]
            expected = statistics.mean(durations) if durations else None
        elif t["kpi"] == "run_flakiness_rate":
            window = [
                fl
                for (repo, _, _), (d, fl) in ref_units.items()
                if repo == t["repo"] and lo <= d <= hi
            ]
            expected = sum(window) / len(window) if window else None
        elif t["kpi"] == "full_suite_p95_s":
            durations = [
                duration(f)
                for f in finals
                if f["repo"] == t["repo"]
                and f["workflow_name"] == "CI"
                and lo <= f["created_at"].date() <= hi
                and klass(f) == "success"
            ]
            expected = quantile(durations, 0.95)
        else:
            continue
        checked += 1
        if expected is None:
            assert t["value"] is None and t["status"] == "no_data"
        else:
            assert t["value"] == pytest.approx(expected), t
            assert t["status"] == ("ok" if expected < t["target"] else "breach")
    assert checked == 3 * 2 * DAYS
