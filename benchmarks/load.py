"""Load benchmark: a year of three busy repositories, one backfill of the whole graph.

Generates the fake world (default 365 days × 3 repos × 2,000 runs/day), serves it
from this process with the fake GitHub server, and runs one ranged backfill of the
whole graph (``run_pipeline``: raw runs and jobs, test results from the artifacts,
per-day KPIs, window tables, the dashboard, every check) in a child process on an
ephemeral Dagster instance. Prints wall time per phase, runs per second, peak RSS
of the pipeline process and of this one (world + server), the DuckDB file size,
and what the store holds beside what the world holds.

    python benchmarks/load.py [--runs-per-day 2000] [--days 365] [--repos 3]
        [--latency-ms 0] [--db PATH] [--json] [--record FILE] [--compare-days 7,56]

``--json`` ends the output with one JSON line of every figure (for the load test);
``--record`` writes them to FILE with the command and machine, for the reliability
report (``docs/load/``). ``--compare-days 7,56`` backfills each range at the same daily
volume and compares them: a backfill's memory should be bounded by what a day holds, and
its cost per run should not grow with the range.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

END = date(2025, 12, 31)
TOKEN = "bench-token"  # the fake server's own, not a secret


def _mb(kib: int) -> float:
    return round(kib / 1024, 1)  # ru_maxrss is in KiB on Linux


def _child(api_url: str, repos: str, db: str, first: str, last: str) -> None:
    """One backfill of the whole graph in this process; prints a JSON line of figures."""
    from dagster import DagsterEventType, DagsterInstance

    from pipelines.kpi.build import TABLES
    from pipelines.materialize import run_pipeline
    from pipelines.resources import DuckDBStore, GitHubAPI

    resources = {
        "duckdb": DuckDBStore(path=db),
        "github": GitHubAPI(api_url=api_url, repos=repos, token=TOKEN),
    }
    per_day = {f"kpi__{t.name}" for t in TABLES if t.per_day}
    window = {f"kpi__{t.name}" for t in TABLES if not t.per_day}
    phase_of = {
        "github_workflow_runs": "raw runs",
        "github_workflow_jobs": "raw jobs",
        "test_results": "test results",
        "dashboard": "dashboard",
        **dict.fromkeys(per_day, "per-day KPIs"),
        **dict.fromkeys(window, "window KPIs"),
    }
    started = time.perf_counter()
    with DagsterInstance.ephemeral() as instance:
        results = run_pipeline(
            date.fromisoformat(first),
            date.fromisoformat(last),
            resources=resources,
            instance=instance,
        )
        wall = time.perf_counter() - started
        phases: dict[str, float] = {}
        steps: dict[str, float] = {}
        intervals: list[tuple[str, float, float]] = []
        for result in results:
            begun: dict[str, float] = {}
            for entry in instance.all_logs(result.run_id):
                event = entry.dagster_event
                if event is None or event.step_key is None:
                    continue
                if event.event_type == DagsterEventType.STEP_START:
                    begun[event.step_key] = entry.timestamp
                elif event.event_type in (
                    DagsterEventType.STEP_SUCCESS,
                    DagsterEventType.STEP_FAILURE,
                ):
                    seconds = entry.timestamp - begun[event.step_key]
                    steps[event.step_key] = steps.get(event.step_key, 0.0) + seconds
                    phase = phase_of.get(event.step_key, "checks")
                    phases[phase] = phases.get(phase, 0.0) + seconds
                    intervals.append((phase, begun[event.step_key], entry.timestamp))
    phases["Dagster between steps"] = wall - sum(phases.values())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "success": all(r.success for r in results),
                "wall_s": wall,
                "phases_s": phases,
                "slowest_steps_s": dict(sorted(steps.items(), key=lambda kv: -kv[1])[:8]),
                "peak_rss_mb": _mb(usage.ru_maxrss),
                "intervals": intervals,
                "cpu_s": usage.ru_utime + usage.ru_stime,
            }
        )
    )


def _sampled(cmd: list[str], env: dict) -> tuple[int, str, str, list[tuple[float, int]]]:
    """Run ``cmd``, sampling its RSS twice a second: (exit code, stdout, stderr, samples)."""
    import psutil

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        watched = psutil.Process(child.pid)
        samples: list[tuple[float, int]] = []
        while child.poll() is None:
            try:
                samples.append((time.time(), watched.memory_info().rss))
            except psutil.NoSuchProcess:
                break
            time.sleep(0.5)
        child.wait()
        out.seek(0)
        err.seek(0)
        return child.returncode, out.read(), err.read(), samples


def _peaks(samples: list[tuple[float, int]], intervals: list) -> dict[str, float]:
    """The highest sampled RSS (MB) within each phase's steps."""
    peaks: dict[str, float] = {}
    for phase, start, end in intervals:
        inside = [rss for t, rss in samples if start <= t <= end]
        if inside:
            peaks[phase] = max(peaks.get(phase, 0.0), round(max(inside) / 2**20, 1))
    return peaks


