"""The runners page (``/runners?…``): where the filtered runs' jobs ran, by runner label set
and by runner group (GitHub-hosted or self-hosted), with queue time, compute minutes and
an estimate of what the GitHub-hosted minutes cost at the configured per-minute rates.

Compute minutes are the KPI layer's (each job rounded up to the whole minute, as GitHub
bills it); the cost of a label set is its minutes times its billing SKU's rate
(:mod:`reports.explorer.pricing`); self-hosted jobs cost 0 here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb

from reports.explorer import listings, pricing
from reports.explorer.page import Here, Page
from reports.explorer.tables import FORMATS, Column, Table

LINK_CHARS = 40
HOSTING = {"github-hosted": "GitHub-hosted", "self-hosted": "Self-hosted"}
LABEL_SORTS = ("hosting", "sku", "jobs", "queue_p50_s", "queue_p95_s", "compute_minutes")
LABEL_SORTS += ("compute_share", "rate_usd", "cost_usd")
GROUP_SORTS = ("hosting", "runner_group", "jobs", "runners", "queue_p50_s", "queue_p95_s")
GROUP_SORTS += ("compute_minutes", "compute_share")
GROUP_KEYS = ("hosting", "runner_group", "jobs", "runners", "queue_p50_s", "queue_p95_s")
GROUP_KEYS += ("compute_minutes",)
COST_SORTS = ("hosting", "os", "size", "sku", "jobs", "compute_minutes", "rate_usd", "cost_usd")


def _short(name: str, most: int = LINK_CHARS) -> str:
    """A workflow name as a link's text: a label set can serve many workflows."""
    return name if len(name) <= most else name[: most - 1] + "…"


def _share(rows: list[dict[str, Any]]) -> None:
    total = sum(r["compute_minutes"] for r in rows)
    for r in rows:
        r["compute_share"] = r["compute_minutes"] / total if total else None


def _label_rows(found: list[dict[str, Any]], rates: Mapping[str, float]) -> list[dict[str, Any]]:
    rows = []
    for r in found:
        hosted = r["hosting"] == "github-hosted"
        code = pricing.sku(r["labels"]) if hosted else None
        if hosted:
            rate = rates.get(code) if code else None
            cost = pricing.cost(r["compute_minutes"], code, rates)
        else:
            rate, cost = 0.0, 0.0
        rows.append(
            {
                "labels": r["labels"] or None,
                "hosting": HOSTING[r["hosting"]],
                "sku": code,
                "jobs": r["jobs"],
                "queue_p50_s": r["queue_p50_s"],
                "queue_p95_s": r["queue_p95_s"],
                "compute_minutes": r["compute_minutes"],
                "rate_usd": rate,
                "cost_usd": cost,
                "workflows": r["workflows"],
            }
        )
    _share(rows)
    return rows


