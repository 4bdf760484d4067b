"""Every view shows the same number for the same question, equal to the definitions.

A store is built by the real pipeline (``ci-metrics materialize``) from the bundled fake
GitHub server. Then, for several filters and periods:

- ``kpi.targets``, the dashboard's cards, ``metrics-report.json``, ``summary.md``,
  ``ci-metrics report --format json|md`` and the KPI layer give each KPI the same value;
- the KPI layer equals a plain-Python reading of the definitions over the generator's own
  runs (its ground truth), filters applied to runs before any unit is formed.
"""

from __future__ import annotations

import html
import json
import math
import re
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from pipelines import store
from pipelines.fake_github.generator import FakeConfig, FakeRun, FakeWorld, generate
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.kpi import formatting, query
from pipelines.kpi.catalogue import KPIS, PR_EVENTS
from pipelines.kpi.config import KpiConfig
from pipelines.kpi.filters import Filters, Period
from tests.conftest import dagster_home, server_env
from tests.reference import quantile

pytestmark = pytest.mark.slow

END = date(2025, 3, 10)
DAYS = 12
BASELINE = Period(END - timedelta(days=DAYS - 1), END - timedelta(days=DAYS - 4))
FULL_SUITE = "CI"
DEFAULT_BRANCH = "main"  # the fake server's repositories all have it


@pytest.fixture(scope="module")
def world() -> FakeWorld:
    return generate(
        FakeConfig(seed=23, repos=2, days=DAYS, end_date=END, runs_per_day=30, late_rerun_p=0)
    )


