"""Everything the reports show, as one plain, JSON-ready dict every report renders from.

The dashboard, the Markdown and JSON summaries and the terminal view all show the same
numbers, so they share this one reader, and it computes nothing itself: every KPI, rate,
duration and series comes from the KPI layer (:mod:`pipelines.kpi.query`) for the report's
filter and windows, the same function ``kpi.targets`` is written from. The test tables
(slow, flaky, module stats, regressions) of each window come from the SQL of the ``kpi.*``
window tables, run over that window's length; ``tests`` at the top level is ``kpi.*`` as
built. Missing tables read as empty: a store without test results still renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

import duckdb

from pipelines import store
from pipelines.kpi import formatting, query, sqlfiles
from pipelines.kpi.build import WINDOW_TABLES, window_sql
from pipelines.kpi.catalogue import KPIS, MEASURES, REPORT_WINDOWS, TARGET_WINDOW_DAYS
from pipelines.kpi.config import DEFAULT_CONFIG, KpiConfig
from pipelines.kpi.filters import ALL_RUNS, Filters, Period, Windows
from pipelines.links import repo_url, web_url
from pipelines.store import table_exists

WINDOWS: tuple[int, ...] = REPORT_WINDOWS


def _rows(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict | None = None
) -> list[dict[str, Any]]:
    cur = con.execute(sql, params if params is not None else [])
    cols = [d[0] for d in cur.description]
    return [{c: _plain(v) for c, v in zip(cols, row, strict=True)} for row in cur.fetchall()]


def _plain(value: Any) -> Any:
    """JSON-ready: dates as ISO strings, lists element-wise, Decimals as floats."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is not None and type(value).__name__ == "Decimal":
        return float(value)
    return value


def default_as_of(con: duckdb.DuckDBPyConnection) -> date:
    """The last day the KPI tables cover (else yesterday, UTC): the end of every window."""
    for table in ("targets", "workflow_daily"):
        if table_exists(con, "kpi", table):
            day = con.execute(f"SELECT max(day) FROM kpi.{table}").fetchone()[0]
            if day is not None:
                return day
    return (datetime.now(UTC) - timedelta(days=1)).date()


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _series_label(repo: str, workflow: str | None, multi_repo: bool) -> str:
    name = workflow if workflow is not None else "(unnamed)"
    return f"{repo} · {name}" if multi_repo else name


def _kpis(
    con: duckdb.DuckDBPyConnection,
    repos: list[str],
    period: Period,
    filters: Filters,
    config: KpiConfig,
) -> list[dict[str, Any]]:
    """KPI cards of one window: value, target, status, change versus the window before, and
    the daily trend of the KPI over its own 7 days."""
    current = query.kpis(con, repos, filters, period, config=config)
    previous = query.kpis(con, repos, filters, period.previous(), config=config)
    windows = Windows.each_day(period, TARGET_WINDOW_DAYS)
    history = query.kpi_series(con, repos, windows, filters, config=config)
    days = period.day_list()
    cards = []
    for repo in repos:
        for name, kpi in KPIS.items():
            now, before = current[repo][name], previous[repo][name]
            prev_value = before.value if before.window_value is not None else None
            cards.append(
                {
                    "repo": repo,
                    "kpi": name,
                    "label": kpi.label,
                    "unit": kpi.unit,
                    "comparator": kpi.comparator,
                    "target": kpi.target,
                    "value": now.value,
                    "window_value": now.window_value,
                    "baseline_value": now.baseline_value,
                    "reduction": kpi.reduction,
                    # a reduction without a baseline shows what the window measured, in
                    # the measure's own unit
                    "measured": formatting.shows_measured(kpi, now.value, now.window_value),
                    "measured_target": formatting.measured_target(kpi),
                    "measure_label": MEASURES[kpi.measure].label,
                    "measure_unit": MEASURES[kpi.measure].unit,
                    "status": now.status,
                    "previous_value": prev_value,
                    "change": (
                        None if now.value is None or prev_value is None else now.value - prev_value
                    ),
                    "lower_is_better": kpi.lower_is_better,
                    "history": [history[(repo, d)][name].value for d in days],
                }
            )
    return cards


