-- The job breakdown of the workflow page: one row per job name over every attempt of the
-- filtered runs (runs_f) created from $start_day to $end_day, from raw.workflow_jobs.
-- A listing, not a KPI: duration is completed_at - started_at, queue is started_at -
-- created_at (each only where not negative); the failure rate counts failed or timed-out
-- jobs among completed jobs that were neither skipped nor cancelled; compute minutes are
-- kpi.run_facts': each job rounded up to whole minutes, skipped jobs, jobs without both
-- timestamps and jobs of attempts not completed yet counting 0.
WITH picked AS (
    SELECT repo, run_id FROM runs_f WHERE day BETWEEN $start_day::DATE AND $end_day::DATE
),
jobs AS (
    SELECT
        j.repo,
        j.run_id,
        j.name,
        j.status,
        j.conclusion,
        j.labels,
        CASE WHEN j.completed_at >= j.started_at
            THEN date_diff('microsecond', j.started_at, j.completed_at) / 1e6 END AS duration_s,
        CASE WHEN j.started_at >= j.created_at
            THEN date_diff('microsecond', j.created_at, j.started_at) / 1e6 END AS queue_s,
        CASE WHEN j.completed_at >= j.started_at AND j.conclusion IS DISTINCT FROM 'skipped'
                AND (a.run_id IS NULL OR a.status = 'completed')
            THEN (date_diff('microsecond', j.started_at, j.completed_at) + 59999999) // 60000000
            ELSE 0 END AS compute_minutes
    FROM raw.workflow_jobs j
    SEMI JOIN picked p ON p.repo = j.repo AND p.run_id = j.run_id
    LEFT JOIN (SELECT * FROM raw.workflow_runs WHERE created_at >= $start_day::DATE) a
        ON a.repo = j.repo AND a.run_id = j.run_id AND a.run_attempt = j.run_attempt
    -- no attempt of a run is created before the run's day: the bounds skip older row groups
    WHERE j.run_created_at >= $start_day::DATE
)
SELECT
    name AS job,
    count(DISTINCT (repo, run_id)) AS runs,
    count(*) AS executions,
    count(*) FILTER (WHERE conclusion IN ('failure', 'timed_out')) AS failures,
    count(*) FILTER (WHERE conclusion IN ('failure', 'timed_out'))
        / nullif(count(*) FILTER (
            WHERE status = 'completed' AND conclusion NOT IN ('skipped', 'cancelled')), 0)
        AS failure_rate,
    quantile_cont(duration_s, 0.5) AS duration_p50_s,
    quantile_cont(duration_s, 0.95) AS duration_p95_s,
    quantile_cont(queue_s, 0.5) AS queue_p50_s,
    quantile_cont(queue_s, 0.95) AS queue_p95_s,
    array_to_string(list_sort(list_distinct(flatten(list(coalesce(labels, []))))), ', ')
        AS runner_labels,
    sum(compute_minutes)::BIGINT AS compute_minutes,
    sum(compute_minutes) / nullif(sum(sum(compute_minutes)) OVER (), 0) AS compute_share
FROM jobs
GROUP BY name
ORDER BY compute_minutes DESC, name
