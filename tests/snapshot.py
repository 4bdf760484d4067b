"""A DuckDB store as plain, comparable rows: what "the store equals another" means in tests.

Every column is compared except those that record when (or in which Dagster run) a row
was written, which differ between any two runs by construction. Floating-point values are
compared to 12 significant digits: DuckDB sums doubles in parallel, in an order that
depends on how the rows lie in the file, so the last bits of a sum may differ.
"""

from collections import Counter
from pathlib import Path

import pytest

from pipelines import store

WRITTEN_WHEN = {"extracted_at", "ingested_at", "detected_at", "fetched_at", "seen_at"}
WRITTEN_BY = {"dagster_run_id"}

Rows = dict[str, tuple[tuple[str, ...], Counter[tuple]]]  # columns, rows with multiplicity


def plain(v: object) -> object:
    """A DuckDB value as a hashable, comparable Python value."""
    if isinstance(v, list):
        return tuple(plain(x) for x in v)
    if isinstance(v, bytearray | memoryview):
        return bytes(v)
    if isinstance(v, float):
        return float(f"{v:.12g}")
    return v


def snapshot(
    db: Path,
    *,
    schemas: tuple[str, ...] = ("raw", "meta"),
    all_columns: bool = False,
    skip: tuple[str, ...] = (),
) -> Rows:
    """Every table of ``schemas`` (but ``skip``): (columns, rows), write-time columns
    left out unless ``all_columns``."""
    out: Rows = {}
    with store.connect(db, read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE list_contains(?, table_schema) ORDER BY ALL",
            [list(schemas)],
        ).fetchall()
        for schema, table in tables:
            name = f"{schema}.{table}"
            if name in skip:
                continue
            cols = [
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                    [schema, table],
                ).fetchall()
                if all_columns or c not in WRITTEN_WHEN | WRITTEN_BY
            ]
            select = ", ".join(f'"{c}"' for c in cols)
            rows = Counter(
                tuple(plain(v) for v in r)
                for r in con.execute(f"SELECT {select} FROM {name}").fetchall()
            )
            out[name] = (tuple(cols), rows)
    return out


def assert_same_store(got: Rows, want: Rows) -> None:
    """Table by table, row for row; on a difference, say which rows (a few of them)."""
    assert sorted(got) == sorted(want), "not the same tables"
    for table in sorted(want):
        (gcols, grows), (wcols, wrows) = got[table], want[table]
        assert gcols == wcols, f"{table}: columns differ"
        if grows != wrows:
            missing, extra = list((wrows - grows).elements()), list((grows - wrows).elements())
            pytest.fail(
                f"{table}: {len(missing)} rows missing, {len(extra)} extra "
                f"(of {wrows.total()}); missing e.g. {missing[:2]}, extra e.g. {extra[:2]}"
            )
