-- The steps of the named jobs ($jobs: the workflow page's costliest, from jobs.sql) among
-- the filtered runs (runs_f) created from $start_day to $end_day: one row per job and step
-- name, with executions, p50/p95 and total duration, and the step's share of the job's
-- step time. A listing, not a KPI: a step's duration is completed_at - started_at, where
-- both are known and not reversed.
WITH picked AS (
    SELECT repo, run_id FROM runs_f WHERE day BETWEEN $start_day::DATE AND $end_day::DATE
),
steps AS (
    SELECT j.name AS job, unnest(from_json(
        j.steps,
        '[{"number": "BIGINT", "name": "VARCHAR", "started_at": "VARCHAR", "completed_at": "VARCHAR"}]'
    )) AS s
    FROM raw.workflow_jobs j
    SEMI JOIN picked p ON p.repo = j.repo AND p.run_id = j.run_id
    -- no attempt of a run is created before the run's day: the bound skips older row groups
    WHERE list_contains($jobs::VARCHAR[], j.name) AND j.run_created_at >= $start_day::DATE
),
timed AS (
    SELECT
        job,
        s.name AS step,
        s.number AS number,
        date_diff(
            'microsecond',
            try_cast(s.started_at AS TIMESTAMPTZ),
            try_cast(s.completed_at AS TIMESTAMPTZ)
        ) / 1e6 AS duration_s
    FROM steps
)
SELECT
    job, step, step_number, executions,
    durations[1] AS duration_p50_s, durations[2] AS duration_p95_s,
    total_s, share_of_job
FROM (
    SELECT
        job,
        step,
        min(number) AS step_number,
        count(*) AS executions,
        -- both percentiles from one aggregate: one sort of the durations, not two
        quantile_cont(duration_s, [0.5, 0.95]) AS durations,
        sum(duration_s) AS total_s,
        sum(duration_s) / nullif(sum(sum(duration_s)) OVER (PARTITION BY job), 0) AS share_of_job
    FROM timed
    WHERE duration_s >= 0
    GROUP BY job, step
)
