"""What every page needs to know of the store as a whole: its last day with runs, its
repositories, the filter bar's options and when each repository was last extracted.

Read once per published snapshot (:meth:`reports.explorer.source.Source.memo`), since a
snapshot never changes; read on every request when the explorer reads the store itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from pipelines.kpi import query
from reports.explorer import listings
from reports.explorer.params import last_data_day


@dataclass(frozen=True)
class StoreIndex:
    last_day: date | None
    repos: tuple[str, ...]
    choices: dict[str, list[str]]
    extracted: dict[str, datetime]

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection) -> StoreIndex:
        return cls(
            last_data_day(con),
            tuple(query.known_repos(con)),
            listings.choices(con),
            listings.last_extracted(con),
        )
