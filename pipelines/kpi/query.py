"""The one way to compute a measure or a KPI: for any filter, any period, or a series of
windows (one ending on each day of a range).

Each measure's SQL file reads the filtered facts (``runs_f``: ``kpi.run_facts``,
``tests_f``: ``kpi.test_units_daily``) and the ``windows`` relation; this module binds the
filter, the windows and the configuration, runs only the files the asked measures need,
and joins their rows per (repo, workflow, event, window end). ``kpi.targets``, the per-day
tables, the reports, the checks and the explorer all call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from pipelines.kpi import facts, sqlfiles
from pipelines.kpi.catalogue import KPIS, MEASURES, PR_EVENTS, UNITS, Kpi, Status
from pipelines.kpi.config import DEFAULT_CONFIG, KpiConfig
from pipelines.kpi.filters import ALL_RUNS, Filters, Period, Windows
from pipelines.store import table_exists

Key = tuple[str, str | None, str | None]  # repo, workflow_name, event
FACTS = {"runs_f": "run_facts", "run_days_f": "run_daily", "tests_f": "test_units_daily"}
# The facts a measure file reads, when not runs_f.
_FILE_FACTS = {"runs": "run_days_f", "test_flakiness": "tests_f"}
_RUN_WINDOW_FILES = {"run_percentiles", "full_suite"}


def keeps_units_whole(units: str, filters: Filters) -> bool:
    """Whether ``filters`` selects every run of each unit of the repositories it selects, so
    its units are the stored ones (forming them again from the filtered runs gives the same
    rows). Run flakiness units are whole under a repository filter alone; developer wait
    units, made of PR runs only, also under any branch filter that keeps pull requests and
    any event filter that keeps both PR events."""
    if filters.workflows:
        return False
    if units == "run_flakiness_units":
        return not (filters.branches or filters.events)
    keeps_events = not filters.events or set(PR_EVENTS) <= set(filters.events)
    return keeps_events and (not filters.branches or "pr" in filters.branches)


def _facts_cte(con: duckdb.DuckDBPyConnection, alias: str) -> str | None:
    table = FACTS[alias]
    if not facts.ready(con, table):
        return None
    return sqlfiles.load("filter").replace("{facts}", f"kpi.{table}")


def _stored(con: duckdb.DuckDBPyConnection, units: str, filters: Filters) -> bool:
    """Whether ``units`` are read as stored (:func:`keeps_units_whole`, and the store holds
    them as this version writes them) rather than formed from the filtered runs."""
    return keeps_units_whole(units, filters) and facts.ready(con, units)


def _compose(
    con: duckdb.DuckDBPyConnection,
    file: str,
    single: bool,
    stored: bool,
    columns: Sequence[str],
) -> str | None:
    """The file's query with its CTEs (windows, the filtered facts, its units if any: the
    stored ones when ``stored``, else formed from the runs), giving the key and ``columns``
    alone: what no one asked for is not computed."""
    alias = _FILE_FACTS.get(file, "runs_f")
    rows = _facts_cte(con, alias)
    if rows is None:
        return None
    ctes = [f"windows AS ({sqlfiles.load('windows')})", f"{alias} AS NOT MATERIALIZED ({rows})"]
    if file in UNITS:
        units = UNITS[file]
        # stored: a few rows to read instead of grouping every run of the span
        source = sqlfiles.load("stored_units").replace("{units}", f"kpi.{units}")
        ctes.append(f"{units} AS ({source if stored else sqlfiles.load(units)})")
    if file in _RUN_WINDOW_FILES:
        # one window selects its runs; a series of windows joins them on the windows' days
        runs = "run_windows_single" if single else "run_windows_rolling"
        ctes.append(f"run_windows AS ({sqlfiles.load(runs)})")
    if alias == "tests_f":
        # one window counts its tests directly; a series of windows by intervals
        counts = "test_counts_window" if single else "test_counts_rolling"
        ctes.append(f"test_rows AS ({sqlfiles.load('test_rows')})")
        ctes.append(f"test_counts AS ({sqlfiles.load(counts)})")
        ctes.append(f"test_flakiness_units AS ({sqlfiles.load('test_flakiness_units')})")
    selected = ", ".join(["repo", "workflow_name", "event", "window_end", *columns])
    return f"WITH {', '.join(ctes)} SELECT {selected} FROM ({sqlfiles.load(file)})"


def _unit_bounds(con: duckdb.DuckDBPyConnection, span_start: date, span_end: date) -> dict:
    """The days within which every run of a unit starting in the span lies: the outer
    bounds of the spans (``kpi.sha_spans``) of the commits whose runs meet it."""
    lo = hi = None
    if table_exists(con, "kpi", "sha_spans"):
        lo, hi = con.execute(
            "SELECT min(first_day), max(last_day) FROM kpi.sha_spans "
            "WHERE last_day >= ? AND first_day <= ?",
            [span_start, span_end],
        ).fetchone()
    else:  # a store built before the spans existed: read the whole history
        lo, hi = date.min, date.max
    return {"units_lo": lo or span_start, "units_hi": hi or span_end}


def _params(
    filters: Filters, windows: Windows, by: Sequence[str], config: KpiConfig
) -> dict[str, Any]:
    return {
        **filters.sql_params(),
        "first_end": windows.first_end,
        "last_end": windows.last_end,
        "window_days": windows.days,
        "span_start": windows.span.start,
        "span_end": windows.span.end,
        "by_workflow": "workflow" in by,
        "by_event": "event" in by,
        "full_suite_workflow": config.full_suite_workflow,
    }


def units_query(
    con: duckdb.DuckDBPyConnection,
    name: str,
    period: Period,
    filters: Filters = ALL_RUNS,
) -> tuple[str, dict[str, Any]] | None:
    """The query (and its parameters) of the units a measure forms
    (``developer_wait_units``, ``run_flakiness_units``) whose first run falls in
    ``period``, over the filtered runs; None before any run facts exist."""
    if name not in UNITS.values():
        raise KeyError(f"unknown units {name!r}")
    facts = _facts_cte(con, "runs_f")
    if facts is None:
        return None
    sql = f"WITH runs_f AS NOT MATERIALIZED ({facts}) SELECT * FROM ({sqlfiles.load(name)})"
    params = {
        **filters.sql_params(),
        "span_start": period.start,
        "span_end": period.end,
        **_unit_bounds(con, period.start, period.end),
    }
    return sql, sqlfiles.bind(sql, params)


def test_ctes(
    con: duckdb.DuckDBPyConnection, filters: Filters, period: Period, *, dimensions: bool = True
) -> tuple[list[str], dict[str, Any]] | None:
    """CTEs a listing of test rows reads, and their parameters: ``test_rows_f``, every
    ``raw.test_results`` row of ``period`` the filter selects (with the dimensions
    ``kpi.test_units_daily`` has), ``tests_f``, the filtered test facts (those rows counted
    per unit and day), and ``test_flakiness_units``, the period's test flakiness units over
    them (one window: the very units test flakiness counts).
    ``dimensions=False``: the listing does not show the run dimensions, so they are only
    read when the filter selects by them. None before the test facts exist."""
    if not (facts.ready(con, "test_units_daily") and facts.ready(con, "run_facts")):
        return None
    by_run = filters.workflows or filters.branches or filters.events
    source = "test_result_dims" if dimensions or by_run else "test_result_rows"
    rows = sqlfiles.load("filter").replace("{facts}", "test_result_dims")
    ctes = [
        f"test_result_dims AS NOT MATERIALIZED ({sqlfiles.load(source)})",
        f"test_rows_f AS NOT MATERIALIZED ({rows})",
        f"windows AS ({sqlfiles.load('windows')})",
        f"tests_f AS NOT MATERIALIZED ({_facts_cte(con, 'tests_f')})",
        f"test_rows AS ({sqlfiles.load('test_rows')})",
        f"test_flakiness_units AS ({sqlfiles.load('test_flakiness_units')})",
    ]
    params = {
        **_params(filters, Windows.single(period), (), DEFAULT_CONFIG),
        "start_day": period.start,
        "end_day": period.end,
    }
    return ctes, params


def series(
    con: duckdb.DuckDBPyConnection,
    measures: Iterable[str],
    filters: Filters,
    windows: Windows,
    *,
    by: Sequence[str] = (),
    config: KpiConfig = DEFAULT_CONFIG,
) -> dict[tuple[str, str | None, str | None, date], dict[str, Any]]:
    """``measures`` per (repo, workflow, event, window end) for each of ``windows``.

    ``by`` adds ``workflow`` and/or ``event`` to the repo in the key (the other stays None).
    A key without data in a window has no entry.
    """
    wanted = list(dict.fromkeys(measures))
    for name in wanted:
        m = MEASURES.get(name)
        if m is None:
            raise KeyError(f"unknown measure {name!r}")
        if ("workflow" in by and not m.by_workflow) or ("event" in by and not m.by_event):
            raise ValueError(f"measure {name!r} is not broken down by {'/'.join(by)}")
    files = dict.fromkeys(MEASURES[n].sql for n in wanted)
    params = _params(filters, windows, by, config)
    stored = {f for f in files if f in UNITS and _stored(con, UNITS[f], filters)}
    if any(f in UNITS and f not in stored for f in files):  # units formed from the runs
        params.update(_unit_bounds(con, params["span_start"], params["span_end"]))
    out: dict[tuple[str, str | None, str | None, date], dict[str, Any]] = {}
    for file in files:
        columns = [n for n in wanted if MEASURES[n].sql == file]
        single = windows.first_end == windows.last_end
        sql = _compose(con, file, single, file in stored, columns)
        if sql is None:
            continue
        for row in con.execute(sql, sqlfiles.bind(sql, params)).fetchall():
            values = out.setdefault((row[0], row[1], row[2], row[3]), {})
            values.update(zip(columns, row[4:], strict=True))
    return out


def values(
    con: duckdb.DuckDBPyConnection,
    measures: Iterable[str],
    filters: Filters = ALL_RUNS,
    period: Period | None = None,
    *,
    by: Sequence[str] = (),
    config: KpiConfig = DEFAULT_CONFIG,
) -> dict[Key, dict[str, Any]]:
    """``measures`` per (repo, workflow, event) over ``period``."""
    if period is None:
        raise ValueError("a period is needed")
    rows = series(con, measures, filters, Windows.single(period), by=by, config=config)
    return {(r, w, e): v for (r, w, e, _), v in rows.items()}


@dataclass(frozen=True)
class KpiValue:
    """One KPI of one repo over one window: the row of ``kpi.targets`` and every card."""

    kpi: Kpi
    value: float | None
    window_value: float | None
    baseline_value: float | None
    status: Status

    def as_dict(self) -> dict[str, Any]:
        return {
            "kpi": self.kpi.name,
            "value": self.value,
            "window_value": self.window_value,
            "baseline_value": self.baseline_value,
            "target": self.kpi.target,
            "comparator": self.kpi.comparator,
            "status": self.status,
        }


def baselines(
    con: duckdb.DuckDBPyConnection, filters: Filters, config: KpiConfig
) -> dict[tuple[str, str], float | None]:
    """Per (repo, kpi): the reduction KPIs' measures over the baseline days."""
    if config.baseline is None:
        return {}
    reductions = [k for k in KPIS.values() if k.reduction]
    got = values(con, [k.measure for k in reductions], filters, config.baseline, config=config)
    return {(repo, k.name): v.get(k.measure) for (repo, _, _), v in got.items() for k in reductions}


