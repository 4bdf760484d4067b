"""What a question is asked about: which runs (filters) and which days (period).

Runs are filtered before any KPI forms its units, so a filtered value is the KPI of the
selected runs alone. Every view takes the same filter: ``repo``, ``workflow``, ``branch``
(``default``, ``pr``, ``other`` or a branch name), ``event``, ``start`` and ``end``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pipelines.kpi.catalogue import BRANCH_CLASSES


def parse_day(value: str, name: str) -> date | None:
    """A YYYY-MM-DD day (None when blank), with an error naming where it came from."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{name}: {value!r} is not a day (YYYY-MM-DD)") from None


def _values(values: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values or () if v))


@dataclass(frozen=True)
class Filters:
    """Runs selected by repository, workflow name, branch and event; empty means all."""

    repos: tuple[str, ...] = ()
    workflows: tuple[str, ...] = ()
    branches: tuple[str, ...] = ()
    events: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        repos: Iterable[str] | None = None,
        workflows: Iterable[str] | None = None,
        branches: Iterable[str] | None = None,
        events: Iterable[str] | None = None,
    ) -> Filters:
        return cls(_values(repos), _values(workflows), _values(branches), _values(events))

    @classmethod
    def from_query(cls, query: Mapping[str, Iterable[str]]) -> Filters:
        """From URL-style parameters (``repo``, ``workflow``, ``branch``, ``event``), each
        possibly repeated."""
        return cls.of(
            query.get("repo"), query.get("workflow"), query.get("branch"), query.get("event")
        )

    @property
    def empty(self) -> bool:
        return not (self.repos or self.workflows or self.branches or self.events)

    def within(self, repos: Iterable[str]) -> list[str]:
        """The repositories of ``repos`` the filter selects, in their order."""
        return [r for r in repos if not self.repos or r in self.repos]

    def sql_params(self) -> dict[str, Any]:
        """The filter's SQL parameters (``pipelines/kpi/sql/filter.sql``): lists or NULL."""
        classes = [b for b in self.branches if b in BRANCH_CLASSES]
        names = [b for b in self.branches if b not in BRANCH_CLASSES]
        return {
            "repos": list(self.repos) or None,
            "workflows": list(self.workflows) or None,
            "events": list(self.events) or None,
            "branch_classes": classes or None,
            "branch_names": names or None,
        }

    def query(self) -> list[tuple[str, str]]:
        """As URL parameters, the inverse of :meth:`from_query`."""
        return [
            *(("repo", v) for v in self.repos),
            *(("workflow", v) for v in self.workflows),
            *(("branch", v) for v in self.branches),
            *(("event", v) for v in self.events),
        ]


@dataclass(frozen=True)
class Period:
    """Inclusive UTC days ``start`` … ``end``."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def ending(cls, end: date, days: int) -> Period:
        """The ``days`` days ending on ``end``."""
        return cls(end - timedelta(days=days - 1), end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period.ending(self.start - timedelta(days=1), self.days)

    def chunks(self, days: int) -> list[Period]:
        """The period cut into consecutive periods of at most ``days`` days."""
        out, start = [], self.start
        while start <= self.end:
            end = min(start + timedelta(days=days - 1), self.end)
            out.append(Period(start, end))
            start = end + timedelta(days=1)
        return out

    def day_list(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


ALL_RUNS = Filters()


@dataclass(frozen=True)
class Windows:
    """The windows of a series: one of ``days`` days ending on each day ``first_end`` …
    ``last_end``. A period is one window; a chart's days are windows of one day each."""

    first_end: date
    last_end: date
    days: int

    @classmethod
    def single(cls, period: Period) -> Windows:
        return cls(period.end, period.end, period.days)

    @classmethod
    def each_day(cls, period: Period, days: int = 1) -> Windows:
        """A window of ``days`` days ending on each day of ``period``."""
        return cls(period.start, period.end, days)

    @property
    def span(self) -> Period:
        """Every day some window covers."""
        return Period(self.first_end - timedelta(days=self.days - 1), self.last_end)

    def ends(self) -> list[date]:
        return Period(self.first_end, self.last_end).day_list()
