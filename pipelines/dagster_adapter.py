"""The few Dagster internals the code location relies on, behind one module.

Dagster keeps check execution records outside its public API; this module is the only
place that imports them (``tests/test_dagster_adapter.py`` pins what it relies on). It is
also the one place that passes a beta parameter.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from dagster import AssetCheckKey, BackfillPolicy, BetaWarning, DagsterInstance, asset
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecordStatus,
)

# Check executions that ended with a result (not planned, not skipped).
COMPLETED_STATUSES = (
    AssetCheckExecutionRecordStatus.SUCCEEDED,
    AssetCheckExecutionRecordStatus.FAILED,
)


def single_run_asset(**kwargs: Any) -> Any:
    """``@asset(**kwargs)`` backfilled in one run, as ranged runs need: the parameter is beta,
    and its warning is silenced here only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy.*")
        return asset(backfill_policy=BackfillPolicy.single_run(), **kwargs)


def latest_check_results(
    instance: DagsterInstance, keys: Iterable[AssetCheckKey]
) -> list[dict[str, Any]]:
    """The latest evaluation of each check that has one: asset, check, passed, severity,
    description, violations (when the check counts them), partition and run."""
    out = []
    for key in keys:
        record = instance.get_latest_asset_check_evaluation_record(key)
        event = record.event if record is not None else None
        evaluation = (
            event.dagster_event.event_specific_data
            if event is not None and event.dagster_event is not None
            else None
        )
        if evaluation is None or not hasattr(evaluation, "passed"):
            continue
        metadata = {k: getattr(v, "value", v) for k, v in (evaluation.metadata or {}).items()}
        out.append(
            {
                "asset": key.asset_key.to_user_string(),
                "check": key.name,
                "passed": bool(evaluation.passed),
                "severity": evaluation.severity.value,
                "description": evaluation.description or metadata.get("rule") or "",
                "violations": metadata.get("violations"),
                "partition": record.partition,
                "run_id": record.run_id,
                "evaluated_at": record.create_timestamp,
            }
        )
    return out
