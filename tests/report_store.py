"""A hand-built store for the report tests: run specs and test rows whose every expected
number is worked out here, independently of the KPI SQL and of the renderers."""

import math
import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from pipelines import store
from pipelines.kpi.build import build_all
from pipelines.kpi.config import KpiConfig
from pipelines.kpi.filters import Period

AS_OF = date(2025, 3, 10)
FIRST = date(2025, 1, 20)  # 50 days: every 30-day window has a full previous window
BASELINE = (FIRST, FIRST + timedelta(days=6))
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror=alert(1)>'
REPO = "o/r"
# workflow name -> event: the XSS names are real workflows with runs of their own
WORKFLOWS = {"CI": "push", XSS_SCRIPT: "pull_request", XSS_IMG: "schedule"}


@dataclass(frozen=True)
class Run:
    run_id: int
    day: date
    workflow: str
    event: str
    success: bool
    duration_s: int
    job_s: int


def run_specs() -> list[Run]:
    """Deterministic runs: counts, outcomes and durations vary by day and workflow."""
    runs: list[Run] = []
    rid = 0
    for i in range((AS_OF - FIRST).days + 1):
        day = FIRST + timedelta(days=i)
        for w, (name, event) in enumerate(WORKFLOWS.items()):
            if event == "schedule" and i % 2:
                continue  # the schedule runs every other day: gaps in its series
            for k in range(1 + (i + w) % 3):
                rid += 1
                runs.append(
                    Run(
                        run_id=rid,
                        day=day,
                        workflow=name,
                        event=event,
                        success=(i + k + w) % 4 != 0,
                        duration_s=60 + 7 * ((i * 3 + k + w) % 11) + 40 * w,
                        job_s=45 + 13 * ((i + k) % 9),
                    )
                )
    return runs


@dataclass(frozen=True)
class ResultRow:
    day: date
    src: str
    seq: int
    test_id: str
    outcome: str
    duration_s: float
    sha: str = "abc123"
    module: str = XSS_IMG


SLOW_30 = "pkg/test_old.py::test_slow_last_month"
FLAKY_30 = "pkg/test_old.py::test_flaky_last_month"
REGRESSED_30 = "pkg/test_old.py::test_got_slower"


def result_rows() -> list[ResultRow]:
    """Test results: some only in the last 7 days, some only further back."""
    rows = []
    # in the 7-day window: a slow test and a flaky one (pass and fail on one commit), both
    # with hostile names
    for n in range(6):
        rows.append(ResultRow(AS_OF - timedelta(days=n % 3), f"f{n}", n, XSS_SCRIPT, "passed", 2.5))
    rows.append(ResultRow(AS_OF, "g1", 0, XSS_IMG, "passed", 0.1))
    rows.append(ResultRow(AS_OF, "g2", 0, XSS_IMG, "failed", 0.1))
    # 10-14 days back: consistently slow, and flaky on another commit; outside the last 7
    for n in range(5):
        rows.append(
            ResultRow(
                AS_OF - timedelta(days=10 + n),
                f"s{n}",
                0,
                SLOW_30,
                "passed",
                1.5 + n / 10,
                "def456",
                "pkg.slow",
            )
        )
    for n, outcome in enumerate(("passed", "failed")):
        rows.append(
            ResultRow(
                AS_OF - timedelta(days=12),
                f"k{n}",
                0,
                FLAKY_30,
                outcome,
                0.05,
                "def456",
                "pkg.flaky",
            )
        )
    # 0.2 s 38-40 days back (the 30 days before the 30-day window), 0.5 s 18-20 days back
    for n in range(3):
        rows.append(
            ResultRow(
                AS_OF - timedelta(days=38 + n),
                f"r{n}",
                0,
                REGRESSED_30,
                "passed",
                0.2,
                "def456",
                "pkg.reg",
            )
        )
        rows.append(
            ResultRow(
                AS_OF - timedelta(days=18 + n),
                f"q{n}",
                0,
                REGRESSED_30,
                "passed",
                0.5,
                "def456",
                "pkg.reg",
            )
        )
    return rows


