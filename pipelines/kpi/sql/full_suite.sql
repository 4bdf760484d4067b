-- Full test suite time per repo (and event) and window: p50 and p95 duration of the
-- successful final attempts of the configured full-suite workflow.
-- Reads run_windows: the filtered runs once per window holding them.
-- Parameters: the windows', $by_workflow, $by_event, $full_suite_workflow.
SELECT
    * EXCLUDE (durations),
    durations[1] AS full_suite_p50_s,
    durations[2] AS full_suite_p95_s
FROM (
    SELECT
        f.repo,
        CASE WHEN $by_workflow THEN f.workflow_name END AS workflow_name,
        CASE WHEN $by_event THEN f.event END AS event,
        f.window_end,
        count(f.duration_s) AS full_suite_runs,
        -- both percentiles from one aggregate: one sort of the durations, not two
        quantile_cont(f.duration_s, [0.5, 0.95]) AS durations,
        avg(f.duration_s) AS full_suite_mean_s
    FROM run_windows f
    WHERE f.workflow_name = $full_suite_workflow AND f.final_class = 'success'
    GROUP BY ALL
)
