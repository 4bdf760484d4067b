"""Read the KPI tables into one plain, JSON-ready dict that every report renders from.

The dashboard, the Markdown and JSON summaries and the terminal view all show the same
numbers, so they share this one reader. Windows longer than the contract's 7 days (30, 90)
are aggregated from the exact sums the per-day KPI tables keep (durations as sum and count,
outcome counts), never by averaging daily averages; percentiles over a window are taken
from the final attempts themselves, because daily percentiles cannot be combined. The test
tables (slow, flaky, module stats, regressions) of each window come from the same SQL files
as the ``kpi.*`` window tables, run over that window's length; ``tests`` at the top level
is ``kpi.*`` as built, for the summaries that show one window. Missing tables read as empty:
a store without test results still renders, with "no data".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from pipelines import settings
from pipelines.store import table_exists
from pipelines.targets import KPI_TARGETS

WINDOWS: tuple[int, ...] = (7, 30, 90)

# kpi name -> (label, unit); unit drives formatting. Targets: pipelines/targets.py.
KPI_META: dict[str, tuple[str, str]] = {
    "pr_validation_avg_s": ("Average PR validation time", "s"),
    "developer_wait_reduction": ("Developer wait reduction", "fraction"),
    "full_suite_p95_s": ("Full test suite p95", "s"),
    "compute_minutes_reduction": ("Compute minutes reduction", "fraction"),
    "run_flakiness_rate": ("Run flakiness rate", "fraction"),
    "test_flakiness_rate": ("Test flakiness rate", "fraction"),
}
# For these KPIs a lower value is better (drives the "better/worse" sense of a change).
LOWER_IS_BETTER = {
    "pr_validation_avg_s",
    "full_suite_p95_s",
    "run_flakiness_rate",
    "test_flakiness_rate",
}


# Final attempt of every run created in [$start, $end]: its workflow, outcome class and
# duration (completed, not excluded), per the KPI contract.
_FINAL_ATTEMPTS = """
WITH touched AS (
    SELECT DISTINCT repo, run_id FROM raw.workflow_runs
    WHERE created_at >= $start::DATE AND created_at < $end::DATE + 1
),
attempts AS (
    SELECT r.*, min(r.created_at) OVER (PARTITION BY r.repo, r.run_id) AS run_created_at
    FROM raw.workflow_runs r
    SEMI JOIN touched t ON t.repo = r.repo AND t.run_id = r.run_id
)
SELECT
    repo, workflow_name, event,
    CASE WHEN status = 'completed' AND conclusion = 'success' THEN 'success'
         WHEN status = 'completed' AND conclusion IN ('failure', 'timed_out', 'startup_failure')
         THEN 'failure' END AS outcome_class,
    CASE WHEN status = 'completed' AND updated_at >= run_started_at
         AND conclusion IN ('success', 'failure', 'timed_out', 'startup_failure')
         THEN date_diff('microsecond', run_started_at, updated_at) / 1e6 END AS duration_s
