"""The explorer's settings: which store it reads and the KPI configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipelines import settings
from pipelines.kpi.config import KpiConfig

TOKEN_ENV = settings.SERVE_TOKEN.key


@dataclass(frozen=True)
class ExplorerConfig:
    """``token``: when set, every request must carry it (see :mod:`reports.explorer.auth`)."""

    db_path: Path
    kpi: KpiConfig = field(default_factory=KpiConfig)
    token: str | None = None
    runs_page_size: int = 50

    @classmethod
    def from_env(cls, db_path: str | Path | None = None) -> ExplorerConfig:

        return cls(
            db_path=Path(db_path or settings.get(settings.DB)),
            kpi=settings.kpi_config(),
            token=settings.get(settings.SERVE_TOKEN) or None,
        )
