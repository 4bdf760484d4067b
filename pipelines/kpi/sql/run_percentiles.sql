-- Run duration and queue percentiles per repo (and workflow / event) and window.
-- Percentiles interpolate between closest ranks (quantile_cont); they are taken from the
-- runs themselves, since daily percentiles cannot be combined.
-- Reads run_windows: the filtered runs once per window holding them.
-- Parameters: the windows', $by_workflow, $by_event.
SELECT repo, workflow_name, event, window_end,
    durations[1] AS duration_p50_s, durations[2] AS duration_p95_s,
    queues[1] AS queue_p50_s, queues[2] AS queue_p95_s
FROM (
    SELECT
        f.repo,
        CASE WHEN $by_workflow THEN f.workflow_name END AS workflow_name,
        CASE WHEN $by_event THEN f.event END AS event,
        f.window_end,
        -- both percentiles of a column from one aggregate: one sort, not two
        quantile_cont(f.duration_s, [0.5, 0.95]) AS durations,
        quantile_cont(f.queue_s, [0.5, 0.95]) AS queues
    FROM run_windows f
    GROUP BY ALL
)
