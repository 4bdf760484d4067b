-- Run flakiness per repo (and workflow when $by_workflow) and window: flaky units / units,
-- over the units (run_flakiness_units) whose first run was created in the window.
-- Parameters: the windows', $by_workflow.
SELECT
    u.repo,
    CASE WHEN $by_workflow THEN u.workflow_name END AS workflow_name,
    NULL::VARCHAR AS event,
    w.window_end,
    count(*) AS run_flakiness_units,
    count_if(u.flaky) AS run_flaky_units,
    count_if(u.flaky) / count(*) AS run_flakiness_rate
FROM windows w
JOIN run_flakiness_units u ON u.day BETWEEN w.window_start AND w.window_end
GROUP BY ALL