_WORKFLOW_MEASURES = (
    "runs",
    "attempts",
    "successes",
    "failures",
    "success_rate",
    "first_attempt_success_rate",
    "duration_mean_s",
    "compute_minutes",
    "duration_p50_s",
    "duration_p95_s",
    "queue_mean_s",
)


def _workflows(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    filters: Filters,
    config: KpiConfig,
    multi_repo: bool,
) -> list[dict[str, Any]]:
    """The workflow performance table over the window, with the change versus the one
    before."""

    def per_workflow(p: Period) -> dict[tuple[str, str | None], dict[str, Any]]:
        got = query.values(con, _WORKFLOW_MEASURES, filters, p, by=["workflow"], config=config)
        return {(repo, wf): v for (repo, wf, _), v in got.items()}

    cur, prev = per_workflow(period), per_workflow(period.previous())
    rows = []
    for (repo, wf), v in sorted(
        cur.items(), key=lambda kv: (-kv[1]["runs"], kv[0][0], kv[0][1] or "")
    ):
        before = prev.get((repo, wf), {})
        row = {"repo": repo, "workflow_name": wf, **{m: v.get(m) for m in _WORKFLOW_MEASURES}}
        row["label"] = _series_label(repo, wf, multi_repo)
        row["success_rate_prev"] = before.get("success_rate")
        row["duration_mean_prev_s"] = before.get("duration_mean_s")
        row["success_rate_change"] = (
            None
            if row["success_rate"] is None or before.get("success_rate") is None
            else row["success_rate"] - before["success_rate"]
        )
        row["duration_mean_change"] = (
            None
            if row["duration_mean_s"] is None or not before.get("duration_mean_s")
            else row["duration_mean_s"] / before["duration_mean_s"] - 1
        )
        rows.append(row)
    return rows


def _aligned(
    got: dict[tuple[str, str | None, str | None, date], dict[str, Any]],
    measure: str,
    days: list[date],
    key: Any,
    fill: float | None,
) -> dict[Any, list[float | None]]:
    """Series of ``measure`` per ``key(repo, workflow, event)``, one value per day."""
    index = {d: i for i, d in enumerate(days)}
    out: dict[Any, list[float | None]] = {}
    for (repo, wf, event, day), v in sorted(
        got.items(), key=lambda kv: tuple("" if x is None else str(x) for x in kv[0])
    ):
        values = out.setdefault(key(repo, wf, event), [fill] * len(days))
        if v.get(measure) is not None:
            values[index[day]] = v[measure]
    return out


def _series(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    filters: Filters,
    config: KpiConfig,
    multi_repo: bool,
) -> dict[str, Any]:
    """The charts: per-day values (windows of one day) and the 7-day success rate."""
    days = period.day_list()

    def daily(measures: Sequence[str], by: Sequence[str] = (), window_days: int = 1) -> dict:
        windows = Windows.each_day(period, window_days)
        return query.series(con, measures, filters, windows, by=by, config=config)

    def per_workflow(got: dict, measure: str) -> list[dict[str, Any]]:
        return [
            {"repo": r, "workflow": w, "label": _series_label(r, w, multi_repo), "values": v}
            for (r, w), v in _aligned(got, measure, days, lambda r, w, e: (r, w), None).items()
        ]

    def per_key(got: dict, measure: str, key: Any, fill: float | None) -> list[dict[str, Any]]:
        return [
            {"label": k, "values": v} for k, v in _aligned(got, measure, days, key, fill).items()
        ]

    by_wf = daily(["duration_mean_s", "duration_p95_s"], ["workflow"])
    out: dict[str, Any] = {"days": [d.isoformat() for d in days]}
    rolling = daily(["success_rate"], ["workflow"], TARGET_WINDOW_DAYS)
    out["success_rate_7d"] = per_workflow(rolling, "success_rate")
    out["duration_mean_s"] = per_workflow(by_wf, "duration_mean_s")
    out["duration_p95_s"] = per_workflow(by_wf, "duration_p95_s")
    # run volume per event, the repos added up
    index = {d: i for i, d in enumerate(days)}
    volume: dict[str, list[float]] = {}
    for (_, _, event, day), v in daily(["runs"], ["event"]).items():
        label = "(none)" if event is None else event
        volume.setdefault(label, [0] * len(days))[index[day]] += v["runs"]
    out["volume_by_event"] = [{"label": k, "values": v} for k, v in sorted(volume.items())]
    per_repo = daily(["compute_minutes", "pr_validation_avg_s", "developer_wait_mean_s"])
    out["compute_minutes"] = per_key(per_repo, "compute_minutes", lambda r, w, e: r, 0)
    pr = [
        {**s, "label": f"PR validation · {s['label']}", "kind": "pr_validation"}
        for s in per_key(per_repo, "pr_validation_avg_s", lambda r, w, e: r, None)
        if any(v is not None for v in s["values"])
    ]
    pr += [
        {**s, "label": f"Developer wait · {s['label']}", "kind": "developer_wait"}
        for s in per_key(per_repo, "developer_wait_mean_s", lambda r, w, e: r, None)
        if any(v is not None for v in s["values"])
    ]
    out["pr_wait_s"] = pr
    return out


