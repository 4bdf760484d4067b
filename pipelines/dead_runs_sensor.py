"""Under the daemon, release runs whose process died, so later runs get the DuckDB slot.

A command-line run (``ci-metrics materialize``) executes in its own process, with no
run launcher; killed outright, it stays STARTED and keeps the one slot of the ``duckdb``
pool. Dagster's run monitoring cannot see that: the run has no worker to check, and the
local run launcher has no worker health check anyway. Without this sensor only the next
command-line run would release it, and a run launched from the UI, a schedule or a
sensor meanwhile would wait for the slot forever.
"""

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from pipelines.materialize import release_dead_runs


@sensor(
    name="dead_runs_sensor",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,  # it only reads and fixes the instance
    description=(
        "Marks failed the unfinished runs of this host whose process is gone, and frees "
        "their duckdb pool slots."
    ),
)
def dead_runs_sensor(context: SensorEvaluationContext) -> SkipReason:
    released = release_dead_runs(context.instance)
    if released:
        context.log.warning(f"released runs left unfinished by a dead process: {released}")
        return SkipReason(f"released {len(released)} dead run(s): {', '.join(released)}")
    return SkipReason("no run left unfinished by a dead process")
