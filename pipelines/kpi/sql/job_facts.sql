-- kpi.job_facts: one row per job of every attempt of the runs of kpi.run_facts whose day
-- is in $start_day .. $end_day, on its run's day, with the run's dimensions (so the filter
-- of filter.sql selects jobs as it selects runs) and the job's measures:
-- duration = completed_at - started_at, queue = started_at - created_at (each only where
-- not negative); compute_minutes by kpi.run_facts' rule: each job rounded up to whole
-- minutes, skipped jobs, jobs without both timestamps and jobs of attempts not completed
-- yet counting 0, so the jobs of a run add up to its compute minutes.
-- The explorer's job listings (job breakdown, runners) aggregate these rows.
-- Parameters: $start_day, $end_day (inclusive UTC days).
WITH runs AS (
    SELECT repo, run_id, day, workflow_name, event, head_branch, branch_class
    FROM kpi.run_facts
    WHERE day BETWEEN $start_day::DATE AND $end_day::DATE
),
attempts AS (
    -- no attempt of a run is created before the run's day: the bound skips older rows
    SELECT repo, run_id, run_attempt, status
    FROM raw.workflow_runs
    WHERE created_at >= $start_day::DATE
)
SELECT
    r.repo,
    r.run_id,
    r.day,
    r.workflow_name,
    r.event,
    r.head_branch,
    r.branch_class,
    j.run_attempt,
    j.job_id,
    j.name,
    j.status,
    j.conclusion,
    list_sort(coalesce(j.labels, [])) AS labels,
    j.runner_group_name,
    j.runner_name,
    CASE WHEN j.completed_at >= j.started_at
        THEN date_diff('microsecond', j.started_at, j.completed_at) / 1e6 END AS duration_s,
    CASE WHEN j.started_at >= j.created_at
        THEN date_diff('microsecond', j.created_at, j.started_at) / 1e6 END AS queue_s,
    CASE WHEN j.completed_at >= j.started_at AND j.conclusion IS DISTINCT FROM 'skipped'
            AND (a.run_id IS NULL OR a.status = 'completed')
        THEN (date_diff('microsecond', j.started_at, j.completed_at) + 59999999) // 60000000
        ELSE 0 END::BIGINT AS compute_minutes
FROM raw.workflow_jobs j
JOIN runs r ON r.repo = j.repo AND r.run_id = j.run_id
LEFT JOIN attempts a
    ON a.repo = j.repo AND a.run_id = j.run_id AND a.run_attempt = j.run_attempt
-- no attempt of a run is created before the run's day: the bound skips older row groups
-- (a job stored without its run's created_at is looked for everywhere)
WHERE j.run_created_at >= $start_day::DATE OR j.run_created_at IS NULL