def kpi_series(
    con: duckdb.DuckDBPyConnection,
    repos: Sequence[str],
    windows: Windows,
    filters: Filters = ALL_RUNS,
    *,
    config: KpiConfig = DEFAULT_CONFIG,
) -> dict[tuple[str, date], dict[str, KpiValue]]:
    """Every KPI per repo of ``repos`` and window end, with its status (``no_data`` where
    the window has none)."""
    rows = series(con, [k.measure for k in KPIS.values()], filters, windows, config=config)
    base = baselines(con, filters, config)
    out: dict[tuple[str, date], dict[str, KpiValue]] = {}
    for day in windows.ends():
        for repo in repos:
            measured = rows.get((repo, None, None, day), {})
            cards = out.setdefault((repo, day), {})
            for kpi in KPIS.values():
                window_value = measured.get(kpi.measure)
                baseline_value = base.get((repo, kpi.name)) if kpi.reduction else None
                value = kpi.value(window_value, baseline_value)
                cards[kpi.name] = KpiValue(
                    kpi,
                    value,
                    window_value,
                    baseline_value,
                    kpi.status(value, window_value, config.baseline is not None),
                )
    return out


def kpis(
    con: duckdb.DuckDBPyConnection,
    repos: Sequence[str],
    filters: Filters = ALL_RUNS,
    period: Period | None = None,
    *,
    config: KpiConfig = DEFAULT_CONFIG,
) -> dict[str, dict[str, KpiValue]]:
    """Every KPI per repo over ``period``."""
    if period is None:
        raise ValueError("a period is needed")
    got = kpi_series(con, repos, Windows.single(period), filters, config=config)
    return {repo: cards for (repo, _), cards in got.items()}


def known_repos(con: duckdb.DuckDBPyConnection, filters: Filters = ALL_RUNS) -> list[str]:
    """The repositories the store knows (runs or test results), within the filter's.

    Test results are read through their facts once those are built: the raw table holds
    every execution, and listing its repositories costs as much as a card set."""
    tests = "kpi.test_units_daily" if facts.ready(con, "test_units_daily") else None
    repos = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT repo FROM raw.workflow_runs WHERE repo IS NOT NULL "
            f"UNION SELECT DISTINCT repo FROM {tests or 'raw.test_results'} "
            "WHERE repo IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    return filters.within(repos)