def _stored(db: Path) -> dict[str, int]:
    """What the store holds: runs, attempts, jobs, test executions, KPI tables."""
    from pipelines import store

    with store.connect(db, read_only=True) as con:
        runs, attempts = con.execute(
            "SELECT count(DISTINCT (repo, run_id)), count(*) FROM raw.workflow_runs"
        ).fetchone()
        jobs = con.execute("SELECT count(*) FROM raw.workflow_jobs").fetchone()[0]
        tests = con.execute("SELECT count(*) FROM raw.test_results").fetchone()[0]
        kpi_tables = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'kpi'"
        ).fetchone()[0]
    return {
        "runs": runs,
        "attempts": attempts,
        "jobs": jobs,
        "test_executions": tests,
        "kpi_tables": kpi_tables,
    }


def _file_mb(db: Path) -> float:
    files = [db, db.with_name(db.name + ".wal")]
    return round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 1)


def run(
    *,
    runs_per_day: float,
    days: int,
    repos: int,
    latency_ms: float,
    seed: int,
    db: Path,
    out_dir: Path,
) -> dict:
    """Generate, serve, backfill; every figure as a dict."""
    from pipelines.fake_github.generator import FakeConfig, generate
    from pipelines.fake_github.server import FakeGitHubServer

    first = END - timedelta(days=days - 1)
    config = FakeConfig(seed=seed, repos=repos, days=days, end_date=END, runs_per_day=runs_per_day)
    started = time.perf_counter()
    world = generate(config)
    generate_s = time.perf_counter() - started
    truth = world.expected_counts(first, END)
    generator_rss = _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    env = {
        **os.environ,
        "CI_METRICS_START_DATE": first.isoformat(),
        "CI_METRICS_OUTPUT_DIR": str(out_dir),
    }
    env.pop("DAGSTER_HOME", None)  # the child uses an ephemeral instance
    with FakeGitHubServer(
        world, token=TOKEN, latency_s=latency_ms / 1000.0, rate_limit=10**9
    ) as server:
        args = [sys.executable, __file__, "--child", server.url, ",".join(world.repos)]
        returncode, stdout, stderr, samples = _sampled(
            [*args, str(db), first.isoformat(), END.isoformat()], env
        )
        requests = server.stats.snapshot()
    if returncode != 0 or not stdout.strip():
        raise SystemExit(f"backfill failed:\n{stderr[-4000:]}")
    child = json.loads(stdout.strip().splitlines()[-1])
    dashboard = out_dir / "dashboard.html"
    return {
        "config": {
            "runs_per_day": runs_per_day,
            "days": days,
            "repos": repos,
            "latency_ms": latency_ms,
            "seed": seed,
            "first": first.isoformat(),
            "last": END.isoformat(),
        },
        "truth": truth,
        "stored": _stored(db),
        "success": child["success"],
        "generate_s": round(generate_s, 1),
        "backfill_s": round(child["wall_s"], 1),
        "phases_s": {k: round(v, 1) for k, v in child["phases_s"].items()},
        "slowest_steps_s": {k: round(v, 1) for k, v in child["slowest_steps_s"].items()},
        "runs_per_s": round(truth["runs"] / child["wall_s"], 1),
        "pipeline_cpu_s": round(child["cpu_s"], 1),
        "pipeline_peak_rss_mb": child["peak_rss_mb"],
        "pipeline_peak_rss_mb_by_phase": _peaks(samples, child["intervals"]),
        "generator_server_peak_rss_mb": _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
        "generator_peak_rss_mb": generator_rss,
        "children_peak_rss_mb": _mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss),
        "duckdb_mb": _file_mb(db),
        "dashboard_bytes": dashboard.stat().st_size if dashboard.exists() else 0,
        "requests": requests["requests"],
    }


def _print(f: dict) -> None:
    """One backfill's figures, a line per phase."""
    truth, stored = f["truth"], f["stored"]
    print(f"generated {truth['runs']} runs, {truth['jobs']} jobs in {f['generate_s']}s")
    print(
        f"backfill {f['config']['first']} … {f['config']['last']}: {f['backfill_s']}s wall, "
        f"{f['runs_per_s']} runs/s, {f['pipeline_cpu_s']}s CPU, "
        f"{'succeeded' if f['success'] else 'FAILED'}"
    )
    peaks = f["pipeline_peak_rss_mb_by_phase"]
    for phase, seconds in f["phases_s"].items():
        peak = f"  peak RSS {peaks[phase]:>7.1f} MB" if phase in peaks else ""
        print(f"  {phase:<22} {seconds:>8.1f}s{peak}")
    print(
        f"stored {stored['runs']} runs (world {truth['runs']}), {stored['attempts']} "
        f"attempts (world {truth['attempts']}), {stored['jobs']} jobs (world "
        f"{truth['jobs']}), {stored['test_executions']} test executions, "
        f"{stored['kpi_tables']} KPI tables"
    )
    print(
        f"peak RSS: pipeline {f['pipeline_peak_rss_mb']} MB, world + server "
        f"{f['generator_server_peak_rss_mb']} MB (world alone {f['generator_peak_rss_mb']} "
        f"MB); DuckDB file {f['duckdb_mb']} MB; dashboard {f['dashboard_bytes']} bytes"
    )


