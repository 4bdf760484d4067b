-- kpi.run_daily: the run measures that add up (counts and sums) per repo, day and every
-- dimension a filter selects runs by (workflow, event, branch and its class), over
-- kpi.run_facts. Any filter's run counts, rates and means over any days are sums of these
-- rows (runs.sql), with far fewer rows to read than one per run.
-- Parameters: $start_day, $end_day (inclusive UTC days).
SELECT
    repo,
    day,
    workflow_name,
    event,
    head_branch,
    branch_class,
    count(*) AS runs,
    sum(attempts)::BIGINT AS attempts,
    count_if(final_class = 'success') AS successes,
    count_if(final_class = 'failure') AS failures,
    count_if(final_class = 'excluded') AS excluded,
    count_if(final_class IS NULL) AS not_completed,
    count_if(first_class = 'success') AS first_attempt_successes,
    count_if(first_class = 'failure') AS first_attempt_failures,
    coalesce(sum(duration_s), 0)::DOUBLE AS duration_sum_s,
    count(duration_s) AS duration_count,
    sum(queue_s)::DOUBLE AS queue_sum_s,
    count(queue_s) AS queue_count,
    count_if(event IN ('pull_request', 'pull_request_target')) AS pr_runs,
    coalesce(sum(duration_s) FILTER (WHERE event IN ('pull_request', 'pull_request_target')), 0)
        ::DOUBLE AS pr_duration_sum_s,
    count(duration_s) FILTER (WHERE event IN ('pull_request', 'pull_request_target'))
        AS pr_duration_count,
    sum(compute_minutes)::BIGINT AS compute_minutes,
    sum(compute_seconds)::DOUBLE AS compute_seconds
FROM kpi.run_facts
WHERE day BETWEEN $start_day::DATE AND $end_day::DATE
GROUP BY repo, day, workflow_name, event, head_branch, branch_class