FROM attempts
WHERE run_created_at >= $start::DATE AND run_created_at < $end::DATE + 1
QUALIFY row_number() OVER (PARTITION BY repo, run_id ORDER BY run_attempt DESC) = 1
"""


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


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or not den else num / den


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


def _status(kpi: str, value: float | None, has_data: bool, needs_baseline: bool) -> str:
    comparator, target = KPI_TARGETS[kpi]
    if needs_baseline and value is None and has_data:
        return "no_baseline"
    if not has_data:
        return "no_data"
    if value is None:
        return "no_baseline"
    ok = value < target if comparator == "<" else value >= target
    return "ok" if ok else "breach"


def _baselines(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[tuple[str, str], float]:
    """Baseline values of the reduction KPIs, as kpi.targets recorded them."""
    if not table_exists(con, "kpi", "targets"):
        return {}
    rows = con.execute(
        "SELECT repo, kpi, arg_max(baseline_value, day) FROM kpi.targets "
        "WHERE day <= ? AND baseline_value IS NOT NULL GROUP BY ALL",
        [as_of],
    ).fetchall()
    return {(repo, kpi): value for repo, kpi, value in rows}


def _window_measures(
    con: duckdb.DuckDBPyConnection, repos: list[str], start: date, end: date
) -> dict[tuple[str, str], tuple[float | None, bool]]:
    """Per (repo, kpi): the window's measure (before any baseline) and whether data exists."""
    out: dict[tuple[str, str], tuple[float | None, bool]] = {}
    n_days = (end - start).days + 1
    span = [start, end]

    def per_repo(sql: str, params: Sequence[Any]) -> dict[str, tuple]:
        return {r[0]: tuple(r[1:]) for r in con.execute(sql, list(params)).fetchall()}

    pr = (
        per_repo(
            "SELECT repo, sum(duration_sum_s), sum(validated_runs) FROM kpi.pr_validation_daily "
            "WHERE day BETWEEN ? AND ? GROUP BY repo",
            span,
        )
        if table_exists(con, "kpi", "pr_validation_daily")
        else {}
    )
    dw = (
        per_repo(
            "SELECT repo, sum(wait_sum_s), sum(commits) FROM kpi.developer_wait "
            "WHERE day BETWEEN ? AND ? GROUP BY repo",
            span,
        )
        if table_exists(con, "kpi", "developer_wait")
        else {}
    )
    cm = (
        per_repo(
            "SELECT repo, sum(compute_minutes), count(*) FROM kpi.workflow_daily "
            "WHERE day BETWEEN ? AND ? GROUP BY repo",
            span,
        )
        if table_exists(con, "kpi", "workflow_daily")
        else {}
    )
    rf = (
        per_repo(
            "SELECT repo, count(*) FILTER (WHERE flaky), count(*) FROM kpi.run_flakiness "
            "WHERE day BETWEEN ? AND ? GROUP BY repo",
            span,
        )
        if table_exists(con, "kpi", "run_flakiness")
        else {}
    )
    fs_sql = (
        f"SELECT repo, quantile_cont(duration_s, 0.95) FROM ({_FINAL_ATTEMPTS}) "
        "WHERE workflow_name = $wf AND outcome_class = 'success' AND duration_s IS NOT NULL "
        "GROUP BY repo"
    )
    fs = {
        r[0]: r[1]
        for r in con.execute(
            fs_sql,
            {"start": start, "end": end, "wf": settings.get(settings.FULL_SUITE_WORKFLOW)},
        ).fetchall()
    }
    tf = (
        per_repo(
            """
            WITH units AS (
                SELECT repo, test_id, head_sha,
                    (bool_or(has_passed) AND bool_or(has_failed)) OR bool_or(has_rerun_then_pass)
                        AS flaky
                FROM kpi.test_units_daily
                WHERE day BETWEEN ? AND ? AND head_sha IS NOT NULL AND repo IS NOT NULL
                GROUP BY ALL
            ),
            tests AS (
                SELECT repo, count(DISTINCT test_id) AS tests FROM kpi.test_units_daily
                WHERE day BETWEEN ? AND ? AND has_non_skipped AND repo IS NOT NULL
                GROUP BY repo
            )
            SELECT t.repo, count(DISTINCT u.test_id) FILTER (WHERE u.flaky), any_value(t.tests)
            FROM tests t LEFT JOIN units u USING (repo)
            GROUP BY t.repo
            """,
            span + span,
        )
        if table_exists(con, "kpi", "test_units_daily")
        else {}
    )
    for repo in repos:
        s, n = pr.get(repo, (None, 0))
        out[(repo, "pr_validation_avg_s")] = (_ratio(s, n), bool(n))
        s, n = dw.get(repo, (None, 0))
        out[(repo, "developer_wait_reduction")] = (_ratio(s, n), bool(n))
        s, n = cm.get(repo, (None, 0))
        out[(repo, "compute_minutes_reduction")] = (
            (float(s) / n_days if n else None),
            bool(n),
        )
        f, n = rf.get(repo, (None, 0))
        out[(repo, "run_flakiness_rate")] = (_ratio(f, n), bool(n))
        p95 = fs.get(repo)
        out[(repo, "full_suite_p95_s")] = (p95, p95 is not None)
        f, n = tf.get(repo, (None, 0))
        out[(repo, "test_flakiness_rate")] = (_ratio(f or 0, n), bool(n))
    return out


def _reduced(measure: float | None, baseline: float | None) -> float | None:
    """A reduction versus the baseline: 1 − window / baseline (null without either)."""
    if measure is None or not baseline:
        return None
    return 1 - measure / baseline


