-- kpi.developer_wait_commits: one row per PR commit (repo, head_sha of PR-event runs),
-- bucketed on the day its first run was created. wait_s = max updated_at over the final
-- attempts of its runs - min created_at of its runs, only when every final attempt is
-- completed (otherwise null and complete = false).
-- Parameters: $start_day, $end_day (inclusive UTC days).
WITH pr AS (
    SELECT *
    FROM raw.workflow_runs
    WHERE event IN ('pull_request', 'pull_request_target') AND head_sha IS NOT NULL
),
touched AS (
    SELECT DISTINCT repo, head_sha
    FROM pr
    WHERE created_at >= $start_day::DATE AND created_at < $end_day::DATE + 1
),
attempts AS (
    SELECT p.* FROM pr p SEMI JOIN touched t ON t.repo = p.repo AND t.head_sha = p.head_sha
),
final AS (
    -- each run's final attempt (highest run_attempt): an aggregate, so no sort
    SELECT
        repo, run_id,
        arg_max_null(
            {'head_sha': head_sha, 'updated_at': updated_at, 'status': status}, run_attempt
        ) AS fin
    FROM attempts
    GROUP BY repo, run_id
),
firsts AS (
    SELECT repo, head_sha, min(created_at) AS first_created_at
    FROM attempts
    GROUP BY ALL
),
commits AS (
    SELECT
        f.repo,
        f.fin.head_sha AS head_sha,
        count(*) AS runs,
        max(f.fin.updated_at) AS last_updated_at,
        bool_and(coalesce(f.fin.status = 'completed', false)) AS complete
    FROM final f
    GROUP BY ALL
)
SELECT
    repo,
    head_sha,
    first_created_at::DATE AS day,
    runs,
    first_created_at,
    last_updated_at,
    complete,
    CASE WHEN complete THEN date_diff('microsecond', first_created_at, last_updated_at) / 1e6 END
        AS wait_s
FROM commits JOIN firsts USING (repo, head_sha)
WHERE first_created_at >= $start_day::DATE AND first_created_at < $end_day::DATE + 1
ORDER BY repo, day, head_sha
