"""Reliability cases record what they tried and what they measured; the controller
process writes one JSON line per case, which ``tests/reliability/report.py`` turns
into ``docs/reliability.md``."""

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

OUT_ENV = "CI_METRICS_RELIABILITY_OUT"
KEY = "reliability"
DOC_KEY = "reliability-doc"


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``record(area, case, tried, outcome, **figures)``: one row of the reliability table.

    ``outcome`` says what was measured (not what was hoped); the row also carries the
    test's pass/fail status, so a failing case shows up as such in the report.
    """

    def _record(area: str, case: str, tried: str, outcome: str, **figures: object) -> None:
        row = {"area": area, "case": case, "tried": tried, "outcome": outcome}
        if figures:
            row["figures"] = {k: v for k, v in figures.items()}
        request.node.user_properties.append((KEY, json.dumps(row, default=str)))

    return _record


@pytest.fixture(autouse=True)
def _describe_case(request: pytest.FixtureRequest) -> None:
    """A case that records no row still appears, described by its docstring."""
    doc = (request.function.__doc__ or "").strip().split("\n\n")[0]
    request.node.user_properties.append((DOC_KEY, " ".join(doc.split())))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    out = os.environ.get(OUT_ENV)
    if not out or os.environ.get("PYTEST_XDIST_WORKER"):
        return  # only the controller writes; workers' reports reach it with their rows
    if report.when != "call" and not report.failed:
        return
    rows = [json.loads(v) for k, v in report.user_properties if k == KEY]
    if not rows:
        doc = next((v for k, v in report.user_properties if k == DOC_KEY), "")
        name = report.nodeid.rsplit("::", 1)[-1]
        rows = [{"area": "other", "case": name, "tried": doc, "outcome": ""}]
    with Path(out).open("a", encoding="utf-8") as f:
        for row in rows:
            row["test"] = report.nodeid
            row["status"] = report.outcome
            f.write(json.dumps(row) + "\n")