# The per-(workflow, day) sums the dashboard's workflow filter adds up in the browser: the
# measures of kpi.workflow_daily that are sums over runs (percentiles cannot be re-summed).
DAILY_SUMS: tuple[str, ...] = (
    "runs",
    "failures",
    "compute_minutes",
    "duration_sum_s",
    "duration_count",
)


def _workflow_daily(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    filters: Filters,
    config: KpiConfig,
    multi_repo: bool,
) -> dict[str, Any]:
    """``DAILY_SUMS`` and runs per event for each (workflow, day) of ``period``: the rows of
    ``kpi.workflow_daily`` and ``kpi.workflow_event_daily`` (the same query), for the
    report's filter, as one series per workflow."""
    days = period.day_list()
    index = {d: i for i, d in enumerate(days)}
    windows = Windows.each_day(period)
    sums = query.series(con, DAILY_SUMS, filters, windows, by=["workflow"], config=config)
    by_event = query.series(
        con, ["runs"], filters, windows, by=["workflow", "event"], config=config
    )
    out: dict[tuple[str, str | None], dict[str, Any]] = {}

    def entry(repo: str, wf: str | None) -> dict[str, Any]:
        if (repo, wf) not in out:
            out[(repo, wf)] = {
                "repo": repo,
                "workflow": wf,
                "label": _series_label(repo, wf, multi_repo),
                **{m: [0] * len(days) for m in DAILY_SUMS},
                "events": {},
            }
        return out[(repo, wf)]

    for (repo, wf, _, day), v in sums.items():
        row = entry(repo, wf)
        for m in DAILY_SUMS:
            row[m][index[day]] = v.get(m) or 0
    for (repo, wf, event, day), v in by_event.items():
        events = entry(repo, wf)["events"]
        label = "(none)" if event is None else event
        events.setdefault(label, [0] * len(days))[index[day]] += v.get("runs") or 0
    return {
        "days": [d.isoformat() for d in days],
        "workflows": [out[k] for k in sorted(out, key=lambda k: (k[0], k[1] or ""))],
    }


def _failed_runs(
    con: duckdb.DuckDBPyConnection, period: Period, filters: Filters, limit: int = 15
) -> list[dict[str, Any]]:
    """The newest runs of the window whose final attempt failed, with their GitHub links."""
    if not table_exists(con, "kpi", "run_facts"):
        return []
    facts = sqlfiles.load("filter").replace("{facts}", "kpi.run_facts")
    own = resources.files("reports").joinpath("sql", "failed_runs.sql").read_text()
    sql = f"WITH runs_f AS ({facts}) SELECT * FROM ({own.strip().rstrip(';')})"
    params = {
        **filters.sql_params(),
        "start_day": period.start,
        "end_day": period.end,
        "limit": limit,
    }
    return _rows(con, sql, sqlfiles.bind(sql, params))


