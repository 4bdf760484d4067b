"""A table as every page shows it, and as its CSV and JSON exports give it.

A table is its columns and its rows (plain JSON-ready values). The page shows each value
formatted, the exports give the same rows and columns unformatted, so the CSV of a table
is the table on the page.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines import links
from pipelines.kpi import formatting

Link = Callable[[dict[str, Any]], str | None]


def github_page(row: dict[str, Any]) -> str | None:
    """The row's own GitHub page (``html_url``), when it is an http(s) address."""
    return links.web_url(row.get("html_url"))


def commit_link(row: dict[str, Any]) -> str | None:
    """The row's commit (``head_sha``) on its repository page (``repo_url``)."""
    return links.commit_url(links.web_url(row.get("repo_url")), row.get("head_sha"))


def pr_links(row: dict[str, Any]) -> list[tuple[str, str]]:
    """The row's pull requests (``pull_request_numbers``) on its repository page."""
    base = links.web_url(row.get("repo_url"))
    found = ((n, links.pull_url(base, n)) for n in row.get("pull_request_numbers") or [])
    return [(f"#{n}", url) for n, url in found if url]


def _text(value: Any) -> str:
    if value is None:
        return formatting.NO_VALUE
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return formatting.number(value, 2)
    if isinstance(value, int):
        return formatting.number(value)
    return str(value)


def _when(value: Any) -> str:
    return formatting.NO_VALUE if value is None else str(value).replace("T", " ")


def _usd(value: Any, digits: int = 2) -> str:
    return formatting.NO_VALUE if value is None else f"${value:,.{digits}f}"


FORMATS: dict[str, Callable[[Any], str]] = {
    "text": _text,
    "count": lambda v: formatting.number(v),
    "duration": formatting.duration,
    "percent": formatting.percent,
    "time": _when,
    "sha": lambda v: formatting.NO_VALUE if not v else str(v)[:7],
    "id": lambda v: formatting.NO_VALUE if v is None else str(v),
    "usd": _usd,
    "rate": lambda v: _usd(v, 3),  # USD per minute: GitHub's rates have three decimals
}


NUMERIC = ("count", "duration", "percent", "usd", "rate")  # right-aligned


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    fmt: str = "text"
    link: Link | None = None
    sortable: bool = True
    numeric: bool = False
    wrap: bool = False  # long free text (names, messages) may wrap; the rest stays on a line
    # several links in one cell (pull requests): (text, href) pairs
    links: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None


@dataclass
class Table:
    """One table of a page. ``sort``/``descending`` say how the rows are ordered; ``page``
    and ``total`` are set for a paged table."""

    name: str
    title: str
    columns: Sequence[Column]
    rows: list[dict[str, Any]]
    sort: str | None = None
    descending: bool = True
    page: int = 1
    page_size: int = 0
    total: int | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def records(self) -> list[dict[str, Any]]:
        """The rows as the exports give them: the table's columns, unformatted."""
        return [{c.key: r.get(c.key) for c in self.columns} for r in self.rows]

    def cells(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        """What the page shows in each cell of ``row``: text, link, alignment."""
        out = []
        for c in self.columns:
            value = row.get(c.key)
            text = FORMATS[c.fmt](value)
            links = c.links(row) if c.links else []
            out.append(
                {
                    "text": text,
                    "href": c.link(row) if c.link else None,
                    "links": links,
                    "numeric": c.numeric or c.fmt in NUMERIC,
                    "key": c.key,
                    "wrap": c.wrap,
                }
            )
        return out

    @property
    def pages(self) -> int:
        if not self.page_size or self.total is None:
            return 1
        return max(1, -(-self.total // self.page_size))


def csv_value(value: Any) -> str:
    """A value as its CSV cell: empty for none, lists as JSON, the rest as ``str``."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv(table: Table) -> str:
    """The table as CSV: a header of column keys, then one line per row shown."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c.key for c in table.columns])
    for record in table.records():
        writer.writerow([csv_value(v) for v in record.values()])
    return buf.getvalue()
