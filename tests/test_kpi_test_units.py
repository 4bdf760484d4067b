"""kpi.test_units_daily: the rerun-followed-by-a-pass rule, row by row, on hand-built reports."""

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines import store
from pipelines.kpi import build
from tests.raw_rows import T0, TEST_COLS, insert, result_row, rows_as_dicts


def build_days(con, table: str, first, last, config=build.DEFAULT_CONFIG) -> int:
    """``table`` over the days, after the fact tables it reads, as a pipeline run builds it."""
    for fact in build.TABLES_BY_NAME[table].reads:
        if build.TABLES_BY_NAME[fact].kind == "facts":
            build.build_days(con, fact, first, last, config)
    return build.build_days(con, table, first, last, config)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with store.connect(tmp_path / "store.duckdb") as c:
        yield c


def test_rerun_then_pass_needs_a_later_pass_of_the_same_test_in_the_same_file(con) -> None:
    rows = [
        # two reruns, then the pass: rerun then pass
        result_row("t::twice", "rerun", sha="a", file="f1", seq=0),
        result_row("t::twice", "rerun", sha="a", file="f1", seq=1),
        result_row("t::twice", "passed", sha="a", file="f1", seq=2),
        # the pass comes before the rerun, the rerun ends in a failure: no
        result_row("t::late", "passed", sha="a", file="f2", seq=0),
        result_row("t::late", "rerun", sha="a", file="f2", seq=1),
        result_row("t::late", "failed", sha="a", file="f2", seq=2),
        # the rerun is in one file, the pass in another execution of the same commit: no
        result_row("t::split", "rerun", sha="a", file="f3", seq=0),
        result_row("t::split", "failed", sha="a", file="f3", seq=1),
        result_row("t::split", "passed", sha="a", file="f4", seq=0),
        # another test passes after the rerun in the same file: no
        result_row("t::other", "rerun", sha="a", file="f5", seq=0),
        result_row("t::other", "failed", sha="a", file="f5", seq=1),
        result_row("t::neighbour", "passed", sha="a", file="f5", seq=2),
        # unknown commit: never a rerun-then-pass unit
        result_row("t::nosha", "rerun", sha=None, file="f6", seq=0),
        result_row("t::nosha", "passed", sha=None, file="f6", seq=1),
        # unknown repo still counts
        result_row("t::norepo", "rerun", repo=None, sha="b", file="f7", seq=0),
        result_row("t::norepo", "passed", repo=None, sha="b", file="f7", seq=1),
    ]
    insert(con, "test_results", TEST_COLS, rows)
    build_days(con, "test_units_daily", T0.date(), T0.date())
    units = {
        r["test_id"]: r
        for r in rows_as_dicts(con, "SELECT * FROM kpi.test_units_daily WHERE day = ?", [T0.date()])
    }
    assert {t for t, u in units.items() if u["has_rerun_then_pass"]} == {"t::twice", "t::norepo"}
    # marker rows are not executions: each unit counts exactly its own rows
    assert {t: u["executions"] for t, u in units.items()} == {
        "t::twice": 3,
        "t::late": 3,
        "t::split": 3,
        "t::other": 2,
        "t::neighbour": 1,
        "t::nosha": 2,
        "t::norepo": 2,
    }
    assert units["t::split"]["has_passed"] and units["t::split"]["has_failed"]
    assert not units["t::other"]["has_passed"]