@pytest.fixture(scope="module")
def built(world: FakeWorld, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The store and reports of one ranged pipeline run over the world's days."""
    tmp = tmp_path_factory.mktemp("agreement")
    db, out = tmp / "store.duckdb", tmp / "reports"
    with FakeGitHubServer(world, token="ghp_agreement_token") as server:
        env = server_env(server, home=dagster_home(tmp / "home"), db=db, out=out)
        env["GITHUB_TOKEN"] = "ghp_agreement_token"
        env["CI_METRICS_BASELINE_START"] = BASELINE.start.isoformat()
        env["CI_METRICS_BASELINE_END"] = BASELINE.end.isoformat()
        env["CI_METRICS_FULL_SUITE_WORKFLOW"] = FULL_SUITE
        first = END - timedelta(days=DAYS - 1)
        done = subprocess.run(
            [
                *[sys.executable, "-m", "pipelines.cli", "materialize"],
                "--start",
                str(first),
                "--end",
                str(END),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    return {"db": db, "out": out, "env": env}


def cli_report(built: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "report", "--as-of", str(END), *args],
        env=built["env"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def layer(built: dict, filters: Filters, period: Period) -> dict[str, dict]:
    config = KpiConfig(FULL_SUITE, BASELINE)
    with store.connect(built["db"], read_only=True) as con:
        repos = query.known_repos(con, filters)
        got = query.kpis(con, repos, filters, period, config=config)
    return {repo: {k: v.as_dict() for k, v in cards.items()} for repo, cards in got.items()}


def json_cards(doc: dict, days: int) -> dict[tuple[str, str], tuple]:
    return {
        (c["repo"], c["kpi"]): (c["value"], c["status"]) for c in doc["windows"][str(days)]["kpis"]
    }


def md_cells(text: str, repo: str, label: str) -> list[str]:
    """The summary's KPI row (named "repo: label", or "label" when it shows one repo)."""
    heads = (f"| {repo}: {label} |", f"| {label} |")
    line = next(ln for ln in text.splitlines() if ln.startswith(heads))
    return [c.strip() for c in line.strip("|").split("|")]


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# ---- every view agrees


def test_every_view_shows_the_targets_value_for_the_seven_day_window(built: dict) -> None:
    with store.connect(built["db"], read_only=True) as con:
        targets = {
            (repo, kpi): (value, status)
            for repo, kpi, value, status in con.execute(
                "SELECT repo, kpi, value, status FROM kpi.targets WHERE day = ?", [END]
            ).fetchall()
        }
    assert len(targets) == 2 * len(KPIS)
    statuses = {s for _, s in targets.values()}
    assert "ok" in statuses or "breach" in statuses  # real numbers, not only no_data

    ours = layer(built, Filters(), Period.ending(END, 7))
    files = json.loads((built["out"] / "metrics-report.json").read_text())
    printed = json.loads(cli_report(built, "--format", "json"))
    summary = (built["out"] / "summary.md").read_text()
    dashboard = html.unescape((built["out"] / "dashboard.html").read_text())
    section = dashboard.split('data-window="7"', 1)[1].split("data-window=", 1)[0]
    shown = {
        (m["repo"], m["kpi"]): (m["status"], m["text"])
        for m in re.finditer(
            r'data-kpi="(?P<kpi>[^"]+)" data-repo="(?P<repo>[^"]+)" data-value="[^"]*" '
            r'data-status="(?P<status>[^"]+)">.*?card-value">(?P<text>[^<]*)<',
            section,
            re.S,
        )
    }
    for (repo, kpi), (value, status) in targets.items():
        card = ours[repo][kpi]
        assert close(card["value"], value) and card["status"] == status, (repo, kpi)
        for doc in (files, printed):
            got_value, got_status = json_cards(doc, 7)[(repo, kpi)]
            assert close(got_value, value) and got_status == status, (repo, kpi)
        text = formatting.kpi_value(value, KPIS[kpi].unit)
        assert md_cells(summary, repo, KPIS[kpi].label)[1] == text, (repo, kpi)
        assert shown[(repo, kpi)] == (status, text), (repo, kpi)


FILTERS = (
    Filters.of(branches=["pr"]),
    Filters.of(branches=["default"]),
    Filters.of(branches=["other"], events=["push"]),
    Filters.of(workflows=["CI"]),
    Filters.of(workflows=["Lint", "Docs"], branches=["default", "pr"]),
    Filters.of(repos=["acme/repo-1"], events=["pull_request"]),
)
PERIODS = (Period.ending(END, 7), Period(END - timedelta(days=9), END - timedelta(days=2)))


def _args(filters: Filters, period: Period) -> list[str]:
    args = ["--start", str(period.start), "--as-of", str(period.end)]
    return args + [f"--{k}={v}" for k, v in filters.query()]


@pytest.mark.parametrize(
    "filters", FILTERS, ids=lambda f: "&".join(f"{k}={v}" for k, v in f.query())
)
def test_filtered_views_agree_with_the_layer(built: dict, filters: Filters) -> None:
    for period in PERIODS:
        ours = layer(built, filters, period)
        assert ours, "the filter selects runs of some repository"
        printed = json_cards(
            json.loads(cli_report(built, "--format", "json", *_args(filters, period))), period.days
        )
        markdown = cli_report(built, "--format", "md", *_args(filters, period))
        assert {r for r, _ in printed} == set(ours)
        for repo, cards in ours.items():
            for kpi, card in cards.items():
                value, status = printed[(repo, kpi)]
                assert close(value, card["value"]) and status == card["status"], (repo, kpi)
                text = formatting.kpi_value(card["value"], KPIS[kpi].unit)
                assert md_cells(markdown, repo, KPIS[kpi].label)[1] == text, (repo, kpi)


# ---- the layer against the generator's ground truth


def _class(run: FakeRun, attempt) -> str | None:
    if attempt.status != "completed":
        return None
    if attempt.conclusion == "success":
        return "success"
    if attempt.conclusion in ("failure", "timed_out", "startup_failure"):
        return "failure"
    return "excluded"


def _duration(attempt) -> float | None:
    if attempt.status != "completed" or attempt.updated_at < attempt.run_started_at:
        return None
    return (attempt.updated_at - attempt.run_started_at).total_seconds()


def _selected(run: FakeRun, f: Filters) -> bool:
    cls = (
        "pr"
        if run.event in PR_EVENTS
        else "default"
        if run.head_branch == DEFAULT_BRANCH
        else "other"
    )
    return (
        (not f.repos or run.repo in f.repos)
        and (not f.workflows or run.workflow_name in f.workflows)
        and (not f.events or run.event in f.events)
        and (not f.branches or cls in f.branches or run.head_branch in f.branches)
    )


def _day(ts: datetime) -> date:
    return ts.astimezone(UTC).date()


def truth(world: FakeWorld, f: Filters, period: Period, repo: str) -> dict[str, float | None]:
    """The measures of the KPIs, read straight from the definitions over the world's runs.
    (Test flakiness comes from the artifacts' reports and is left to the view checks.)"""
    runs = [r for r in world.all_runs(repo) if _selected(r, f)]
    inside = [r for r in runs if period.start <= _day(r.created_at) <= period.end]
    final = {r.run_id: r.attempts[-1] for r in runs}
    pr = [
        _duration(final[r.run_id])
        for r in inside
        if r.event in PR_EVENTS and _class(r, final[r.run_id]) in ("success", "failure")
    ]
    suite = [
        _duration(final[r.run_id])
        for r in inside
        if r.workflow_name == FULL_SUITE and _class(r, final[r.run_id]) == "success"
    ]
    minutes = 0
    for r in inside:
        for a in r.attempts:
            if a.status != "completed":
                continue
            for j in a.jobs:
                if j.started_at and j.completed_at and j.conclusion != "skipped":
                    seconds = (j.completed_at - j.started_at).total_seconds()
                    if seconds >= 0:
                        minutes += math.ceil(seconds / 60)
    units: dict[tuple, list[FakeRun]] = defaultdict(list)
    for r in runs:
        units[(r.workflow_id, r.head_sha)].append(r)
    flaky = counted = 0
    for members in units.values():
        classes = {_class(r, a) for r in members for a in r.attempts}
        first = min(_day(r.created_at) for r in members)
        if classes & {"success", "failure"} and period.start <= first <= period.end:
            counted += 1
            flaky += {"success", "failure"} <= classes
    commits: dict[str, list[FakeRun]] = defaultdict(list)
    for r in runs:
        if r.event in PR_EVENTS:
            commits[r.head_sha].append(r)
    waits = []
    for members in commits.values():
        first = min(r.created_at for r in members)
        if not period.start <= _day(first) <= period.end:
            continue
        if all(final[r.run_id].status == "completed" for r in members):
            waits.append((max(final[r.run_id].updated_at for r in members) - first).total_seconds())
    return {
        "pr_validation_avg_s": sum(pr) / len(pr) if pr else None,
        "full_suite_p95_s": quantile(suite, 0.95),
        "compute_minutes_per_day": minutes / period.days if inside else None,
        "run_flakiness_rate": flaky / counted if counted else None,
        "developer_wait_mean_s": sum(waits) / len(waits) if waits else None,
    }


@pytest.mark.parametrize(
    "filters",
    (Filters(), *FILTERS),
    ids=lambda f: "&".join(f"{k}={v}" for k, v in f.query()) or "all",
)
def test_layer_equals_the_definitions_over_the_generated_runs(
    built: dict, world: FakeWorld, filters: Filters
) -> None:
    checked = 0
    for period in PERIODS:
        ours = layer(built, filters, period)
        for repo in world.repos:
            expected = truth(world, filters, period, repo)
            for kpi in KPIS.values():
                if kpi.measure not in expected:
                    continue
                got = ours.get(repo, {}).get(kpi.name, {}).get("window_value")
                assert close(got, expected[kpi.measure]), (repo, kpi.name, period)
                checked += expected[kpi.measure] is not None
    assert checked > 0
