"""The DuckDB access helper: schema, read-only opening, lock retries, settings."""

import subprocess
import sys
import time

import duckdb
import pytest

from pipelines import store
from pipelines.resources import DuckDBStore

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def test_writable_connection_creates_every_table(tmp_path) -> None:
    with store.connect(tmp_path / "s.duckdb") as con:
        tables = {
            f"{s}.{t}"
            for s, t in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
            ).fetchall()
        }
    assert {"raw.workflow_runs", "raw.workflow_jobs", "raw.test_results"} <= tables
    assert {"raw.ingest_errors", "meta.http_cache", "meta.ingested_files"} <= tables


def test_read_only_on_a_missing_store_names_the_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothing\.duckdb"):
        with store.connect(tmp_path / "nothing.duckdb", read_only=True):
            pass


def test_read_only_connection_cannot_write(tmp_path) -> None:
    path = tmp_path / "s.duckdb"
    with store.connect(path):
        pass
    with store.connect(path, read_only=True) as con:
        with pytest.raises(Exception, match="read-only"):
            con.execute("CREATE TABLE raw.x (a INT)")


def _hold_lock(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_lock_held_briefly_is_waited_for(tmp_path) -> None:
    path = tmp_path / "s.duckdb"
    with store.connect(path):
        pass
    holder = _hold_lock(path, 1.0)
    started = time.monotonic()
    with store.connect(path, retry_s=20) as con:
        assert con.execute("SELECT count(*) FROM raw.workflow_runs").fetchone() == (0,)
    assert time.monotonic() - started >= 0.3
    holder.wait(timeout=10)


def test_a_lock_held_too_long_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "s.duckdb"
    with store.connect(path):
        pass
    holder = _hold_lock(path, 5.0)
    try:
        with pytest.raises(store.StoreLockedError, match="locked by another process"):
            with store.connect(path, retry_s=0.5):
                pass
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_memory_limit_is_applied_and_validated(tmp_path) -> None:
    def limit_of(con) -> str:
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    with store.connect(tmp_path / "s.duckdb", memory_limit="300MB") as con:
        assert limit_of(con).startswith(("286", "300"))
    # the resource's configured limit wins over what the caller asks for
    configured = DuckDBStore(path=str(tmp_path / "s.duckdb"), memory_limit="200MB")
    with configured.connect(memory_limit="1GB") as con:
        assert limit_of(con).startswith(("190", "200"))
    with DuckDBStore(path=str(tmp_path / "s.duckdb")).connect(memory_limit="100MB") as con:
        assert limit_of(con).startswith(("95", "100"))
    with pytest.raises(ValueError, match="not a size"):
        with store.connect(tmp_path / "s.duckdb", memory_limit="1GB'; DROP SCHEMA raw; --"):
            pass


def test_a_motherduck_path_goes_to_duckdb_not_the_file_system(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("motherduck_token", raising=False)
    for read_only in (True, False):
        with pytest.raises(duckdb.Error), store.connect("md:ci_metrics", read_only=read_only):
            pass  # no extension or token here: DuckDB's own error, not "file missing"
    assert list(tmp_path.iterdir()) == []  # no local folder or file was made for it


def test_parallel_calls_read_where_their_connection_reads(tmp_path) -> None:
    # an explorer request reads an attached snapshot through USE, in UTC: every call run
    # beside it reads the same tables and times, and an error reaches the caller
    db = tmp_path / "snap.duckdb"
    with duckdb.connect(str(db)) as setup:
        setup.execute("CREATE SCHEMA kpi")
        setup.execute("CREATE TABLE kpi.t AS SELECT range AS n FROM range(10)")
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{db}' AS snapshot (READ_ONLY)")
    con.execute("USE snapshot")
    con.execute("SET TimeZone = 'Asia/Kolkata'")

    def total(c: duckdb.DuckDBPyConnection) -> int:
        return c.execute("SELECT sum(n) FROM kpi.t").fetchone()[0]

    def zone(c: duckdb.DuckDBPyConnection) -> str:
        return c.execute("SELECT current_setting('TimeZone')").fetchone()[0]

    assert store.parallel(con, total, zone, lambda c: total(c) * 2) == [45, "Asia/Kolkata", 90]

    def broken(c: duckdb.DuckDBPyConnection) -> int:
        return c.execute("SELECT * FROM kpi.missing").fetchone()[0]

    with pytest.raises(duckdb.CatalogException):
        store.parallel(con, total, broken)
    con.close()


def test_one_thread_runs_the_block_on_one_thread_and_restores_the_setting(tmp_path) -> None:
    with store.connect(tmp_path / "s.duckdb") as con:
        con.execute("SET threads = 3")

        def threads() -> int:
            return int(con.execute("SELECT current_setting('threads')").fetchone()[0])

        with store.one_thread(con):
            assert threads() == 1
        assert threads() == 3
        with pytest.raises(duckdb.Error), store.one_thread(con):
            con.execute("SELECT * FROM no_such_table")
        assert threads() == 3  # restored after a failed query too