def _kpis(
    con: duckdb.DuckDBPyConnection, repos: list[str], start: date, end: date, as_of: date
) -> list[dict[str, Any]]:
    """KPI cards of one window: value, target, status, and change versus the window before."""
    days = (end - start).days + 1
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=days - 1)
    current = _window_measures(con, repos, start, end)
    previous = _window_measures(con, repos, prev_start, prev_end)
    baselines = _baselines(con, as_of)
    cards = []
    for repo in repos:
        for kpi, (label, unit) in KPI_META.items():
            comparator, target = KPI_TARGETS[kpi]
            needs_baseline = kpi.endswith("_reduction")

            base = baselines.get((repo, kpi)) if needs_baseline else None

            measure, has_data = current[(repo, kpi)]
            prev_measure, prev_has = previous[(repo, kpi)]
            value = _reduced(measure, base) if needs_baseline else measure
            prev_value = None
            if prev_has:
                prev_value = _reduced(prev_measure, base) if needs_baseline else prev_measure
            cards.append(
                {
                    "repo": repo,
                    "kpi": kpi,
                    "label": label,
                    "unit": unit,
                    "comparator": comparator,
                    "target": target,
                    "value": value,
                    "window_value": measure,
                    "baseline_value": baselines.get((repo, kpi)) if needs_baseline else None,
                    "status": _status(kpi, value, has_data, needs_baseline),
                    "previous_value": prev_value,
                    "change": (None if value is None or prev_value is None else value - prev_value),
                    "lower_is_better": kpi in LOWER_IS_BETTER,
                }
            )
    return cards


def _workflows(
    con: duckdb.DuckDBPyConnection, start: date, end: date, multi_repo: bool
) -> list[dict[str, Any]]:
    """The workflow performance table: exact window aggregates, p95 from final attempts."""
    if not table_exists(con, "kpi", "workflow_daily"):
        return []
    days = (end - start).days + 1
    prev_start = start - timedelta(days=days)
    agg = """
        SELECT repo, workflow_name, sum(runs) AS runs, sum(attempts) AS attempts,
            sum(successes) AS successes, sum(failures) AS failures,
            sum(successes) / nullif(sum(successes) + sum(failures), 0) AS success_rate,
            sum(first_attempt_successes) / nullif(
                sum(first_attempt_successes) + sum(first_attempt_failures), 0)
                AS first_attempt_success_rate,
            sum(duration_sum_s) / nullif(sum(duration_count), 0) AS duration_mean_s,
            sum(compute_minutes) AS compute_minutes
        FROM kpi.workflow_daily WHERE day BETWEEN ? AND ? GROUP BY ALL
    """
    cur = _rows(con, agg + " ORDER BY runs DESC, repo, workflow_name", [start, end])
    prev = {
        (r["repo"], r["workflow_name"]): r
        for r in _rows(con, agg, [prev_start, start - timedelta(days=1)])
    }
    pct = {
        (r[0], r[1]): (r[2], r[3])
        for r in con.execute(
            f"SELECT repo, workflow_name, quantile_cont(duration_s, 0.5), "
            f"quantile_cont(duration_s, 0.95) FROM ({_FINAL_ATTEMPTS}) GROUP BY ALL",
            {"start": start, "end": end},
        ).fetchall()
    }
    queue = {
        (r[0], r[1]): r[2]
        for r in con.execute(
            "SELECT repo, workflow_name, avg(date_diff('microsecond', created_at, run_started_at)"
            " / 1e6) FROM raw.workflow_runs WHERE run_attempt = 1 AND status = 'completed' "
            "AND run_started_at >= created_at AND created_at >= ? AND created_at < ? "
            "GROUP BY ALL",
            [start, end + timedelta(days=1)],
        ).fetchall()
    }
    for row in cur:
        key = (row["repo"], row["workflow_name"])
        before = prev.get(key, {})
        row["label"] = _series_label(row["repo"], row["workflow_name"], multi_repo)
        row["duration_p50_s"], row["duration_p95_s"] = pct.get(key, (None, None))
        row["queue_mean_s"] = queue.get(key)
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
    return cur


