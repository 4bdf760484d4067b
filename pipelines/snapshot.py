"""A read snapshot of the store, published atomically at the end of each pipeline run.

DuckDB lets one process hold a file for writing, and then no other process can open it,
not even read-only. The explorer (``ci-metrics serve``) must stay up while the pipeline
writes, so the pipeline copies the store into ``<db>.snapshot.duckdb.tmp`` and renames it
onto ``<db>.snapshot.duckdb``: a reader sees the old snapshot or the new one, never half a
copy, and never holds the store itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines import store

SUFFIX = ".snapshot.duckdb"


def snapshot_path(db_path: str | Path) -> Path:
    """Where the snapshot of ``db_path`` lives: beside it, ``<db>.snapshot.duckdb``."""
    db = Path(db_path)
    return db.with_name(db.name + SUFFIX)


def _literal(text: str) -> str:
    """A SQL string literal (ATTACH takes no bound parameter for its path)."""
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def publish(db_path: str | Path) -> Path | None:
    """Copy the store at ``db_path`` into its snapshot and swap it in atomically.

    Returns the snapshot's path, or None for a store that is not a local file (MotherDuck
    needs no snapshot). The copy holds the store read-only for the time it takes.
    """
    if str(db_path).startswith("md:"):
        return None
    target = snapshot_path(db_path)
    tmp = target.with_name(target.name + ".tmp")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    # Capped, the copy streams table by table to the new file; uncapped, DuckDB holds it in
    # memory as it goes (+450 MB for a 60 MB store of 28 days, growing with the store).
    with store.connect(db_path, read_only=True, memory_limit=store.LOAD_MEMORY_LIMIT) as con:
        (source,) = con.execute("SELECT current_database()").fetchone()
        con.execute(f"ATTACH {_literal(str(tmp))} AS ci_metrics_snapshot (READ_ONLY false)")
        try:
            con.execute(f"COPY FROM DATABASE {_identifier(source)} TO ci_metrics_snapshot")
        finally:
            con.execute("DETACH ci_metrics_snapshot")
    os.replace(tmp, target)
    return target
