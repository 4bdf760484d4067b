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
    SELECT *
    FROM attempts
    QUALIFY row_number() OVER (PARTITION BY repo, run_id ORDER BY run_attempt DESC) = 1
),
firsts AS (
    SELECT repo, head_sha, min(created_at) AS first_created_at
    FROM attempts
    GROUP BY ALL
),
commits AS (
    SELECT
        f.repo,
        f.head_sha,
        count(*) AS runs,
        max(f.updated_at) AS last_updated_at,
        bool_and(coalesce(f.status = 'completed', false)) AS complete
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
