-- Developer wait units: one row per PR commit (repo, head_sha of the filtered runs whose
-- event is pull_request / pull_request_target), on the day its first run was created, for
-- commits whose first run falls in $span_start .. $span_end. wait_s = max updated_at over
-- the final attempts of its runs - min created_at of its runs, only when every final
-- attempt is completed (otherwise null and complete = false).
WITH pr AS (
    SELECT *
    FROM runs_f
    WHERE event IN ('pull_request', 'pull_request_target') AND head_sha IS NOT NULL
),
touched AS (
    SELECT DISTINCT repo, head_sha FROM pr WHERE day BETWEEN $span_start AND $span_end
),
commits AS (
    SELECT
        p.repo,
        p.head_sha,
        count(*) AS runs,
        min(p.created_at) AS first_created_at,
        max(p.final_updated_at) AS last_updated_at,
        bool_and(coalesce(p.final_status = 'completed', false)) AS complete
    FROM pr p
    SEMI JOIN touched t ON t.repo = p.repo AND t.head_sha = p.head_sha
    GROUP BY p.repo, p.head_sha
    HAVING min(p.day) BETWEEN $span_start AND $span_end
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
FROM commits