def _cost_rows(labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The label sets' jobs, minutes and cost summed by billing SKU (self-hosted as one)."""
    by: dict[tuple[str, str | None], dict[str, Any]] = {}
    for r in labels:
        key = (r["hosting"], r["sku"])
        if key not in by:
            os_, size = pricing.sku_name(r["sku"]) if r["sku"] else (None, None)
            by[key] = {
                "hosting": r["hosting"],
                "os": os_,
                "size": size,
                "sku": r["sku"],
                "jobs": 0,
                "compute_minutes": 0,
                "rate_usd": r["rate_usd"],
                "cost_usd": 0.0 if r["cost_usd"] is not None else None,
            }
        row = by[key]
        row["jobs"] += r["jobs"]
        row["compute_minutes"] += r["compute_minutes"]
        if row["cost_usd"] is not None:
            row["cost_usd"] += r["cost_usd"]
    return list(by.values())


def _table(
    here: Here, name: str, title: str, columns: list[Column], rows: list, sorts: tuple, note: str
) -> Table:
    sort, descending = here.sort(name, "compute_minutes", sorts)
    rows = listings.sorted_rows(rows, sort, descending)
    return Table(name, title, columns, rows, sort=sort, descending=descending, note=note)


def runners(con: duckdb.DuckDBPyConnection, here: Here, rates: Mapping[str, float]) -> Page:
    q = here.question
    found = listings.runners(con, q.filters, q.period)
    labels = _label_rows([r for r in found if r["grouping_set"] == "labels"], rates)
    groups = [
        {k: r[k] for k in GROUP_KEYS} | {"hosting": HOSTING[r["hosting"]]}
        for r in found
        if r["grouping_set"] == "groups"
    ]
    _share(groups)
    costs = _cost_rows(labels)

    def workflow_links(row: dict[str, Any]) -> list[tuple[str, str]]:
        return [(_short(w), q.url("/workflow", workflow=w)) for w in row.get("workflows") or []]

    label_table = _table(
        here,
        "labels",
        "By runner label set",
        [
            Column("labels", "Labels", wrap=True, sortable=False),
            Column("hosting", "Hosting"),
            Column("sku", "Billing SKU"),
            Column("jobs", "Jobs", "count"),
            Column("queue_p50_s", "Queue p50", "duration"),
            Column("queue_p95_s", "Queue p95", "duration"),
            Column("compute_minutes", "Compute minutes", "count"),
            Column("compute_share", "Share", "percent"),
            Column("rate_usd", "USD/min", "rate"),
            Column("cost_usd", "Estimated cost", "usd"),
            Column("workflows", "Workflows", wrap=True, sortable=False, links=workflow_links),
        ],
        labels,
        LABEL_SORTS,
        "Labels are the runs-on labels a job asked for. Skipped jobs are left out.",
    )
    group_table = _table(
        here,
        "groups",
        "By runner group",
        [
            Column("hosting", "Hosting"),
            Column("runner_group", "Runner group", wrap=True),
            Column("jobs", "Jobs", "count"),
            Column("runners", "Runners", "count"),
            Column("queue_p50_s", "Queue p50", "duration"),
            Column("queue_p95_s", "Queue p95", "duration"),
            Column("compute_minutes", "Compute minutes", "count"),
            Column("compute_share", "Share", "percent"),
        ],
        groups,
        GROUP_SORTS,
        "",
    )
    cost_table = _table(
        here,
        "costs",
        "Estimated cost by operating system and size",
        [
            Column("hosting", "Hosting"),
            Column("os", "Operating system"),
            Column("size", "Size"),
            Column("sku", "Billing SKU"),
            Column("jobs", "Jobs", "count"),
            Column("compute_minutes", "Billed minutes", "count"),
            Column("rate_usd", "USD/min", "rate"),
            Column("cost_usd", "Estimated cost", "usd"),
        ],
        costs,
        COST_SORTS,
        "Each job is billed rounded up to the whole minute. Self-hosted runners cost 0 in "
        "this estimate; a GitHub-hosted label set without a known size has no rate.",
    )
    priced = [r["cost_usd"] for r in costs if r["cost_usd"] is not None]
    unpriced = sum(r["compute_minutes"] for r in costs if r["cost_usd"] is None)
    data = {
        "cost_usd": sum(priced) if priced else None,
        "unpriced_minutes": unpriced,
        "rates": dict(sorted(rates.items())),
        "rates_source": pricing.RATES_SOURCE,
        "rates_read": pricing.RATES_READ,
    }
    hosted = sum(r["compute_minutes"] for r in costs if r["hosting"] == HOSTING["github-hosted"])
    context = {
        "cost_text": FORMATS["usd"](data["cost_usd"]),
        "hosted_minutes": FORMATS["count"](hosted),
        "self_minutes": FORMATS["count"](sum(r["compute_minutes"] for r in costs) - hosted),
        "unpriced_minutes": FORMATS["count"](unpriced),
        "unpriced": unpriced,
    }
    return Page("runners.html.j2", "Runners", [label_table, group_table, cost_table], data, context)
