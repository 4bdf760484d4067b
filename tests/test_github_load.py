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
