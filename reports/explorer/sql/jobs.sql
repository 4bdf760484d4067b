-- The job breakdown of the workflow page: one row per job name over every attempt of the
-- filtered runs created from $start_day to $end_day, from their jobs (jobs_f: the filtered
-- kpi.job_facts, which defines duration, queue and compute minutes). A listing, not a KPI:
-- the failure rate counts failed or timed-out jobs among completed jobs that were neither
-- skipped nor cancelled.
SELECT
    job, runs, executions, failures, failure_rate,
    durations[1] AS duration_p50_s, durations[2] AS duration_p95_s,
    queues[1] AS queue_p50_s, queues[2] AS queue_p95_s,
    runner_labels, compute_minutes, compute_share
FROM (
    SELECT
        name AS job,
        count(DISTINCT (repo, run_id)) AS runs,
        count(*) AS executions,
        count_if(conclusion IN ('failure', 'timed_out')) AS failures,
        count_if(conclusion IN ('failure', 'timed_out'))
            / nullif(count_if(
                status = 'completed' AND conclusion NOT IN ('skipped', 'cancelled')), 0)
            AS failure_rate,
        -- both percentiles of a column from one aggregate: one sort, not two
        quantile_cont(duration_s, [0.5, 0.95]) AS durations,
        quantile_cont(queue_s, [0.5, 0.95]) AS queues,
        array_to_string(list_sort(list_distinct(flatten(list(labels)))), ', ') AS runner_labels,
        sum(compute_minutes)::BIGINT AS compute_minutes,
        sum(compute_minutes) / nullif(sum(sum(compute_minutes)) OVER (), 0) AS compute_share
    FROM jobs_f
    WHERE day BETWEEN $start_day::DATE AND $end_day::DATE
    GROUP BY name
)
ORDER BY compute_minutes DESC, job
