"""Dashboard render time and file size for 90 days × 30 workflows × 5,000 tests.

Goal: rendering ≤ 1 s and dashboard.html ≤ 1 MB. Builds a synthetic store (raw rows, then
the KPI tables), then times reading it (``load_report``) and rendering each file.

    .venv/bin/python benchmarks/render.py [--workflows 30] [--days 90] [--tests 5000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from pipelines import store
from pipelines.kpi.build import build_all
from reports.data import load_report
from reports.html import render_html
from reports.json_report import render_json
from reports.markdown import render_markdown

END = date(2025, 6, 30)
EVENTS = ("push", "pull_request", "schedule", "workflow_dispatch")


def populate(db: Path, workflows: int, days: int, tests: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    first = END - timedelta(days=days - 1)
    runs, jobs, results = [], [], []
    rid = 0
    for d in range(days):
        day = first + timedelta(days=d)
        for w in range(workflows):
            for _ in range(rng.randint(1, 5)):
                rid += 1
                created = datetime.combine(day, datetime.min.time()) + timedelta(
                    seconds=rng.randint(0, 86000)
                )
                started = created + timedelta(seconds=rng.randint(1, 60))
                dur = rng.randint(30, 900)
                ok = rng.random() > 0.08
                runs.append(
                    (
                        "acme/app",
                        rid,
                        1,
                        w + 1,
                        f"workflow-{w:02d}",
                        rng.choice(EVENTS),
                        "completed",
                        "success" if ok else "failure",
                        "main",
                        f"sha{rid % 997}",
                        created,
                        started,
                        started + timedelta(seconds=dur),
                        created,
                    )
                )
                jobs.append(
                    (
                        "acme/app",
                        rid,
                        rid,
                        1,
                        "build",
                        "completed",
                        "success",
                        started,
                        started + timedelta(seconds=dur - 5),
                    )
                )
    for t in range(tests):
        for k in range(3):
            day = END - timedelta(days=rng.randint(0, 13))
            outcome = "failed" if rng.random() < 0.01 else "passed"
            results.append(
                (
                    day,
                    f"r{t}-{k}",
                    "junit",
                    f"h{t}-{k}",
                    0,
                    "acme/app",
                    f"sha{k}",
                    f"tests.test_m{t % 120}::Test::test_{t}",
                    f"tests.test_m{t % 120}",
                    outcome,
                    rng.expovariate(4),
                )
            )
    with store.connect(db) as con:
        con.executemany(
            "INSERT INTO raw.workflow_runs (repo, run_id, run_attempt, workflow_id, "
            "workflow_name, event, status, conclusion, head_branch, head_sha, created_at, "
            "run_started_at, updated_at, extracted_at) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            runs,
        )
        con.executemany(
            "INSERT INTO raw.workflow_jobs (repo, job_id, run_id, run_attempt, name, status, "
            "conclusion, started_at, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            jobs,
        )
        con.executemany(
            "INSERT INTO raw.test_results (day, source, source_kind, content_hash, seq, repo, "
            "head_sha, test_id, module, outcome, duration_s) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            results,
        )
        build_all(con, first, END, as_of=END)
    return len(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=30)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--tests", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        began = time.perf_counter()
        n = populate(db, args.workflows, args.days, args.tests)
        print(f"store: {n} runs, {args.tests} tests, built in {time.perf_counter() - began:.1f} s")
        with store.connect(db, read_only=True) as con:
            began = time.perf_counter()
            report = load_report(con, as_of=END)
            load_s = time.perf_counter() - began
        began = time.perf_counter()
        html = render_html(report)
        render_s = time.perf_counter() - began
        md, js = render_markdown(report), render_json(report)
    size = len(html.encode("utf-8"))
    print(f"load_report   {load_s:6.2f} s")
    print(f"render_html   {render_s:6.2f} s   goal <= 1 s   {'ok' if render_s <= 1 else 'OVER'}")
    print(f"dashboard     {size / 1e6:6.3f} MB  goal <= 1 MB  {'ok' if size <= 1e6 else 'OVER'}")
    print(f"summary.md    {len(md.encode()) / 1e3:6.1f} kB")
    print(f"metrics-report.json {len(js.encode()) / 1e3:6.1f} kB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
