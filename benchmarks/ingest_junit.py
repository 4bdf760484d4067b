"""JUnit ingestion benchmark: one large pytest-shaped report parsed and loaded into DuckDB.

Generates a report of N testcases (default 1,000,000; 1 % failures with
messages and tracebacks, 2 % skips) in a temporary folder, then, each in a
fresh child process so that generation does not count towards memory:

* ``ingest``: ``ingest_files`` into a new DuckDB file (parse + load, one transaction);
* ``parse``: our streaming parser alone, rows counted;
* ``junitparser``: ``JUnitXml.fromfile`` and a walk over every testcase.

Prints wall time, testcases per second and peak RSS of each.

    python benchmarks/ingest_junit.py [--testcases 1000000] [--memory-limit 64MB]

The load runs under the DuckDB memory limit the product's ingestion uses.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.store import LOAD_MEMORY_LIMIT


def generate(path: Path, testcases: int) -> None:
    """Write a pytest (xunit2) report with ``testcases`` cases, 1 % failed, 2 % skipped."""
    with path.open("w", encoding="utf-8") as f:
        f.write(
            '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
            f'<testsuite name="pytest" errors="0" failures="{testcases // 100}" '
            f'skipped="{testcases // 50}" tests="{testcases}" time="1234.5" '
            'timestamp="2025-10-05T16:26:24.143602-04:00" hostname="runner-1">'
        )
        buf: list[str] = []
        for i in range(testcases):
            module = i // 500
            head = (
                f'<testcase classname="tests.pkg{module % 20}.test_mod{module}.TestClass'
                f'{(i // 50) % 10}" name="test_case_{i}[param-{i % 7}]" time="{(i % 997) / 1000}"'
            )
            if i % 100 == 37:
                buf.append(
                    f'{head}><failure message="AssertionError: assert {i} == {i + 1}">'
                    f"def test():\n&gt;       assert x == y\nE       AssertionError: assert "
                    f"{i} == {i + 1}\n\ntests/test_mod.py:{i % 400}: AssertionError"
                    "</failure></testcase>"
                )
            elif i % 50 == 11:
                buf.append(
                    f'{head}><skipped type="pytest.skip" message="requires network">'
                    f"/home/runner/work/tests/test_mod.py:{i % 300}: requires network"
                    "</skipped></testcase>"
                )
            else:
                buf.append(f"{head} />")
            if len(buf) >= 10_000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))
        f.write("</testsuite></testsuites>")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child(mode: str, report: str, db: str, memory_limit: str) -> None:
    """Run one measurement in this (fresh) process and print its figures as JSON."""
    started = time.perf_counter()
    if mode == "ingest":
        from pipelines.store import connect
        from pipelines.testresults.loader import ingest_files

        with connect(db, memory_limit=memory_limit) as con:
            summary = ingest_files(con, [report], context_overrides={"repo": "bench/repo"})
            rows = summary.tests
            stored = con.execute("SELECT count(*) FROM raw.test_results").fetchall()[0][0]
            assert stored == rows, (stored, rows)
    elif mode == "parse":
        from pipelines.testresults.junit import stream_junit

        rows = sum(len(batch) for batch in stream_junit(report, report))
    else:
        from junitparser import JUnitXml

        xml = JUnitXml.fromfile(report)
        rows = sum(1 for suite in xml for _case in suite)
    elapsed = time.perf_counter() - started
    print(json.dumps({"rows": rows, "seconds": elapsed, "peak_rss_mb": _peak_rss_mb()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--testcases", type=int, default=1_000_000)
    parser.add_argument(
        "--memory-limit",
        default=LOAD_MEMORY_LIMIT,
        help=f"DuckDB memory_limit for the load (default: the product's, {LOAD_MEMORY_LIMIT})",
    )
    parser.add_argument("--child", nargs=4, metavar=("MODE", "REPORT", "DB", "LIMIT"))
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="ingest-junit-") as tmp:
        report = Path(tmp) / "report.xml"
        started = time.perf_counter()
        generate(report, args.testcases)
        size_mb = report.stat().st_size / 1e6
        print(
            f"generated {args.testcases:,} testcases, {size_mb:.0f} MB, "
            f"in {time.perf_counter() - started:.1f} s"
        )
        for mode in ("ingest", "parse", "junitparser"):
            db = str(Path(tmp) / f"{mode}.duckdb")
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, str(report), db, args.memory_limit],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            figures = json.loads(out.strip().splitlines()[-1])
            label = {
                "ingest": "parse + load into DuckDB",
                "parse": "parse only (ours)",
                "junitparser": "junitparser parse only",
            }[mode]
            print(
                f"{label:<26} {figures['seconds']:6.2f} s  "
                f"{figures['rows'] / figures['seconds']:>10,.0f} testcases/s  "
                f"peak RSS {figures['peak_rss_mb']:5.0f} MB  ({figures['rows']:,} rows)"
            )


if __name__ == "__main__":
    main()
