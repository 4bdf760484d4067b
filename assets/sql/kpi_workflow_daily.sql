-- kpi.workflow_daily: one row per repo, workflow and day (the day its runs were created).
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
        r.repo, r.run_id, r.run_attempt, r.workflow_name, r.event, r.status, r.created_at,
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
    -- one row per run created in the range: its final attempt (highest run_attempt) and
    -- its first; aggregates instead of window functions, so no sort
    SELECT
        repo, run_id,
        min(created_at)::DATE AS day,
        count(*) AS attempts,
        arg_max_null(
            {'workflow_name': workflow_name, 'event': event, 'outcome_class': outcome_class,
             'duration_s': duration_s},
            run_attempt
        ) AS fin,
        any_value(outcome_class) FILTER (WHERE run_attempt = 1) AS first_class,
        any_value(queue_s) FILTER (WHERE run_attempt = 1) AS queue_s
    FROM attempts
    GROUP BY repo, run_id
    HAVING min(created_at) >= $start_day::DATE AND min(created_at) < $end_day::DATE + 1
),
job_compute AS (
    -- every attempt's jobs, except skipped jobs, jobs without both timestamps
    -- and jobs of attempts that are not completed yet (summed per attempt first, so the
    -- attempt's status is looked up once)
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
),
runs AS (
    SELECT
        f.repo, f.run_id, f.day, f.fin.workflow_name, f.fin.event, f.attempts,
        f.fin.outcome_class AS final_class,
        CASE WHEN f.fin.outcome_class IN ('success', 'failure') THEN f.fin.duration_s END
            AS duration_s,
        f.first_class, f.queue_s,
        coalesce(c.compute_minutes, 0) AS compute_minutes,
        coalesce(c.compute_seconds, 0) AS compute_seconds
    FROM final f
    LEFT JOIN job_compute c ON c.repo = f.repo AND c.run_id = f.run_id
)
SELECT
    repo,
    workflow_name,
    day,
    count(*) AS runs,
    sum(attempts)::BIGINT AS attempts,
    count(*) FILTER (WHERE final_class = 'success') AS successes,
    count(*) FILTER (WHERE final_class = 'failure') AS failures,
    count(*) FILTER (WHERE final_class = 'excluded') AS excluded,
    count(*) FILTER (WHERE final_class IS NULL) AS not_completed,
    successes / nullif(successes + failures, 0) AS success_rate,
    count(*) FILTER (WHERE first_class = 'success') AS first_attempt_successes,
    count(*) FILTER (WHERE first_class = 'failure') AS first_attempt_failures,
    first_attempt_successes / nullif(first_attempt_successes + first_attempt_failures, 0)
        AS first_attempt_success_rate,
    quantile_cont(duration_s, 0.5) AS duration_p50_s,
    quantile_cont(duration_s, 0.95) AS duration_p95_s,
    avg(duration_s) AS duration_mean_s,
    coalesce(sum(duration_s), 0) AS duration_sum_s,
    count(duration_s) AS duration_count,
    avg(queue_s) AS queue_mean_s,
    quantile_cont(queue_s, 0.95) AS queue_p95_s,
    count(*) FILTER (WHERE event IN ('pull_request', 'pull_request_target')) AS pr_runs,
    coalesce(sum(duration_s) FILTER (WHERE event IN ('pull_request', 'pull_request_target')), 0)
        AS pr_duration_sum_s,
    count(duration_s) FILTER (WHERE event IN ('pull_request', 'pull_request_target'))
        AS pr_duration_count,
    sum(compute_minutes)::BIGINT AS compute_minutes,
    sum(compute_seconds)::DOUBLE AS compute_seconds
FROM runs
GROUP BY ALL
ORDER BY repo, workflow_name, day
