"""What the code location relies on from Dagster's internals (pipelines/dagster_adapter.py):
the latest evaluation of a check, read back from a real instance."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    DagsterInstance,
    MaterializeResult,
    asset,
    materialize,
)

from pipelines.dagster_adapter import COMPLETED_STATUSES, latest_check_results


def test_latest_check_results_reads_each_checks_newest_evaluation() -> None:
    outcomes = iter([(True, 0), (False, 3)])

    @asset(check_specs=[AssetCheckSpec("rule", asset="table", blocking=False)])
    def table() -> MaterializeResult:
        passed, bad = next(outcomes)
        return MaterializeResult(
            check_results=[
                AssetCheckResult(
                    passed=passed,
                    severity=AssetCheckSeverity.ERROR,
                    metadata={"violations": bad},
                    description=None if passed else f"{bad} row(s) break: the rule",
                )
            ]
        )

    with DagsterInstance.ephemeral() as instance:
        spec_key = table.check_keys
        (key,) = spec_key
        assert latest_check_results(instance, [key]) == []  # never evaluated
        materialize([table], instance=instance)
        (first,) = latest_check_results(instance, [key])
        assert first["passed"] is True and first["violations"] == 0
        run = materialize([table], instance=instance)
        (latest,) = latest_check_results(instance, [key])
    assert latest["passed"] is False
    assert latest["severity"] == "ERROR"
    assert latest["violations"] == 3
    assert latest["description"] == "3 row(s) break: the rule"
    assert latest["asset"] == "table" and latest["check"] == "rule"
    assert latest["run_id"] == run.run_id
    assert {s.value for s in COMPLETED_STATUSES} == {"SUCCEEDED", "FAILED"}
