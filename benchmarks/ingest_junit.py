"""JUnit ingestion benchmark: one large pytest-shaped report parsed and loaded into DuckDB.

Generates a report of N testcases (default 1,000,000; 1 % failures with
messages and tracebacks, 2 % skips) in a temporary folder, then measures, each
run in a fresh child process (so that generation and earlier runs do not count
towards memory):

* ``ingest``: ``ingest_files`` into a new DuckDB file (parse + load, one transaction);
* ``parse``: our streaming parser alone, rows counted;
* ``junitparser``: ``JUnitXml.fromfile`` and a walk over every testcase (when installed);
* ``expat floor``: pyexpat fed the same 1 MiB chunks with no callbacks at all;
* ``iterparse floor``: ElementTree ``iterparse`` collecting a (classname, name, time)
  tuple per testcase, elements cleared as it goes.

The floors bound what any Python reader built on expat can reach. Each mode runs
``--runs`` times; the table gives the best wall time, the range over the runs,
testcases per second at the best, and the highest peak RSS (``ru_maxrss``) of its
runs.

    python benchmarks/ingest_junit.py [--testcases 1000000] [--runs 3] [--memory-limit 64MB]

The load runs under the DuckDB memory limit the product's ingestion uses.
"""

from __future__ import annotations

import argparse
import importlib.util
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


MODES = {
    "ingest": "parse + load into DuckDB",
    "parse": "parse only (ours)",
    "junitparser": "junitparser parse only",
    "expat": "expat floor (no callbacks)",
    "iterparse": "iterparse floor (tuples)",
}
CHUNK_BYTES = 1 << 20


def _expat_floor(report: str) -> int:
    import pyexpat

    parser = pyexpat.ParserCreate()
    with open(report, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            parser.Parse(chunk, False)
    parser.Parse(b"", True)
    return 0


def _iterparse_floor(report: str) -> int:
    import xml.etree.ElementTree as ET

    rows = []
    append = rows.append
    suite = None
    for event, elem in ET.iterparse(report, events=("start", "end")):
        if event == "end":
            if elem.tag == "testcase":
                append((elem.get("classname"), elem.get("name"), elem.get("time")))
                elem.clear()
                if suite is not None and len(rows) % 4096 == 0:
                    suite.clear()  # drop the emptied testcases (and the suite's attributes)
        elif elem.tag == "testsuite":
            suite = elem
    return len(rows)


def _child(mode: str, report: str, db: str, memory_limit: str) -> None:
    """Run one measurement in this (fresh) process and print its figures as JSON.

    Imports happen before the clock starts: they are a fixed cost, not reading.
    """
    if mode == "ingest":
        from pipelines.store import connect
        from pipelines.testresults.loader import ingest_files

        def run() -> int:
            with connect(db, memory_limit=memory_limit) as con:
                summary = ingest_files(con, [report], context_overrides={"repo": "bench/repo"})
                stored = con.execute("SELECT count(*) FROM raw.test_results").fetchall()[0][0]
                assert stored == summary.tests, (stored, summary.tests)
                return summary.tests
    elif mode == "parse":
        from pipelines.testresults.junit import stream_junit

        def run() -> int:
            return sum(len(batch) for batch in stream_junit(report, report))
    elif mode == "junitparser":
        from junitparser import JUnitXml

        def run() -> int:
            xml = JUnitXml.fromfile(report)
            return sum(1 for suite in xml for _case in suite)
    elif mode == "expat":

        def run() -> int:
            return _expat_floor(report)
    else:

        def run() -> int:
            return _iterparse_floor(report)

    started = time.perf_counter()
    rows = run()
    elapsed = time.perf_counter() - started
    print(json.dumps({"rows": rows, "seconds": elapsed, "peak_rss_mb": _peak_rss_mb()}))


def _measure(mode: str, report: Path, tmp: str, memory_limit: str, runs: int) -> dict:
    times, rss, rows = [], [], None
    for run in range(runs):
        db = Path(tmp) / f"{mode}-{run}.duckdb"
        out = subprocess.run(
            [sys.executable, __file__, "--child", mode, str(report), str(db), memory_limit],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        db.unlink(missing_ok=True)
        figures = json.loads(out.strip().splitlines()[-1])
        times.append(figures["seconds"])
        rss.append(figures["peak_rss_mb"])
        rows = figures["rows"]
    return {"best": min(times), "worst": max(times), "peak_rss_mb": max(rss), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--testcases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs per mode (best-of-N)")
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help=f"comma-separated subset of {', '.join(MODES)}",
    )
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
    if args.runs < 1 or args.testcases < 1:
        parser.error("--runs and --testcases must be at least 1")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    if "junitparser" in modes and importlib.util.find_spec("junitparser") is None:
        print("junitparser is not installed: its row is left out")
        modes.remove("junitparser")
    with tempfile.TemporaryDirectory(prefix="ingest-junit-") as tmp:
        report = Path(tmp) / "report.xml"
        started = time.perf_counter()
        generate(report, args.testcases)
        size_mb = report.stat().st_size / 1e6
        print(
            f"generated {args.testcases:,} testcases, {size_mb:.0f} MB, "
            f"in {time.perf_counter() - started:.1f} s; best of {args.runs} runs per mode"
        )
        print(f"{'mode':<28} {'best s':>7} {'range s':>13} {'testcases/s':>12} {'peak RSS MB':>12}")
        for mode in modes:
            f = _measure(mode, report, tmp, args.memory_limit, args.runs)
            print(
                f"{MODES[mode]:<28} {f['best']:7.2f} {f['best']:6.2f}-{f['worst']:<6.2f} "
                f"{args.testcases / f['best']:>12,.0f} {f['peak_rss_mb']:12.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
