"""``ci-metrics report``: show the KPIs in the terminal, or print/write the summaries.

Reads the DuckDB store read-only, without starting Dagster, so it works during a load.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date

from pipelines import settings, store
from pipelines.kpi.filters import Filters
from reports.data import WINDOWS, default_as_of, load_report

# How long a report waits for a load that holds the store for writing before it says so.
LOCK_WAIT_S = store.LOCK_RETRY_S


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ci-metrics report",
        description="Show CI KPIs from the DuckDB store (CI_METRICS_DB).",
    )
    parser.add_argument("--window", type=int, choices=WINDOWS, default=7, help="days (7)")
    parser.add_argument(
        "--format", choices=("table", "md", "json"), default="table", help="output (table)"
    )
    parser.add_argument("--as-of", "--end", type=date.fromisoformat, help="window end, YYYY-MM-DD")
    parser.add_argument(
        "--start", type=date.fromisoformat, help="window start, YYYY-MM-DD (any period)"
    )
    for name, what in (
        ("repo", "owner/name"),
        ("workflow", "workflow name"),
        ("branch", "default, pr, other or a branch name"),
        ("event", "event, e.g. push"),
    ):
        parser.add_argument(
            f"--{name}", action="append", default=[], help=f"only runs of this {what} (repeat)"
        )
    parser.add_argument("--db", help="DuckDB file (default: CI_METRICS_DB)")
    parser.add_argument(
        "--write",
        action="store_true",
        help="also write dashboard.html, summary.md, metrics-report.json to "
        "CI_METRICS_OUTPUT_DIR and print their paths",
    )
    return parser


def report_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ci-metrics report``; returns the exit code."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    db = args.db or settings.get(settings.DB)
    limit = settings.get(settings.DUCKDB_MEMORY_LIMIT) or store.REPORT_MEMORY_LIMIT
    try:
        with store.connect(db, read_only=True, retry_s=LOCK_WAIT_S, memory_limit=limit) as con:
            as_of = args.as_of or default_as_of(con)
            if args.start is not None:
                if args.start > as_of:
                    print(
                        f"ci-metrics report: --start {args.start} is after {as_of}", file=sys.stderr
                    )
                    return 2
                args.window = (as_of - args.start).days + 1
            report = load_report(
                con,
                as_of=as_of,
                windows=sorted({*WINDOWS, args.window}),
                filters=Filters.of(args.repo, args.workflow, args.branch, args.event),
                config=settings.kpi_config(),
            )
    except FileNotFoundError as exc:
        print(f"ci-metrics report: {exc}", file=sys.stderr)
        return 2
    except store.StoreLockedError as exc:
        print(f"ci-metrics report: {exc}; try again when the load has finished", file=sys.stderr)
        return 3
    if args.format == "json":
        from reports.json_report import render_json

        sys.stdout.write(render_json(report))
    elif args.format == "md":
        from reports.markdown import render_markdown

        sys.stdout.write(render_markdown(report, window=args.window))
    else:
        from reports.terminal import render_terminal

        render_terminal(report, window=args.window)
    if args.write:
        from reports.files import write_reports

        paths = write_reports(
            report,
            settings.get(settings.OUTPUT_DIR),
            window=args.window,
            explorer_url=settings.get(settings.EXPLORER_URL),
        )
        for path in paths.values():
            print(path.resolve(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(report_main())
