-- conclusion is null or one the KPI definitions classify.
SELECT repo, run_id, run_attempt, conclusion
FROM raw.workflow_runs
WHERE created_at >= $start_day::TIMESTAMP AND created_at < ($end_day + 1)::TIMESTAMP
    AND conclusion IS NOT NULL
    AND conclusion NOT IN ('success', 'failure', 'timed_out', 'startup_failure', 'cancelled',
                           'skipped', 'neutral', 'action_required', 'stale')