def _window(
    con: duckdb.DuckDBPyConnection,
    repos: list[str],
    as_of: date,
    days: int,
    filters: Filters,
    config: KpiConfig,
) -> dict[str, Any]:
    period = Period.ending(as_of, days)
    multi = len(repos) > 1
    workflows = _workflows(con, period, filters, config, multi)
    return {
        "days": days,
        "start": period.start.isoformat(),
        "end": as_of.isoformat(),
        "kpis": _kpis(con, repos, period, filters, config),
        "workflows": workflows,
        "workflow_regressions": [
            w
            for w in sorted(workflows, key=lambda w: -(w["duration_mean_change"] or 0))
            if (w["duration_mean_change"] or 0) > 0.2
        ],
        "series": _series(con, period, filters, config, multi),
        "failed_runs": _failed_runs(con, period, filters),
        "tests": _window_tests(con, as_of, days),
    }


# The ones the reports show; test_flaky_units (a row per test and commit, over a million
# in a busy quarter) only feeds them and stays in DuckDB.
SHOWN_TEST_TABLES: tuple[str, ...] = WINDOW_TABLES[1:]
TEST_TABLES = WINDOW_TABLES


def window_test_tables(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    days: int,
    *,
    fetch: Sequence[str] = SHOWN_TEST_TABLES,
) -> dict[str, list[dict[str, Any]]]:
    """The test window tables named in ``fetch``, for the ``days`` days ending ``as_of``,
    as rows: the SQL of the ``kpi.*`` window tables, run over that window, each table once
    into a temporary table (allowed on the report's read-only connection) that the ones
    after it read."""
    params = {"as_of": as_of, "window_days": days}
    tables: dict[str, list[dict[str, Any]]] = {}
    # per-test percentiles hold every duration of the window and cannot spill: on one
    # thread they fit the report's limit (two threads failed now and then)
    try:
        with store.one_thread(con):
            for table in WINDOW_TABLES:
                sql = window_sql(table, lambda name: f"SELECT * FROM temp.window_{name}")
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE window_{table} AS {sql}",
                    sqlfiles.bind(sql, params),
                )
                if table in fetch:
                    tables[table] = _rows(con, f"SELECT * FROM window_{table}")
    finally:
        for table in WINDOW_TABLES:
            con.execute(f"DROP TABLE IF EXISTS temp.window_{table}")
    return tables


def _window_tests(con: duckdb.DuckDBPyConnection, as_of: date, days: int) -> dict[str, Any]:
    """The test tables of one window, computed from raw.test_results like kpi.* is."""
    t = window_test_tables(con, as_of, days)
    stats = t["test_stats"]
    start = (as_of - timedelta(days=days - 1)).isoformat()
    slow_cols = (
        "repo test_id module executions median_duration_s p95_duration_s consistently_slow "
        "executions_over_1s window_start as_of"
    ).split()
    flaky_cols = (
        "repo test_id flaky_units last_seen_sha last_seen_at head_shas run_ids window_start as_of"
    ).split()
    module_cols = (
        "repo module tests executions total_duration_s mean_duration_s failures failure_rate "
        "window_start as_of"
    ).split()
    reg_cols = "repo test_id module median_duration_s prev_median_duration_s".split()
    regressions = [
        {
            **{c: r[c] for c in reg_cols},
            "ratio": r["median_duration_s"] / r["prev_median_duration_s"],
            "window_start": r["window_start"],
            "as_of": r["as_of"],
        }
        for r in stats
        if r["duration_regression"]
    ]

    def nulls_last(value: float | None) -> tuple[bool, float]:
        return (value is None, -(value or 0.0))

    return {
        "tests": len(stats),
        "executions": sum(r["executions"] for r in stats),
        "window_start": start if stats else None,
        "as_of": as_of.isoformat() if stats else None,
        "slow": sorted(
            ({c: r[c] for c in slow_cols} for r in t["slow_tests"]),
            key=lambda r: (
                not r["consistently_slow"],
                *nulls_last(r["median_duration_s"]),
                r["repo"] or "",
                r["test_id"],
            ),
        ),
        "flaky": sorted(
            ({c: r[c] for c in flaky_cols} for r in t["flaky_tests"]),
            key=lambda r: (-r["flaky_units"], r["repo"] or "", r["test_id"]),
        ),
        "modules": sorted(
            ({c: r[c] for c in module_cols} for r in t["module_stats"]),
            key=lambda r: (-r["total_duration_s"], r["repo"] or "", r["module"] or ""),
        ),
        "regressions": sorted(
            regressions, key=lambda r: (-r["ratio"], r["repo"] or "", r["test_id"])
        ),
    }


