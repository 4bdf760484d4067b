"""The Parquet stage raw rows pass through on their way into DuckDB."""

import pyarrow.parquet as pq

from pipelines.github.load import RowStage


def test_stage_row_groups_stay_small_in_rows_and_bytes() -> None:
    stage = RowStage({"name": "VARCHAR", "steps": "JSON"})
    try:
        big = "x" * (RowStage.BATCH_BYTES // 2 + 1)
        for i in range(4):  # two big rows pass the byte bound: a row group per pair
            stage.write([{"name": f"job-{i}", "steps": big}])
        stage.write({"name": f"small-{i}", "steps": "[]"} for i in range(RowStage.BATCH_ROWS))
        stage.close()
        meta = pq.ParquetFile(stage.path).metadata
        sizes = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
        assert sizes == [2, 2, RowStage.BATCH_ROWS]
        assert stage.count == 4 + RowStage.BATCH_ROWS
    finally:
        stage.discard()


def test_a_year_of_busy_runs_is_swapped_in_under_the_load_memory_limit(tmp_path) -> None:
    """240,000 attempts (a year of 3 repos at about 200 runs a day) go in under the 64MB
    cap; sorting them on the way in ran out of memory there."""
    from datetime import date, datetime, timedelta

    from pipelines import store
    from pipelines.github.load import replace_runs, staged
    from pipelines.github.rows import RUN_COLUMNS

    n, repos = 240_000, ["acme/repo-0", "acme/repo-1", "acme/repo-2"]
    with staged(RUN_COLUMNS) as stage:
        for i in range(n):
            at = (datetime(2025, 1, 1) + timedelta(seconds=i * 131)).isoformat() + "Z"
            repo = repos[i % 3]
            row = {k: at for k, kind in RUN_COLUMNS.items() if kind == "TIMESTAMP"}
            row.update(repo=repo, run_id=9_000_000_000 + i, run_attempt=1, run_number=i)
            row.update(workflow_id=90_000_000 + i % 4, workflow_name="CI", event="push")
            row.update(workflow_path=".github/workflows/ci.yml", head_branch=f"fix/x-{i % 500}")
            row.update(status="completed", conclusion="success", head_sha=f"{i:040x}")
            row.update(actor="octocat", triggering_actor="octocat", pull_request_numbers=[i])
            row.update(display_title=f"Fix the parser, take {i}")
            row.update(html_url=f"https://github.com/{repo}/actions/runs/{9_000_000_000 + i}")
            stage.write([row])
        with store.connect(tmp_path / "s.duckdb", memory_limit=store.LOAD_MEMORY_LIMIT) as con:
            stored = replace_runs(con, repos, date(2025, 1, 1), date(2025, 12, 31), stage, None)
            assert con.execute("SELECT count(*) FROM raw.workflow_runs").fetchone()[0] == n
    assert stored == n
