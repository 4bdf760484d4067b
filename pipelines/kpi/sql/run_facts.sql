-- kpi.run_facts: one row per run, on the day its first attempt was created. The final
-- attempt (highest run_attempt) gives the run's dimensions and outcome; attempt 1 gives
-- the first-attempt outcome and the queue time; compute sums the jobs of every completed
-- attempt. Every run KPI is an aggregation of these rows (pipelines/kpi/sql/*.sql).
-- branch_class: 'pr' for pull_request / pull_request_target runs, else 'default' on the
-- repository's default branch (raw.repositories, as known when the day is built), else
-- 'other'.
-- Parameters: $start_day, $end_day (inclusive UTC days).
WITH touched AS (
    -- runs with an attempt created in the range: the only ones whose first
    -- created_at can fall in it
    SELECT DISTINCT repo, run_id
    FROM raw.workflow_runs
    WHERE created_at >= $start_day::DATE AND created_at < $end_day::DATE + 1
),
attempts AS (
    SELECT
        r.repo, r.run_id, r.run_attempt, r.workflow_id, r.workflow_name, r.event, r.status,
        r.conclusion, r.head_branch, r.head_sha, r.created_at, r.updated_at,
        CASE
            WHEN r.status <> 'completed' OR r.status IS NULL THEN NULL
            WHEN r.conclusion = 'success' THEN 'success'
            WHEN r.conclusion IN ('failure', 'timed_out', 'startup_failure') THEN 'failure'
            ELSE 'excluded'
        END AS outcome_class,
        CASE
            WHEN r.status = 'completed' AND r.updated_at >= r.run_started_at
            THEN date_diff('microsecond', r.run_started_at, r.updated_at) / 1e6
        END AS duration_s,
        CASE
            WHEN r.status = 'completed' AND r.run_started_at >= r.created_at
            THEN date_diff('microsecond', r.created_at, r.run_started_at) / 1e6
        END AS queue_s
    FROM raw.workflow_runs r
    SEMI JOIN touched t ON t.repo = r.repo AND t.run_id = r.run_id
),
final AS (
    -- aggregates instead of window functions, so no sort
    SELECT
        repo, run_id,
        min(created_at) AS created_at,
        count(*) AS attempts,
        arg_max_null(
            {'workflow_id': workflow_id, 'workflow_name': workflow_name, 'event': event,
             'head_branch': head_branch, 'head_sha': head_sha, 'status': status,
             'conclusion': conclusion, 'outcome_class': outcome_class,
             'duration_s': duration_s, 'updated_at': updated_at},
            run_attempt
        ) AS fin,
        any_value(outcome_class) FILTER (WHERE run_attempt = 1) AS first_class,
        any_value(queue_s) FILTER (WHERE run_attempt = 1) AS queue_s,
        count(*) FILTER (WHERE outcome_class = 'success') AS success_attempts,
        count(*) FILTER (WHERE outcome_class = 'failure') AS failure_attempts
    FROM attempts
    GROUP BY repo, run_id
    HAVING min(created_at) >= $start_day::DATE AND min(created_at) < $end_day::DATE + 1
),
job_compute AS (
    -- every attempt's jobs, except skipped jobs, jobs without both timestamps
    -- and jobs of attempts that are not completed yet
    SELECT
        j.repo, j.run_id,
        sum(j.compute_minutes) AS compute_minutes,
        sum(j.compute_seconds) AS compute_seconds
    FROM (
        SELECT
            j.repo, j.run_id, j.run_attempt,
            sum((date_diff('microsecond', j.started_at, j.completed_at) + 59999999) // 60000000)
                AS compute_minutes,
            sum(date_diff('microsecond', j.started_at, j.completed_at) / 1e6) AS compute_seconds
        FROM raw.workflow_jobs j
        SEMI JOIN touched t ON t.repo = j.repo AND t.run_id = j.run_id
        WHERE j.started_at IS NOT NULL AND j.completed_at IS NOT NULL
            AND j.completed_at >= j.started_at
            AND j.conclusion IS DISTINCT FROM 'skipped'
        GROUP BY j.repo, j.run_id, j.run_attempt
    ) j
    LEFT JOIN attempts a
        ON a.repo = j.repo AND a.run_id = j.run_id AND a.run_attempt = j.run_attempt
    WHERE a.run_id IS NULL OR a.status = 'completed'
    GROUP BY j.repo, j.run_id
)
SELECT
    f.repo,
    f.run_id,
    f.created_at::DATE AS day,
    f.created_at,
    f.fin.workflow_id AS workflow_id,
    f.fin.workflow_name AS workflow_name,
    f.fin.event AS event,
    f.fin.head_branch AS head_branch,
    CASE
        WHEN f.fin.event IN ('pull_request', 'pull_request_target') THEN 'pr'
        WHEN f.fin.head_branch = p.default_branch THEN 'default'
        ELSE 'other'
    END AS branch_class,
    f.fin.head_sha AS head_sha,
    -- the commit's key: units of runs group on it rather than on the 40-character sha
    md5_number(f.fin.head_sha) AS sha_key,
    f.attempts::INTEGER AS attempts,
    f.fin.status AS final_status,
    f.fin.conclusion AS final_conclusion,
    f.fin.outcome_class AS final_class,
    f.fin.updated_at AS final_updated_at,
    -- durations count only for final attempts classed success or failure
    CASE WHEN f.fin.outcome_class IN ('success', 'failure') THEN f.fin.duration_s END
        AS duration_s,
    f.first_class,
    f.queue_s,
    f.success_attempts::INTEGER AS success_attempts,
    f.failure_attempts::INTEGER AS failure_attempts,
    coalesce(c.compute_minutes, 0)::BIGINT AS compute_minutes,
    coalesce(c.compute_seconds, 0)::DOUBLE AS compute_seconds
FROM final f
LEFT JOIN job_compute c ON c.repo = f.repo AND c.run_id = f.run_id
LEFT JOIN raw.repositories p ON p.repo = f.repo