def _window_table(con: duckdb.DuckDBPyConnection, table: str, sql: str) -> list[dict[str, Any]]:
    return _rows(con, sql) if table_exists(con, "kpi", table) else []


def _tests(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The test tables as built (their own 7-day window)."""
    slow = _window_table(
        con,
        "slow_tests",
        "SELECT repo, test_id, module, executions, median_duration_s, p95_duration_s, "
        "consistently_slow, executions_over_1s, window_start, as_of FROM kpi.slow_tests "
        "ORDER BY consistently_slow DESC, median_duration_s DESC NULLS LAST, repo, test_id",
    )
    flaky = _window_table(
        con,
        "flaky_tests",
        "SELECT repo, test_id, flaky_units, last_seen_sha, last_seen_at, head_shas, run_ids, "
        "window_start, as_of FROM kpi.flaky_tests ORDER BY flaky_units DESC, repo, test_id",
    )
    modules = _window_table(
        con,
        "module_stats",
        "SELECT repo, module, tests, executions, total_duration_s, mean_duration_s, failures, "
        "failure_rate, window_start, as_of FROM kpi.module_stats "
        "ORDER BY total_duration_s DESC, repo, module",
    )
    regressions = _window_table(
        con,
        "test_stats",
        "SELECT repo, test_id, module, median_duration_s, prev_median_duration_s, "
        "median_duration_s / prev_median_duration_s AS ratio, window_start, as_of "
        "FROM kpi.test_stats WHERE duration_regression ORDER BY ratio DESC, repo, test_id",
    )
    totals = (
        _rows(
            con,
            "SELECT count(*) AS tests, coalesce(sum(executions), 0) AS executions, "
            "min(window_start) AS window_start, max(as_of) AS as_of FROM kpi.test_stats",
        )[0]
        if table_exists(con, "kpi", "test_stats")
        else {"tests": 0, "executions": 0, "window_start": None, "as_of": None}
    )
    return {
        **totals,
        "slow": slow,
        "flaky": flaky,
        "modules": modules,
        "regressions": regressions,
    }


def _freshness(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, Any]:
    """When data was last extracted and which days the store and the KPI tables cover."""
    raw = _rows(
        con,
        "SELECT max(extracted_at) AS last_extracted_at, min(created_at)::DATE AS first_day, "
        "max(created_at)::DATE AS last_day, count(DISTINCT created_at::DATE) AS days_with_runs "
        "FROM raw.workflow_runs",
    )[0]
    tests = _rows(
        con,
        "SELECT max(ingested_at) AS last_ingested_at, min(day) AS first_day, "
        "max(day) AS last_day FROM raw.test_results",
    )[0]
    kpi = {}
    for table in ("workflow_daily", "targets"):
        if table_exists(con, "kpi", table):
            kpi[table] = _rows(
                con,
                f"SELECT min(day) AS first_day, max(day) AS last_day, "
                f"count(DISTINCT day) AS days FROM kpi.{table}",
            )[0]
    missing: list[str] = []
    if raw["first_day"]:
        have = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT created_at::DATE FROM raw.workflow_runs"
            ).fetchall()
        }
        first = date.fromisoformat(raw["first_day"])
        missing = [d.isoformat() for d in _days(first, as_of) if d not in have]
    return {"runs": raw, "tests": tests, "kpi": kpi, "days_without_runs": missing}


def _github(con: duckdb.DuckDBPyConnection, repos: list[str]) -> dict[str, Any]:
    """Each repository's web page (as GitHub gave it, else github.com's address) and the
    GitHub page of every stored run (its last attempt's ``html_url``), http(s) only."""
    stored: dict[str, Any] = {}
    if table_exists(con, "raw", "repositories"):
        stored = dict(con.execute("SELECT repo, html_url FROM raw.repositories").fetchall())
    runs = con.execute(
        "SELECT repo, run_id, html_url FROM raw.workflow_runs WHERE html_url IS NOT NULL "
        "QUALIFY row_number() OVER (PARTITION BY repo, run_id ORDER BY run_attempt DESC) = 1"
    ).fetchall()
    return {
        "repo_urls": {r: repo_url(r, stored.get(r)) for r in repos},
        "run_urls": {f"{r}#{i}": web_url(u) for r, i, u in runs if web_url(u)},
    }


def _utc_iso(now: datetime | None) -> str:
    """``now`` (naive is UTC) as UTC ISO text, to the second."""
    moment = now or datetime.now(UTC)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")


# DuckDB memory per raw test row of the widest window and the window before it (test_stats
# compares the two) that the per-test percentiles hold at once: they cannot spill. On a
# year-scale store (21 million such rows for 90 days) they fail at 12 bytes a row and
# succeed at 24.
TEST_ROW_BYTES = 32


def memory_for_tests(
    con: duckdb.DuckDBPyConnection,
    floor_mb: int,
    as_of: date | None = None,
    windows: Sequence[int] = WINDOWS,
) -> str:
    """The DuckDB memory limit :func:`load_report` needs: ``floor_mb``, or more where the
    per-test percentiles of its widest window hold more rows (``TEST_ROW_BYTES`` each). So a
    report's memory follows the rows its windows read, not the store's whole history."""
    if not table_exists(con, "raw", "test_results"):
        return f"{floor_mb}MB"
    end = as_of or default_as_of(con)
    days = max(windows)
    (rows,) = con.execute(
        "SELECT count(*) FROM raw.test_results WHERE day BETWEEN ? AND ?",
        [end - timedelta(days=2 * days - 1), end],
    ).fetchone()
    return f"{max(floor_mb, -(-rows * TEST_ROW_BYTES // 2**20))}MB"


def load_report(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: date | None = None,
    windows: Sequence[int] = WINDOWS,
    now: datetime | None = None,
    filters: Filters = ALL_RUNS,
    config: KpiConfig = DEFAULT_CONFIG,
    checks: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Everything the reports show, for each window ending ``as_of`` (default: the last KPI
    day), as plain JSON-ready values."""
    as_of = as_of or default_as_of(con)
    repos = query.known_repos(con, filters)
    multi = len(repos) > 1
    shown = {str(w): _window(con, repos, as_of, w, filters, config) for w in windows}
    freshness = _freshness(con, as_of)
    for window in shown.values():
        # is there an earlier window to compare with at all
        first_run, first_test = freshness["runs"]["first_day"], freshness["tests"]["first_day"]
        window["earlier_runs"] = bool(first_run and first_run < window["start"])
        window["earlier_tests"] = bool(first_test and first_test < window["start"])
    return {
        "generated_at": _utc_iso(now),
        "as_of": as_of.isoformat(),
        "repos": repos,
        "full_suite_workflow": config.full_suite_workflow,
        "filters": {
            "repo": list(filters.repos),
            "workflow": list(filters.workflows),
            "branch": list(filters.branches),
            "event": list(filters.events),
        },
        "windows": shown,
        "workflow_daily": _workflow_daily(
            con, Period.ending(as_of, max(windows)), filters, config, multi
        ),
        "github": _github(con, repos),
        "tests": _tests(con),
        "freshness": freshness,
        # the latest evaluation of each check, as the Dagster instance recorded it
        "checks": list(checks),
    }