def insert_store(db: Path, runs: list[Run]) -> None:
    with store.connect(db) as con:
        for r in runs:
            created = datetime.combine(r.day, datetime.min.time()) + timedelta(
                hours=9, minutes=r.run_id % 50
            )
            started = created + timedelta(seconds=5)
            con.execute(
                "INSERT INTO raw.workflow_runs (repo, run_id, run_attempt, workflow_id, "
                "workflow_name, event, status, conclusion, head_branch, head_sha, created_at, "
                "run_started_at, updated_at, extracted_at) VALUES (?, ?, 1, ?, ?, ?, 'completed', "
                "?, ?, ?, ?, ?, ?, ?)",
                [
                    REPO,
                    r.run_id,
                    list(WORKFLOWS).index(r.workflow) + 1,
                    r.workflow,
                    r.event,
                    "success" if r.success else "failure",
                    XSS_IMG,
                    f"sha{r.run_id}",
                    created,
                    started,
                    started + timedelta(seconds=r.duration_s),
                    datetime(2025, 3, 11, 6, 0),
                ],
            )
            con.execute(
                "INSERT INTO raw.workflow_jobs (repo, job_id, run_id, run_attempt, name, status, "
                "conclusion, started_at, completed_at) VALUES (?, ?, ?, 1, ?, 'completed', "
                "'success', ?, ?)",
                [
                    REPO,
                    r.run_id,
                    r.run_id,
                    XSS_SCRIPT,
                    started,
                    started + timedelta(seconds=r.job_s),
                ],
            )
        for r in result_rows():
            con.execute(
                "INSERT INTO raw.test_results (day, source, source_kind, content_hash, seq, repo, "
                "head_sha, branch, workflow, test_id, module, outcome, duration_s) VALUES "
                "(?, ?, 'junit', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    r.day,
                    r.src,
                    r.src,
                    r.seq,
                    REPO,
                    r.sha,
                    XSS_IMG,
                    XSS_SCRIPT,
                    r.test_id,
                    r.module,
                    r.outcome,
                    r.duration_s,
                ],
            )
        build_all(
            con,
            FIRST,
            AS_OF,
            as_of=AS_OF,
            config=KpiConfig(baseline=Period(*BASELINE)),
        )


def in_window(runs: list[Run], end: date, days: int) -> list[Run]:
    start = end - timedelta(days=days - 1)
    return [r for r in runs if start <= r.day <= end]


def window_days(days: int) -> list[date]:
    return [AS_OF - timedelta(days=days - 1 - i) for i in range(days)]


def expected_volume(runs: list[Run], days: int) -> dict[str, list[int]]:
    return {
        event: [sum(1 for r in runs if r.day == d and r.event == event) for d in window_days(days)]
        for event in sorted(set(WORKFLOWS.values()))
    }


def expected_compute(runs: list[Run], days: int) -> list[int]:
    return [sum(math.ceil(r.job_s / 60) for r in runs if r.day == d) for d in window_days(days)]


def expected_mean_duration(runs: list[Run], workflow: str, days: int) -> list[float | None]:
    out = []
    for d in window_days(days):
        ds = [r.duration_s for r in runs if r.day == d and r.workflow == workflow]
        out.append(sum(ds) / len(ds) if ds else None)
    return out


def expected_rolling_success(runs: list[Run], workflow: str, days: int) -> list[float | None]:
    out = []
    for d in window_days(days):
        rs = [r for r in in_window(runs, d, 7) if r.workflow == workflow]
        out.append(sum(r.success for r in rs) / len(rs) if rs else None)
    return out


def expected_pr_validation(runs: list[Run], end: date, days: int) -> float:
    ds = [r.duration_s for r in in_window(runs, end, days) if r.event == "pull_request"]
    return sum(ds) / len(ds)


def expected_compute_reduction(runs: list[Run], days: int) -> float:
    window = sum(math.ceil(r.job_s / 60) for r in in_window(runs, AS_OF, days)) / days
    base = sum(math.ceil(r.job_s / 60) for r in runs if BASELINE[0] <= r.day <= BASELINE[1]) / 7
    return 1 - window / base


def expected_test_tables(days: int) -> dict[str, dict]:
    """The test tables of the window, worked out from ``result_rows`` by the KPI rules."""
    start = AS_OF - timedelta(days=days - 1)
    prev_start = start - timedelta(days=days)
    rows = [r for r in result_rows() if start <= r.day <= AS_OF]
    prev = [r for r in result_rows() if prev_start <= r.day < start]
    slow, regressions, flaky, modules = {}, {}, {}, {}
    for test_id in {r.test_id for r in rows}:
        ds = [r.duration_s for r in rows if r.test_id == test_id]
        med = statistics.median(ds)
        consistently = len(ds) >= 5 and sum(d > 1.0 for d in ds) >= 0.8 * len(ds)
        if med > 1.0 or consistently:
            slow[test_id] = (len(ds), med, consistently)
        before = [r.duration_s for r in prev if r.test_id == test_id]
        if len(ds) >= 3 and len(before) >= 3:
            prev_med = statistics.median(before)
            if med >= 0.1 and prev_med >= 0.1 and med > 1.5 * prev_med:
                regressions[test_id] = med / prev_med
        shas = sorted(
            sha
            for sha in {r.sha for r in rows if r.test_id == test_id}
            if {r.outcome for r in rows if r.test_id == test_id and r.sha == sha}
            >= {"passed", "failed"}
        )
        if shas:
            flaky[test_id] = shas
    for module in {r.module for r in rows}:
        modules[module] = sum(r.module == module for r in rows)
    return {"slow": slow, "regressions": regressions, "flaky": flaky, "modules": modules}
