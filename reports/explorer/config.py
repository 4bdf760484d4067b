"""The explorer's settings: which store it reads, the KPI configuration and the runner
rates its cost estimate uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipelines.kpi.config import KpiConfig
from reports.explorer.pricing import DEFAULT_RATES


@dataclass(frozen=True)
class ExplorerConfig:
    """``token``: when set, every request must carry it (see :mod:`reports.explorer.auth`)."""

    db_path: Path
    kpi: KpiConfig = field(default_factory=KpiConfig)
    token: str | None = None
    runs_page_size: int = 50
    memory_limit: str = ""  # CI_METRICS_DUCKDB_MEMORY_LIMIT; empty: the reports' own bound
    # USD per minute by GitHub billing SKU (CI_METRICS_RUNNER_RATES over GitHub's rates)
    runner_rates: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))
