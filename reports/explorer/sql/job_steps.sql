-- The steps of the workflow page's costliest jobs: for the $top job names with the most
-- compute minutes among the filtered runs (runs_f) created from $start_day to $end_day,
-- one row per job and step name: executions, p50/p95 and total duration, and the step's
-- share of the job's step time. A listing, not a KPI: compute minutes round each job up
-- to whole minutes as jobs.sql does; a step's duration is completed_at - started_at, where
-- both are known and not reversed.
WITH picked AS (
    SELECT repo, run_id FROM runs_f WHERE day BETWEEN $start_day::DATE AND $end_day::DATE
),
jobs AS (
    SELECT
        j.name AS job,
        j.steps,
        CASE WHEN j.completed_at >= j.started_at AND j.conclusion IS DISTINCT FROM 'skipped'
            THEN (date_diff('microsecond', j.started_at, j.completed_at) + 59999999) // 60000000
            ELSE 0 END AS compute_minutes
    FROM raw.workflow_jobs j
    SEMI JOIN picked p ON p.repo = j.repo AND p.run_id = j.run_id
),
costliest AS (
    SELECT job, sum(compute_minutes)::BIGINT AS job_compute_minutes
    FROM jobs
    GROUP BY job
    ORDER BY job_compute_minutes DESC, job
    LIMIT $top
),
steps AS (
    SELECT job, unnest(from_json(
        steps,
        '[{"number": "BIGINT", "name": "VARCHAR", "started_at": "VARCHAR", "completed_at": "VARCHAR"}]'
    )) AS s
    FROM jobs
    WHERE job IN (SELECT job FROM costliest)
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
    c.job,
    c.job_compute_minutes,
    t.step,
    min(t.number) AS step_number,
    count(*) AS executions,
    quantile_cont(t.duration_s, 0.5) AS duration_p50_s,
    quantile_cont(t.duration_s, 0.95) AS duration_p95_s,
    sum(t.duration_s) AS total_s,
    sum(t.duration_s) / nullif(sum(sum(t.duration_s)) OVER (PARTITION BY c.job), 0)
        AS share_of_job
FROM timed t
JOIN costliest c USING (job)
WHERE t.duration_s >= 0
GROUP BY c.job, c.job_compute_minutes, t.step
ORDER BY c.job_compute_minutes DESC, c.job, step_number, t.step
