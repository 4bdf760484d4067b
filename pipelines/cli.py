"""``ci-metrics``: the command line (demo, fake GitHub server, manual materialization).

Each subcommand imports what it needs on demand, so ``ci-metrics --help`` is fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path


def _demo(args: argparse.Namespace) -> int:
    from pipelines.demo import run_demo

    return run_demo(days=args.days, seed=args.seed, repos=args.repos, verbose=args.verbose)


def _fake_github(argv: list[str]) -> int:
    from pipelines.fake_github.server import main as serve

    return serve(argv)


def _materialize(args: argparse.Namespace) -> int:
    from pipelines.definitions import resources
    from pipelines.materialize import local_instance, run_pipeline
    from pipelines.progress import StepProgress

    last = args.end or (datetime.now(UTC).date() - timedelta(days=1))
    first = args.start or last
    progress = None if args.verbose else StepProgress()
    results = run_pipeline(
        first, last, resources=resources(), instance=local_instance(), progress=progress
    )
    return 0 if all(r.success for r in results) else 1


def _ingest(args: argparse.Namespace) -> int:
    from pipelines import settings, store
    from pipelines.drop_folder import report_files, settle, summary_lines
    from pipelines.testresults.loader import ingest_files
    from pipelines.testresults.rows import RunContext

    overrides = RunContext(
        repo=args.repo,
        run_id=args.run_id,
        run_attempt=args.run_attempt,
        head_sha=args.sha,
        branch=args.branch,
        workflow=args.workflow,
    )
    files = list(report_files(args.paths))
    limit = settings.get(settings.DUCKDB_MEMORY_LIMIT) or store.LOAD_MEMORY_LIMIT
    with store.connect(settings.get(settings.DB), memory_limit=limit) as con:
        summary = ingest_files(con, files, context_overrides=overrides)
        store.set_memory_limit(
            con, settings.get(settings.DUCKDB_MEMORY_LIMIT) or store.BUILD_MEMORY_LIMIT
        )
        settled = settle(con, summary.days)
    for line in summary_lines(summary):
        print(line)
    for e in settled.evaluations:
        if not e.passed:
            print(f"check {e.check_name} failed: {e.description}")
    if settled.blocked:
        print("test facts not refreshed until those rows are mended")
    readable = summary.files_read + summary.files_skipped_duplicate
    return 3 if settled.blocked else 0 if readable else 1


VERBOSE_HELP = "print Dagster's event log as the run goes, instead of a line per step"


def _serve(args: argparse.Namespace) -> int:
    from reports.explorer.server import serve

    return serve(args.host, args.port, args.db)


def _day(value: str) -> date:
    return date.fromisoformat(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ci-metrics", description="CI analytics for GitHub Actions and pytest."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo",
        help="start the bundled fake GitHub server and extract its last days into DuckDB",
        description=(
            "Materialize the raw GitHub assets for the last DAYS days as one ranged run on the "
            "local Dagster instance. With GITHUB_TOKEN and CI_METRICS_REPOS set, reads GitHub "
            "itself instead of the fake server."
        ),
    )
    demo.add_argument("--days", type=int, default=14)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--repos", type=int, default=2)
    demo.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    demo.set_defaults(func=_demo)

    sub.add_parser(
        "fake-github",
        help="serve the fake GitHub API on 127.0.0.1 (see ci-metrics fake-github --help)",
        add_help=False,
    )

    ingest = sub.add_parser(
        "ingest",
        help="ingest JUnit XML / plugin files, folders and zips into the store",
        description=(
            "Ingest report files through the same loader the drop-folder sensor's runs use. "
            "Exits non-zero only when nothing could be read."
        ),
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--repo", help="owner/name the results belong to")
    ingest.add_argument("--run-id", type=int)
    ingest.add_argument("--run-attempt", type=int)
    ingest.add_argument("--sha", help="head commit SHA")
    ingest.add_argument("--branch")
    ingest.add_argument("--workflow")
    ingest.set_defaults(func=_ingest)

    sub.add_parser(
        "dev",
        help="dagster dev (default -w workspace.yaml) with SIGINT and SIGTERM at their "
        "defaults, so `kill PID` stops it even when started in the background",
        add_help=False,
    )

    sub.add_parser(
        "report",
        help="KPIs in the terminal, or as Markdown / JSON (see ci-metrics report --help)",
        add_help=False,
    )

    mat = sub.add_parser(
        "materialize",
        help="materialize everything for a day range: raw data and per-day KPIs in one run, "
        "then the window tables and the dashboard",
    )
    mat.add_argument("--start", type=_day, help="first day, YYYY-MM-DD (default: --end)")
    mat.add_argument("--end", type=_day, help="last day, YYYY-MM-DD (default: yesterday UTC)")
    mat.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    mat.set_defaults(func=_materialize)

    srv = sub.add_parser("serve", help="the read-only explorer web app on 127.0.0.1:8080")
    srv.add_argument("--host", default="127.0.0.1", help="address (non-loopback needs a token)")
    srv.add_argument("--port", type=int, default=8080)
    srv.add_argument("--db", help="DuckDB store (default: CI_METRICS_DB)")
    srv.set_defaults(func=_serve)
    return parser


def _default_dagster_home() -> None:
    """Without DAGSTER_HOME, use the project's ``dagster_home/`` when run from its folder."""
    if not os.environ.get("DAGSTER_HOME") and Path("dagster_home/dagster.yaml").exists():
        os.environ["DAGSTER_HOME"] = str(Path("dagster_home").resolve())


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "fake-github":
        return _fake_github(argv[1:])
    if argv and argv[0] == "report":
        from reports.cli import report_main

        return report_main(argv[1:])
    if argv and argv[0] == "dev":
        from pipelines.dev import run_dev

        _default_dagster_home()
        return run_dev(argv[1:])
    args = build_parser().parse_args(argv)
    _default_dagster_home()
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
