"""Extraction benchmark: 30 days of a busy repository from the fake server, twice.

Starts ``ci-metrics fake-github`` as its own process (50 ms added per request),
then materializes the raw GitHub assets for the 30 days as one ranged Dagster
run in a child process, twice, and prints for each pass: requests made beside
the minimum the data allows, wall time, runs per second and peak RSS.

    python benchmarks/extract.py [--runs-per-day 700] [--days 30] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

END = date(2025, 6, 30)


def _child(api_url: str, repo: str, db: str, first: str, last: str) -> None:
    """One ranged run in this process; prints a JSON line of its figures."""
    from dagster import DagsterInstance

    from pipelines.materialize import materialize_range
    from pipelines.resources import DuckDBStore, GitHubAPI

    resources = {
        "duckdb": DuckDBStore(path=db),
        "github": GitHubAPI(api_url=api_url, repos=repo, token="bench-token"),
    }
    started = time.perf_counter()
    with DagsterInstance.ephemeral() as instance:
        result = materialize_range(
            date.fromisoformat(first),
            date.fromisoformat(last),
            resources=resources,
            instance=instance,
        )
    wall = time.perf_counter() - started
    meta = {}
    for event in result.get_asset_materialization_events():
        key = event.asset_key.path[-1]
        meta[key] = {
            k: v.value
            for k, v in event.materialization.metadata.items()
            if isinstance(v.value, int | float | str)
        }
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall_s": wall, "peak_rss_mb": rss_mb, "meta": meta}))


def _minimum(world, first: date, last: date) -> dict[str, int]:
    runs = world.runs_created_between(first, last)
    list_pages = math.ceil(len(runs) / 100)
    jobs_pages = sum(max(1, math.ceil(sum(len(a.jobs) for a in r.attempts) / 100)) for r in runs)
    attempts = sum(len(r.attempts) - 1 for r in runs)
    return {
        "runs": len(runs),
        "list_pages": list_pages,
        "jobs_pages": jobs_pages,
        "earlier_attempts": attempts,
        "total": list_pages + jobs_pages + attempts,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs-per-day", type=int, default=700)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    from pipelines.fake_github.generator import FakeConfig, generate

    first = END - timedelta(days=args.days - 1)
    config = FakeConfig(
        seed=args.seed, repos=1, days=args.days, end_date=END, runs_per_day=args.runs_per_day
    )
    world = generate(config)
    minimum = _minimum(world, first, END)
    repo = world.repos[0]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "fake-github",
            "--port",
            "0",
            "--seed",
            str(args.seed),
            "--repos",
            "1",
            "--days",
            str(args.days),
            "--runs-per-day",
            str(args.runs_per_day),
            "--end-date",
            END.isoformat(),
            "--latency-ms",
            str(args.latency_ms),
            "--rate-limit",
            "1000000",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+\S*)", line)
        if not match:
            raise SystemExit(f"fake server did not start: {line!r}")
        api_url = match.group(1).rstrip(" (")
        with tempfile.TemporaryDirectory() as tmp:
            db = str(Path(tmp) / "bench.duckdb")
            print(f"{minimum['runs']} runs over {args.days} days, {args.latency_ms} ms per request")
            print(
                f"minimum requests: {minimum['total']} = {minimum['list_pages']} list pages + "
                f"{minimum['jobs_pages']} jobs pages + {minimum['earlier_attempts']} earlier"
            )
            for label in ("first pass", "second pass"):
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        api_url,
                        repo,
                        db,
                        first.isoformat(),
                        END.isoformat(),
                    ],
                    capture_output=True,
                    text=True,
                    env={**os.environ},
                )
                if out.returncode != 0:
                    raise SystemExit(f"{label} failed:\n{out.stderr[-4000:]}")
                figures = json.loads(out.stdout.strip().splitlines()[-1])
                runs_meta = figures["meta"]["github_workflow_runs"]
                jobs_meta = figures["meta"]["github_workflow_jobs"]
                requests = runs_meta["requests"] + jobs_meta["requests"]
                print(
                    f"{label}: {requests} requests (runs asset {runs_meta['requests']}: "
                    f"{runs_meta['listing_pages']} list pages, {runs_meta['attempts_fetched']} "
                    f"attempts, {runs_meta['not_modified_304']} answered 304; jobs asset "
                    f"{jobs_meta['requests']}), {requests / minimum['runs']:.3f} requests/run "
                    f"(minimum {minimum['total'] / minimum['runs']:.3f}), "
                    f"wall {figures['wall_s']:.1f}s, "
                    f"{minimum['runs'] / figures['wall_s']:.0f} runs/s, "
                    f"peak RSS {figures['peak_rss_mb']:.0f} MB"
                )
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:7])
    else:
        raise SystemExit(main())
