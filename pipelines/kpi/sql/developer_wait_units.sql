-- Developer wait units: one row per PR commit (repo, head_sha of the filtered runs whose
-- event is pull_request / pull_request_target), on the day its first run was created, for
-- commits whose first run falls in $span_start .. $span_end. wait_s = max updated_at over
-- the final attempts of its runs - min created_at of its runs, only when every final
-- attempt is completed (otherwise null and complete = false).
-- Every run of a commit whose first run can fall in the span lies in $units_lo .. $units_hi
-- (kpi.sha_spans): grouping those runs gives exactly the span's commits. They group on the
-- commit's key (sha_key), one per head_sha.
WITH commits AS (
    SELECT
        repo,
        any_value(head_sha) AS head_sha,
        count(*) AS runs,
        min(created_at) AS first_created_at,
        max(final_updated_at) AS last_updated_at,
        bool_and(coalesce(final_status = 'completed', false)) AS complete
    FROM runs_f
    WHERE event IN ('pull_request', 'pull_request_target') AND head_sha IS NOT NULL
        AND day BETWEEN $units_lo AND $units_hi
    GROUP BY repo, sha_key
    HAVING min(day) BETWEEN $span_start AND $span_end
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
