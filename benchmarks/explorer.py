"""Benchmark: the explorer's response times per page type, on the year-scale store.

Builds (or reuses) the synthetic store of ``benchmarks/kpi_build.py`` (``--scale 2.2`` is a
year of 3 repositories at 2,000 runs a day), publishes its read snapshot as a pipeline run
would, starts ``ci-metrics serve`` on 127.0.0.1, and requests every page type over a spread
of filters and periods, timing each request from outside the server. Prints p50/p95/max per
page type. Goals: overview and workflow pages <= 300 ms at p95 with any filter, every page
<= 1 s.

    .venv/bin/python benchmarks/explorer.py [--db PATH] [--scale 2.2] [--reuse] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines import store  # noqa: E402
from pipelines.snapshot import publish  # noqa: E402

CLI = Path(sys.executable).with_name("ci-metrics")
# Pages whose p95 must stay within 300 ms; every page within 1 s.
FAST_PAGES = ("overview", "workflows", "workflow")
FAST_MS, ANY_MS = 300.0, 1000.0

# A spread of the filters a team asks with (the synthetic store's names, see kpi_build.py).
FILTERS: tuple[dict[str, list[str]], ...] = (
    {},
    {"repo": ["org/repo3"]},
    {"workflow": ["CI"]},
    {"branch": ["default"]},
    {"branch": ["pr"]},
    {"branch": ["other"]},
    {"event": ["push"]},
    {"repo": ["org/repo1", "org/repo2"], "branch": ["pr"]},
    {"repo": ["org/repo4"], "workflow": ["CI"], "event": ["pull_request"]},
    {"workflow": ["Lint", "Docs"], "branch": ["default", "pr"]},
)
PERIODS = (7, 30, 90)


def _query(filters: dict[str, list[str]], start: date, end: date, **extra: str) -> str:
    pairs = [(k, v) for k, values in filters.items() for v in values]
    pairs += [("start", start.isoformat()), ("end", end.isoformat()), *extra.items()]
    return urlencode(pairs)


def samples(con, last: date) -> dict[str, list[str]]:
    """The URLs of each page type: every filter × period for the pages of a filter, and a
    spread of runs and tests (found in the store) for the pages of one thing."""
    urls: dict[str, list[str]] = {k: [] for k in (*FAST_PAGES, "run", "tests", "test", "runners")}
    for filters in FILTERS:
        for days in PERIODS:
            start = last - timedelta(days=days - 1)
            q = _query(filters, start, last)
            urls["overview"].append(f"/?{q}")
            urls["workflows"].append(f"/workflows?{q}")
            urls["tests"].append(f"/tests?{q}")
            urls["runners"].append(f"/runners?{q}")
            for repo in filters.get("repo", ["org/repo1"])[:1]:
                for workflow in filters.get("workflow", ["CI"])[:1]:
                    one = {**filters, "repo": [repo], "workflow": [workflow]}
                    urls["workflow"].append(f"/workflow?{_query(one, start, last)}")
    runs = con.execute(
        "SELECT * FROM (SELECT repo, run_id, created_at::DATE FROM raw.workflow_runs "
        "WHERE created_at::DATE BETWEEN ? AND ?) USING SAMPLE 30 ROWS (reservoir, 7)",
        [last - timedelta(days=89), last],
    ).fetchall()
    for repo, run_id, day in runs:
        urls["run"].append(f"/run?{_query({'repo': [repo]}, day, day, run_id=str(run_id))}")
    tests = con.execute(
        "SELECT * FROM (SELECT DISTINCT repo, test_id FROM raw.test_results "
        "WHERE day BETWEEN ? AND ?) USING SAMPLE 15 ROWS (reservoir, 7)",
        [last - timedelta(days=6), last],
    ).fetchall()
    for repo, test_id in tests:
        for days in (7, 30):
            start = last - timedelta(days=days - 1)
            q = _query({"repo": [repo]}, start, last, test_id=test_id)
            urls["test"].append(f"/test?{q}")
    return urls


@contextmanager
def serving(db: Path, port: int) -> Iterator[str]:
    """``ci-metrics serve`` on 127.0.0.1:``port`` over ``db``, until the block ends."""
    env = {**os.environ, "CI_METRICS_DB": str(db)}
    env.pop("CI_METRICS_SERVE_TOKEN", None)
    proc = subprocess.Popen(
        [str(CLI), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/metrics", timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def measure(base: str, urls: dict[str, list[str]], rounds: int) -> dict[str, list[float]]:
    """Milliseconds per request, by page type; the first round warms the server up."""
    times: dict[str, list[float]] = {page: [] for page in urls}
    with httpx.Client(base_url=base, timeout=60) as client:
        for paths in urls.values():  # warm-up: first open, caches
            for path in paths[:2]:
                client.get(path)
        for _ in range(rounds):
            for page, paths in urls.items():
                for path in paths:
                    began = time.perf_counter()
                    response = client.get(path)
                    elapsed = (time.perf_counter() - began) * 1000
                    if response.status_code != 200:
                        raise SystemExit(f"{path}: HTTP {response.status_code}")
                    times[page].append(elapsed)
    return times


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("data/bench/kpi_bench.duckdb"))
    parser.add_argument("--scale", type=float, default=2.2)
    parser.add_argument("--reuse", action="store_true", help="keep an existing built store")
    parser.add_argument("--rounds", type=int, default=2, help="times each URL is requested")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--json", action="store_true", help="end with a JSON line of figures")
    args = parser.parse_args()
    if not (args.reuse and args.db.exists()):
        build = [sys.executable, str(ROOT / "benchmarks" / "kpi_build.py")]
        subprocess.run([*build, "--db", str(args.db), "--scale", str(args.scale)], check=True)
    began = time.perf_counter()
    publish(args.db)
    print(f"snapshot published in {time.perf_counter() - began:.1f} s")
    with store.connect(args.db, read_only=True) as con:
        (last,) = con.execute("SELECT max(created_at)::DATE FROM raw.workflow_runs").fetchone()
        urls = samples(con, last)
    with serving(args.db, args.port) as base:
        times = measure(base, urls, args.rounds)
    print(f"  {'page':<10} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  goal")
    figures = {}
    ok = True
    for page, values in times.items():
        if not values:
            raise SystemExit(f"no {page} page was requested: the store has nothing to ask for")
        p50, p95 = statistics.median(values), _pct(values, 0.95)
        goal = FAST_MS if page in FAST_PAGES else ANY_MS
        met = p95 <= goal and (page in FAST_PAGES or max(values) <= ANY_MS)
        ok &= met
        print(
            f"  {page:<10} {len(values):>8} {p50:>8.0f} {p95:>8.0f} {max(values):>8.0f}  "
            f"p95 <= {goal:.0f} ms {'met' if met else 'NOT met'}"
        )
        figures[page] = {"n": len(values), "p50_ms": round(p50), "p95_ms": round(p95)}
        figures[page]["max_ms"] = round(max(values))
    print(f"goals {'met' if ok else 'NOT met'}")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
