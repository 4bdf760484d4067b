"""The overview (``/``) and the workflows table (``/workflows``): KPI cards, daily charts
and one row per workflow, for the filter and period asked. Every number is the KPI
layer's (:func:`pipelines.kpi.query.kpis`, :func:`~pipelines.kpi.query.values`).

JSON (``?format=json``) keys the KPIs by their ``kpi.targets`` names::

    {"kpis": {KPI: {"value", "target", "status", ...}} | null,
     "repos": {REPO: {"kpis": {KPI: {...}}}}, ...}

``repos`` holds every repository the filter selects; ``kpis`` is the one repository's
KPIs when exactly one is selected (or the store has one), else null: KPIs are per
repository and are not added up across them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from pipelines import settings, store
from pipelines.kpi import formatting, query
from pipelines.kpi.catalogue import KPIS, MEASURES
from pipelines.kpi.config import KpiConfig
from reports.explorer import trends
from reports.explorer.listings import sorted_rows
from reports.explorer.page import Here, Page
from reports.explorer.params import Question
from reports.explorer.tables import Column, Table

WORKFLOW_MEASURES = (
    "runs",
    "success_rate",
    "duration_p50_s",
    "duration_p95_s",
    "compute_minutes",
    "run_flakiness_rate",
)
WORKFLOW_SORTS = (
    "runs",
    "success_rate",
    "duration_p50_s",
    "duration_p95_s",
    "compute_minutes",
    "run_flakiness_rate",
    "workflow_name",
    "repo",
)


def card_link(q: Question, kpi: str, config: KpiConfig) -> str:
    """Where a KPI card leads: what drives the KPI, with the same filter and period."""
    pr = {} if q.filters.branches else {"branch": "pr"}
    if kpi in ("pr_validation_avg_s", "developer_wait_reduction"):
        return q.url("/workflows", workflows_sort="duration_p95_s", **pr)
    if kpi == "test_flakiness_rate":
        return q.url("/tests", tests_sort="flaky_commits")
    if kpi == "full_suite_p95_s":
        return q.url("/workflow", workflow=config.full_suite_workflow)
    if kpi == "compute_minutes_reduction":
        return q.url("/workflows", workflows_sort="compute_minutes")
    return q.url("/workflows", workflows_sort="run_flakiness_rate")


def kpi_cards(
    con: duckdb.DuckDBPyConnection, repos: list[str], q: Question, config: KpiConfig
) -> dict[str, dict[str, Any]]:
    """Per repo, per KPI: the layer's value, target and status over the period."""
    got = query.kpis(con, repos, q.filters, q.period, config=config)
    return {
        repo: {
            name: {
                "value": v.value,
                "target": v.kpi.target,
                "status": v.status,
                "comparator": v.kpi.comparator,
                "window_value": v.window_value,
                "baseline_value": v.baseline_value,
            }
            for name, v in cards.items()
        }
        for repo, cards in got.items()
    }


def _card_view(repo_cards: dict[str, dict[str, Any]], q: Question, config: KpiConfig) -> list:
    out = []
    for repo, cards in repo_cards.items():
        shown = []
        for name, c in cards.items():
            kpi = KPIS[name]
            target = formatting.kpi_target(kpi.comparator, kpi.target, kpi.unit)
            card = {
                **c,
                "kpi": name,
                "label": kpi.label,
                "text": formatting.kpi_value(c["value"], kpi.unit),
                "target_text": f"Target {target}",
                "status_label": formatting.STATUS_LABELS[c["status"]],
                "href": card_link(q, name, config),
                "measured": False,
                "suffix": "",
            }
            if formatting.shows_measured(kpi, c["value"], c["window_value"]):
                value = formatting.measured(c["window_value"], MEASURES[kpi.measure].unit)
                card["text"], card["suffix"] = value
                card["target_text"] = formatting.measured_target(kpi)
                card["measured"] = True
            shown.append(card)
        out.append({"repo": repo, "cards": shown})
    return out


def workflow_table(con: duckdb.DuckDBPyConnection, here: Here, config: KpiConfig) -> Table:
    """One row per (repo, workflow) of the filtered runs over the period."""
    q = here.question
    got = query.values(con, WORKFLOW_MEASURES, q.filters, q.period, by=["workflow"], config=config)
    rows = [
        {"repo": repo, "workflow_name": wf, **{m: v.get(m) for m in WORKFLOW_MEASURES}}
        for (repo, wf, _), v in got.items()
    ]
    sort, descending = here.sort("workflows", "runs", WORKFLOW_SORTS)

    rows = sorted_rows(
        sorted(rows, key=lambda r: (r["repo"], r["workflow_name"] or "")), sort, descending
    )

    def link(row: dict[str, Any]) -> str | None:
        if row["workflow_name"] is None:
            return None
        return q.url("/workflow", workflow=row["workflow_name"], repo=row["repo"])

    columns = [
        Column("repo", "Repository", wrap=True),
        Column("workflow_name", "Workflow", wrap=True, link=link),
        Column("runs", "Runs", "count"),
        Column("success_rate", "Success rate", "percent"),
        Column("duration_p50_s", "Duration p50", "duration"),
        Column("duration_p95_s", "Duration p95", "duration"),
        Column("compute_minutes", "Compute minutes", "count"),
        Column("run_flakiness_rate", "Run flakiness", "percent"),
    ]
    return Table("workflows", "Workflows", columns, rows, sort=sort, descending=descending)


def overview(
    con: duckdb.DuckDBPyConnection,
    here: Here,
    config: KpiConfig,
    known: Sequence[str],
    *,
    charts: bool = True,
) -> Page:
    """``known``: every repository of the store (:func:`pipelines.kpi.query.known_repos`)."""
    q = here.question
    repos = q.filters.within(known)
    # the cards, the table and the charts ask independent questions: side by side
    cards, table, drawn = store.parallel(
        con,
        lambda c: kpi_cards(c, repos, q, config),
        lambda c: workflow_table(c, here, config),
        lambda c: trends.daily(c, repos, q.filters, q.period, config) if charts else None,
    )
    data: dict[str, Any] = {
        "kpis": cards[repos[0]] if len(repos) == 1 else None,
        "repos": {repo: {"kpis": cards[repo]} for repo in repos},
    }
    context: dict[str, Any] = {
        "card_groups": _card_view(cards, q, config),
        "figures": [],
        "baseline_keys": (settings.BASELINE_START.key, settings.BASELINE_END.key),
    }
    if drawn is not None:
        data["series"] = drawn["series"]
        context["figures"] = drawn["figures"]
    return Page("overview.html.j2", "Overview", [table], data, context)


def workflows(con: duckdb.DuckDBPyConnection, here: Here, config: KpiConfig) -> Page:
    return Page("workflows.html.j2", "Workflows", [workflow_table(con, here, config)])
