-- Developer wait per repo and window: mean over the PR commits (developer_wait_units) whose
-- first run was created in the window and whose final attempts are all completed.
-- Parameters: the windows'.
SELECT
    * EXCLUDE (waits), waits[1] AS developer_wait_p50_s, waits[2] AS developer_wait_p95_s
FROM (
    SELECT
        u.repo,
        NULL::VARCHAR AS workflow_name,
        NULL::VARCHAR AS event,
        w.window_end,
        count(u.wait_s) AS developer_wait_commits,
        count_if(NOT u.complete) AS developer_wait_incomplete_commits,
        coalesce(sum(u.wait_s), 0) AS developer_wait_sum_s,
        avg(u.wait_s) AS developer_wait_mean_s,
        -- both percentiles from one aggregate: one sort of the waits, not two
        quantile_cont(u.wait_s, [0.5, 0.95]) AS waits
    FROM windows w
    JOIN developer_wait_units u ON u.day BETWEEN w.window_start AND w.window_end
    GROUP BY ALL
)
