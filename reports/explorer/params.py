"""What a request asks for: the filter, the period and table paging, read from the URL.

Every page takes the same parameters (``repo``, ``workflow``, ``branch``, ``event``,
``start``, ``end``, each repeatable), so a link keeps the question when it changes the
page. Without ``start``/``end`` the period is the 7 days ending on the last day the store
has runs for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

import duckdb

from pipelines.kpi.filters import Filters, Period
from pipelines.store import table_exists

DEFAULT_DAYS = 7
PRESETS: tuple[int, ...] = (7, 30, 90)
MAX_DAYS = 3660


class BadRequestError(ValueError):
    """A parameter that cannot be read; the page answers 400 with this message."""


def last_data_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last day with runs: of ``kpi.run_facts``, else of ``raw.workflow_runs``."""
    if table_exists(con, "kpi", "run_facts"):
        day = con.execute("SELECT max(day) FROM kpi.run_facts").fetchone()[0]
        if day is not None:
            return day
    if table_exists(con, "raw", "workflow_runs"):
        return con.execute("SELECT max(created_at)::DATE FROM raw.workflow_runs").fetchone()[0]
    return None


def _day(params: Mapping[str, list[str]], name: str) -> date | None:
    values = [v for v in params.get(name, []) if v]
    if not values:
        return None
    if len(set(values)) > 1:
        raise BadRequestError(f"{name}: give one day, not {len(values)}")
    try:
        return date.fromisoformat(values[0])
    except ValueError:
        raise BadRequestError(f"{name}: {values[0]!r} is not a day (YYYY-MM-DD)") from None


def period_from(params: Mapping[str, list[str]], last_day: date | None) -> Period:
    """``start``..``end`` from the URL; a missing end is the last data day (else today's
    date is no better guess than any: the 7 days ending on the last data day)."""
    start, end = _day(params, "start"), _day(params, "end")
    if end is None:
        anchor = last_day or date.today()
        end = max(anchor, start) if start else anchor
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise BadRequestError(f"end ({end}) is before start ({start})")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadRequestError(f"the period has more than {MAX_DAYS} days")
    return Period(start, end)


def page_number(params: Mapping[str, list[str]], name: str = "page") -> int:
    raw = (params.get(name) or ["1"])[0] or "1"
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestError(f"{name}: {raw!r} is not a number") from None
    if value < 1:
        raise BadRequestError(f"{name}: pages start at 1")
    return value


@dataclass(frozen=True)
class Question:
    """The filter and period of a request, and how to write them back into a URL."""

    filters: Filters
    period: Period
    explicit_period: bool

    @classmethod
    def read(cls, params: Mapping[str, list[str]], last_day: date | None) -> Question:
        explicit = bool(params.get("start") or params.get("end"))
        return cls(Filters.from_query(params), period_from(params, last_day), explicit)

    def pairs(self, **extra: Iterable[str] | str | None) -> list[tuple[str, str]]:
        """URL parameters for this question; ``extra`` replaces (None drops) a name."""
        pairs = [(k, v) for k, v in self.filters.query() if k not in extra]
        pairs += [("start", self.period.start.isoformat()), ("end", self.period.end.isoformat())]
        pairs = [(k, v) for k, v in pairs if k not in extra]
        for k, value in extra.items():
            if value is None:
                continue
            for v in [value] if isinstance(value, str) else value:
                pairs.append((k, v))
        return pairs

    def url(self, path: str, **extra: Iterable[str] | str | None) -> str:
        query = urlencode(self.pairs(**extra))
        return f"{path}?{query}" if query else path

    def preset(self, path: str, days: int, **extra: Iterable[str] | str | None) -> str:
        """The same question over the ``days`` days ending on this period's end."""
        start = self.period.end - timedelta(days=days - 1)
        return self.url(path, start=start.isoformat(), **extra)
