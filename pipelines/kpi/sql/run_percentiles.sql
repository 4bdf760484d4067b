-- Run duration and queue percentiles per repo (and workflow / event) and window.
-- Percentiles interpolate between closest ranks (quantile_cont); they are taken from the
-- runs themselves, since daily percentiles cannot be combined.
-- Reads run_windows: the filtered runs once per window holding them.
-- Parameters: the windows', $by_workflow, $by_event.
SELECT
    f.repo,
    CASE WHEN $by_workflow THEN f.workflow_name END AS workflow_name,
    CASE WHEN $by_event THEN f.event END AS event,
    f.window_end,
    quantile_cont(f.duration_s, 0.5) AS duration_p50_s,
    quantile_cont(f.duration_s, 0.95) AS duration_p95_s,
    quantile_cont(f.queue_s, 0.5) AS queue_p50_s,
    quantile_cont(f.queue_s, 0.95) AS queue_p95_s
FROM run_windows f
GROUP BY ALL
