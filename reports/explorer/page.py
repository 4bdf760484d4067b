"""What a page handler returns: its title, template context, tables and JSON data, and the
URL helpers its links are built with."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from reports.explorer.params import Question, page_number
from reports.explorer.tables import Table


@dataclass
class Page:
    """``data`` is the JSON export's top level besides ``tables``."""

    template: str
    title: str
    tables: list[Table] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)


@dataclass(frozen=True)
class Here:
    """The request's path and parameters, to link to the same page with some changed."""

    path: str
    pairs: Sequence[tuple[str, str]]
    question: Question

    def with_(self, **changes: Iterable[str] | str | None) -> str:
        """This page's URL with the named parameters replaced (None removes one)."""
        kept = [(k, v) for k, v in self.pairs if k not in changes]
        for k, value in changes.items():
            if value is None:
                continue
            kept += [(k, v) for v in ([value] if isinstance(value, str) else value)]
        query = urlencode(kept)
        return f"{self.path}?{query}" if query else self.path

    def value(self, name: str) -> str | None:
        return next((v for k, v in self.pairs if k == name and v), None)

    def page(self, table: str) -> int:
        """The page asked of ``table`` (``<table>_page``), from 1; a bad one is a 400."""
        name = f"{table}_page"
        return page_number({name: [self.value(name) or "1"]}, name)

    def sort(self, table: str, default: str, allowed: Iterable[str]) -> tuple[str, bool]:
        """The sort column and direction asked for ``table`` (``<table>_sort``,
        ``<table>_dir``); an unknown column falls back to ``default``."""
        key = self.value(f"{table}_sort") or default
        if key not in set(allowed):
            key = default
        return key, self.value(f"{table}_dir") != "asc"
