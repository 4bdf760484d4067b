"""``ci-metrics serve``: run the explorer with uvicorn.

It listens on 127.0.0.1 unless told otherwise, and refuses a non-loopback address unless
``CI_METRICS_SERVE_TOKEN`` is set (then every request must carry the token). uvicorn's
access log is off: the explorer logs method, path and status itself, never a query string
(which may hold the token).
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from pathlib import Path

from pipelines import settings
from reports.explorer.config import ExplorerConfig
from reports.explorer.pricing import parse_rates

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refusal(host: str, config: ExplorerConfig) -> str | None:
    """Why the explorer will not listen on ``host``, or None."""
    if config.token is None and not is_loopback(host):
        return (
            f"ci-metrics serve: refusing to listen on {host} without an access token; "
            f"set {settings.SERVE_TOKEN.key} (every request must then carry it) or use 127.0.0.1"
        )
    return None


def config_from_env(db_path: str | Path | None = None) -> ExplorerConfig:
    """The explorer's configuration from the environment (``pipelines.settings``)."""
    return ExplorerConfig(
        db_path=Path(db_path or settings.get(settings.DB)),
        kpi=settings.kpi_config(),
        token=settings.get(settings.SERVE_TOKEN) or None,
        memory_limit=settings.get(settings.DUCKDB_MEMORY_LIMIT),
        runner_rates=parse_rates(settings.get(settings.RUNNER_RATES), settings.RUNNER_RATES.key),
    )


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, db: str | Path | None = None) -> int:
    """Serve until interrupted; 2 when refused or misconfigured."""
    try:
        config = config_from_env(db)
    except ValueError as exc:  # a setting that cannot be read; the message names its key
        print(f"ci-metrics serve: {exc}", file=sys.stderr)
        return 2
    why = refusal(host, config)
    if why:
        print(why, file=sys.stderr)
        return 2
    import uvicorn

    from reports.explorer.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print(
        f"ci-metrics explorer on http://{host}:{port}/ reading {config.db_path}"
        + (" (token required)" if config.token else ""),
        file=sys.stderr,
    )
    uvicorn.run(create_app(config), host=host, port=port, access_log=False, log_level="info")
    return 0
