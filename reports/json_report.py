"""``metrics-report.json``: the report's numbers in a versioned, documented shape.

Other tools (a PR bot, a spreadsheet import) read this file, so its layout is versioned:
``schema_version`` changes whenever a key is renamed or removed; new keys may appear
without a change.
"""

from __future__ import annotations

import json
from typing import Any

SCHEMA_VERSION = 1


def build_json(report: dict[str, Any]) -> dict[str, Any]:
    """The JSON document: schema version, then the report (values, targets, tables)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": report["generated_at"],
        "as_of": report["as_of"],
        "repos": report["repos"],
        "full_suite_workflow": report["full_suite_workflow"],
        "filters": report["filters"],
        "windows": report["windows"],
        "tests": report["tests"],
        "freshness": report["freshness"],
        "checks": report["checks"],
    }


def render_json(report: dict[str, Any]) -> str:
    """``metrics-report.json`` text (UTF-8; no NaN, so strict parsers accept it)."""
    return json.dumps(build_json(report), indent=1, ensure_ascii=False, allow_nan=False) + "\n"