def _compare(figures: list[dict]) -> dict:
    """Per-run cost and peak RSS of backfills of different ranges at one daily volume."""
    rows = []
    for f in figures:
        runs = f["truth"]["runs"]
        rows.append(
            {
                "days": f["config"]["days"],
                "runs": runs,
                "backfill_ms_per_run": round(1000 * f["backfill_s"] / runs, 2),
                "cpu_ms_per_run": round(1000 * f["pipeline_cpu_s"] / runs, 2),
                "ms_per_run_by_phase": {
                    k: round(1000 * v / runs, 2) for k, v in f["phases_s"].items()
                },
                "peak_rss_mb": f["pipeline_peak_rss_mb"],
                "peak_rss_mb_by_phase": f["pipeline_peak_rss_mb_by_phase"],
            }
        )
    shortest, longest = rows[0], rows[-1]
    ratio = longest["peak_rss_mb"] / shortest["peak_rss_mb"]
    print(f"\nsame daily volume, {shortest['days']} to {longest['days']} days:")
    print(f"  {'days':>5} {'runs':>7} {'ms/run':>7} {'CPU ms/run':>10} {'peak RSS MB':>11}")
    for r in rows:
        print(
            f"  {r['days']:>5} {r['runs']:>7} {r['backfill_ms_per_run']:>7.2f} "
            f"{r['cpu_ms_per_run']:>10.2f} {r['peak_rss_mb']:>11.1f}"
        )
    phases = [p for p in longest["ms_per_run_by_phase"] if p in shortest["ms_per_run_by_phase"]]
    print(f"  {'phase':<22} " + " ".join(f"{r['days']:>4}d ms/run  peak MB" for r in rows))
    for phase in phases:
        cells = " ".join(
            f"{r['ms_per_run_by_phase'][phase]:>11.2f} "
            f"{r['peak_rss_mb_by_phase'].get(phase, 0):>8.1f}"
            for r in rows
        )
        print(f"  {phase:<22} {cells}")
    print(
        f"peak RSS {longest['days']} d / {shortest['days']} d = {ratio:.3f} "
        f"({'within' if abs(ratio - 1) <= 0.15 else 'NOT within'} 15 %)"
    )
    return {"rows": rows, "peak_rss_ratio": round(ratio, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-per-day", type=float, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repos", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--db", type=Path, help="DuckDB file to keep (default: a temp file)")
    parser.add_argument("--json", action="store_true", help="end with a JSON line of figures")
    parser.add_argument("--record", type=Path, help="write the figures to this JSON file")
    parser.add_argument(
        "--compare-days",
        type=lambda v: sorted(int(d) for d in v.split(",")),
        help="backfill each of these ranges (e.g. 7,56) at the same daily volume and compare "
        "per-run cost and peak RSS; instead of --days",
    )
    args = parser.parse_args()
    if args.compare_days is not None and (len(args.compare_days) < 2 or args.db or args.record):
        parser.error("--compare-days takes two or more ranges, without --db or --record")
    if args.compare_days:
        figures = []
        for days in args.compare_days:
            with tempfile.TemporaryDirectory() as tmp:
                print(
                    f"{days} days × {args.repos} repos × {args.runs_per_day:g} runs/day",
                    flush=True,
                )
                f = run(
                    runs_per_day=args.runs_per_day,
                    days=days,
                    repos=args.repos,
                    latency_ms=args.latency_ms,
                    seed=args.seed,
                    db=Path(tmp) / "load.duckdb",
                    out_dir=Path(tmp) / "reports",
                )
                _print(f)
                figures.append(f)
        compared = _compare(figures)
        if args.json:
            print(json.dumps({"runs": figures, "compared": compared}))
        return 0 if all(f["success"] for f in figures) else 1

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "load.duckdb"
        out_dir = (args.db.parent if args.db else Path(tmp)) / "reports"
        print(
            f"{args.days} days × {args.repos} repos × {args.runs_per_day:g} runs/day, "
            f"{args.latency_ms:g} ms per request",
            flush=True,
        )
        f = run(
            runs_per_day=args.runs_per_day,
            days=args.days,
            repos=args.repos,
            latency_ms=args.latency_ms,
            seed=args.seed,
            db=db,
            out_dir=out_dir,
        )
        _print(f)
        if args.json:
            print(json.dumps(f))
        if args.record:
            from record import record  # benchmarks/ is on the path: the script's own folder

            record(args.record, "load", f)
    return 0 if f["success"] else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:7])
    else:
        raise SystemExit(main())
