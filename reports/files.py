"""Write the three report files beside each other in the output directory.

Each file is written to a temporary name and renamed, so a browser or a CI step never
reads a half-written dashboard.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from reports.html import render_html
from reports.json_report import render_json
from reports.markdown import render_markdown

DASHBOARD = "dashboard.html"
SUMMARY = "summary.md"
JSON_REPORT = "metrics-report.json"


def _write(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_reports(
    report: dict[str, Any], out_dir: str | Path, *, window: int = 7, explorer_url: str = ""
) -> dict[str, Path]:
    """Write dashboard.html, summary.md and metrics-report.json; their paths by kind.

    ``window`` is the dashboard's initially shown window (the targets' 7 days unless
    asked); the summary uses the 7-day window of the KPI contract. ``explorer_url``: the
    explorer the dashboard links to (empty: no explorer links).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {
        "dashboard": _write(
            out / DASHBOARD, render_html(report, default_window=window, explorer_url=explorer_url)
        ),
        "summary": _write(out / SUMMARY, render_markdown(report, window=7)),
        "json": _write(out / JSON_REPORT, render_json(report)),
    }