def _per_workflow_series(
    con: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    days: list[date],
    multi_repo: bool,
) -> list[dict[str, Any]]:
    """One list of values per (repo, workflow), aligned on ``days`` (None where no row)."""
    if not table_exists(con, "kpi", table):
        return []
    index = {d: i for i, d in enumerate(days)}
    series: dict[tuple[str, str], list[float | None]] = {}
    for repo, wf, day, value in con.execute(
        f"SELECT repo, workflow_name, day, {column} FROM kpi.{table} "
        "WHERE day BETWEEN ? AND ? ORDER BY repo, workflow_name, day",
        [days[0], days[-1]],
    ).fetchall():
        values = series.setdefault((repo, wf), [None] * len(days))
        values[index[day]] = value
    return [
        {"repo": r, "workflow": w, "label": _series_label(r, w, multi_repo), "values": v}
        for (r, w), v in series.items()
    ]


def _per_key_series(
    con: duckdb.DuckDBPyConnection, sql: str, days: list[date], fill: float | None
) -> list[dict[str, Any]]:
    """``sql`` returns (key, day, value); one list per key aligned on ``days``."""
    index = {d: i for i, d in enumerate(days)}
    series: dict[str, list[float | None]] = {}
    for key, day, value in con.execute(sql, [days[0], days[-1]]).fetchall():
        values = series.setdefault(str(key), [fill] * len(days))
        values[index[day]] = value
    return [{"label": k, "values": v} for k, v in series.items()]


def _series(
    con: duckdb.DuckDBPyConnection, start: date, end: date, multi_repo: bool
) -> dict[str, Any]:
    days = _days(start, end)
    out: dict[str, Any] = {"days": [d.isoformat() for d in days]}
    out["success_rate_7d"] = _per_workflow_series(
        con, "workflow_trends", "success_rate_7d", days, multi_repo
    )
    out["duration_mean_s"] = _per_workflow_series(
        con, "workflow_daily", "duration_mean_s", days, multi_repo
    )
    out["duration_p95_s"] = _per_workflow_series(
        con, "workflow_daily", "duration_p95_s", days, multi_repo
    )
    out["volume_by_event"] = (
        _per_key_series(
            con,
            "SELECT coalesce(event, '(none)'), day, sum(runs) FROM kpi.workflow_event_daily "
            "WHERE day BETWEEN ? AND ? GROUP BY ALL ORDER BY 1, 2",
            days,
            0,
        )
        if table_exists(con, "kpi", "workflow_event_daily")
        else []
    )
    out["compute_minutes"] = (
        _per_key_series(
            con,
            "SELECT repo, day, sum(compute_minutes) FROM kpi.workflow_daily "
            "WHERE day BETWEEN ? AND ? GROUP BY ALL ORDER BY 1, 2",
            days,
            0,
        )
        if table_exists(con, "kpi", "workflow_daily")
        else []
    )
    pr: list[dict[str, Any]] = []
    if table_exists(con, "kpi", "pr_validation_daily"):
        for s in _per_key_series(
            con,
            "SELECT repo, day, duration_mean_s FROM kpi.pr_validation_daily "
            "WHERE day BETWEEN ? AND ? ORDER BY 1, 2",
            days,
            None,
        ):
            pr.append({**s, "label": f"PR validation · {s['label']}", "kind": "pr_validation"})
    if table_exists(con, "kpi", "developer_wait"):
        for s in _per_key_series(
            con,
            "SELECT repo, day, wait_mean_s FROM kpi.developer_wait "
            "WHERE day BETWEEN ? AND ? ORDER BY 1, 2",
            days,
            None,
        ):
            pr.append({**s, "label": f"Developer wait · {s['label']}", "kind": "developer_wait"})
    out["pr_wait_s"] = pr
    return out


def _kpi_history(
    con: duckdb.DuckDBPyConnection, start: date, end: date
) -> dict[tuple[str, str], list[float | None]]:
    """Daily kpi.targets values (each over its own 7 days) across the window: card trends."""
    if not table_exists(con, "kpi", "targets"):
        return {}
    days = _days(start, end)
    index = {d: i for i, d in enumerate(days)}
    out: dict[tuple[str, str], list[float | None]] = {}
    for repo, kpi, day, value in con.execute(
        "SELECT repo, kpi, day, value FROM kpi.targets WHERE day BETWEEN ? AND ?", [start, end]
    ).fetchall():
        out.setdefault((repo, kpi), [None] * len(days))[index[day]] = value
    return out


