"""The facts the layer reads, and whether a store's copy of them is current.

A facts table (``kpi.run_facts``, ``kpi.test_units_daily``, …) or a table of stored units
written by an earlier version may lack a column its SQL now gives. Builds rebuild such a
table; until then, readers treat it as not built yet, so a view shows no data for it
rather than failing on a missing column.
"""

from __future__ import annotations

from datetime import date

import duckdb

from pipelines.kpi import sqlfiles
from pipelines.kpi.filters import ALL_RUNS

# Units formed over all runs and kept per commit (kpi.<name>, beside kpi.run_facts).
STORED_UNITS: tuple[str, ...] = ("run_flakiness_units", "developer_wait_units")
# The SQL files a facts table's SQL reads by name, composed in before it.
_FACT_READS: dict[str, tuple[str, ...]] = {"test_units_daily": ("test_result_dims",)}
_COLUMNS: dict[str, frozenset[str]] = {}  # per table, the columns its SQL gives


def facts_sql(table: str) -> str:
    """The query of facts table ``table``, with the files it reads as CTEs."""
    body = sqlfiles.load(table)
    reads = _FACT_READS.get(table, ())
    if not reads:
        return body
    ctes = ", ".join(f"{name} AS NOT MATERIALIZED ({sqlfiles.load(name)})" for name in reads)
    return f"WITH {ctes} SELECT * FROM ({body})"


def units_sql(units: str, runs: str) -> str:
    """The query of stored units ``units`` over the runs ``runs`` (a query of run_facts)."""
    return f"WITH runs_f AS NOT MATERIALIZED ({runs}) SELECT * FROM ({sqlfiles.load(units)})"


def units_params(sql: str, first: date | None, last: date | None) -> dict[str, object]:
    """The parameters of :func:`units_sql`'s query for every unit whose runs lie within
    ``first`` … ``last``, unfiltered."""
    bounds = {"span_start": first, "span_end": last, "units_lo": first, "units_hi": last}
    return sqlfiles.bind(sql, {**ALL_RUNS.sql_params(), **bounds})


def sql_columns(con: duckdb.DuckDBPyConnection, table: str) -> frozenset[str]:
    """The columns ``kpi.<table>``'s SQL gives (asked once per process)."""
    if table not in _COLUMNS:
        if table in STORED_UNITS:
            sql = units_sql(table, "SELECT * FROM kpi.run_facts")
            params = units_params(sql, None, None)
        else:
            sql = facts_sql(table)
            params = sqlfiles.bind(sql, {"start_day": date.min, "end_day": date.min})
        got = con.execute(f"SELECT * FROM ({sql}) LIMIT 0", params)
        _COLUMNS[table] = frozenset(d[0] for d in got.description)
    return _COLUMNS[table]


def held_columns(con: duckdb.DuckDBPyConnection, table: str) -> frozenset[str]:
    """The columns the store's ``kpi.<table>`` has; empty when it has no such table."""
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'kpi' AND table_name = ?",
        [table],
    ).fetchall()
    return frozenset(r[0] for r in rows)


def ready(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the store holds ``kpi.<table>`` as this version's SQL writes it."""
    held = held_columns(con, table)
    return bool(held) and held == sql_columns(con, table)