def _window(
    con: duckdb.DuckDBPyConnection, repos: list[str], as_of: date, days: int
) -> dict[str, Any]:
    start = as_of - timedelta(days=days - 1)
    multi = len(repos) > 1
    workflows = _workflows(con, start, as_of, multi)
    history = _kpi_history(con, start, as_of)
    kpis = _kpis(con, repos, start, as_of, as_of)
    for card in kpis:
        card["history"] = history.get((card["repo"], card["kpi"]), [])
    return {
        "days": days,
        "start": start.isoformat(),
        "end": as_of.isoformat(),
        "kpis": kpis,
        "workflows": workflows,
        "workflow_regressions": [
            w
            for w in sorted(workflows, key=lambda w: -(w["duration_mean_change"] or 0))
            if (w["duration_mean_change"] or 0) > 0.2
        ],
        "series": _series(con, start, as_of, multi),
        "tests": _window_tests(con, as_of, days),
    }


# The KPI window tables in build order: each reads only raw data and the ones before it.
TEST_TABLES: tuple[str, ...] = (
    "test_flaky_units",
    "test_stats",
    "flaky_tests",
    "slow_tests",
    "module_stats",
)
_COMMENT = re.compile(r"--[^\n]*")


# The ones the reports show; test_flaky_units (a row per test and commit, over a million
# in a busy quarter) only feeds them and stays in DuckDB.
SHOWN_TEST_TABLES: tuple[str, ...] = TEST_TABLES[1:]


def window_test_tables(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    days: int,
    *,
    fetch: Sequence[str] = SHOWN_TEST_TABLES,
) -> dict[str, list[dict[str, Any]]]:
    """The test window tables named in ``fetch``, for the ``days`` days ending ``as_of``,
    as rows.

    Each table's own SQL file runs once, in build order, into a temporary table
    (allowed on the report's read-only connection), with the ``kpi.*`` tables it
    reads pointed at the temporary ones built before it: one set of rules, and
    for ``days`` = 7 exactly the rows of the ``kpi.*`` tables built for ``as_of``.
    """
    from assets.kpi import bind_params, load_sql  # the Dagster definitions load only when needed

    params = {"as_of": as_of, "window_days": days}
    tables: dict[str, list[dict[str, Any]]] = {}
    try:
        for i, table in enumerate(TEST_TABLES):
            sql = _COMMENT.sub("", load_sql(table))
            for dep in TEST_TABLES[:i]:
                sql = re.sub(rf"\bkpi\.{dep}\b", f"window_{dep}", sql)
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE window_{table} AS {sql}", bind_params(sql, params)
            )
            if table in fetch:
                tables[table] = _rows(con, f"SELECT * FROM window_{table}")
    finally:
        for table in TEST_TABLES:
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


def _checks(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The data-quality rules of the asset checks, evaluated on the store as it is now."""
    from assets.kpi_checks import QUALITY_RULES

    out = []
    for rule in QUALITY_RULES:
        (violations,) = con.execute(f"SELECT count(*) FROM ({rule.sql})").fetchone()
        out.append(
            {
                "asset": rule.asset.to_user_string(),
                "check": rule.name,
                "description": rule.description,
                "violations": int(violations),
                "passed": violations == 0,
            }
        )
    return out


def load_report(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: date | None = None,
    windows: Sequence[int] = WINDOWS,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything the reports show, for each window ending ``as_of`` (default: the last KPI
    day), as plain JSON-ready values."""
    as_of = as_of or default_as_of(con)
    repos = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT repo FROM raw.workflow_runs WHERE repo IS NOT NULL "
            "UNION SELECT DISTINCT repo FROM raw.test_results WHERE repo IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    return {
        "generated_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "as_of": as_of.isoformat(),
        "repos": repos,
        "full_suite_workflow": settings.get(settings.FULL_SUITE_WORKFLOW),
        "windows": {str(w): _window(con, repos, as_of, w) for w in windows},
        "tests": _tests(con),
        "freshness": _freshness(con, as_of),
        "checks": _checks(con),
    }
