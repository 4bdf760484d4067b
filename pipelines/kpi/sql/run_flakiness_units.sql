-- Run flakiness units: (repo, workflow_id, head_sha) of the filtered runs with at least one
-- attempt classed success or failure, on the day its first run was created, for units whose
-- first run falls in $span_start .. $span_end. A unit is flaky when its attempts (of all its
-- runs) include both a success and a failure.
-- Every run of a commit whose first run can fall in the span lies in $units_lo .. $units_hi
-- (kpi.sha_spans), and no unit of a run there starts in the span unless all its runs are
-- there: grouping those runs gives exactly the span's units. They group on the commit's key
-- (sha_key), one per head_sha.
SELECT
    r.repo,
    r.workflow_id,
    arg_max(r.workflow_name, r.created_at) FILTER (WHERE r.workflow_name IS NOT NULL)
        AS workflow_name,
    any_value(r.head_sha) AS head_sha,
    min(r.day) AS day,
    count(*) AS runs,
    sum(r.attempts)::BIGINT AS attempts,
    sum(r.success_attempts)::BIGINT AS success_attempts,
    sum(r.failure_attempts)::BIGINT AS failure_attempts,
    sum(r.success_attempts) > 0 AND sum(r.failure_attempts) > 0 AS flaky
FROM runs_f r
WHERE r.day BETWEEN $units_lo AND $units_hi
    AND r.workflow_id IS NOT NULL AND r.head_sha IS NOT NULL
GROUP BY r.repo, r.workflow_id, r.sha_key
HAVING min(r.day) BETWEEN $span_start AND $span_end
    AND sum(r.success_attempts) + sum(r.failure_attempts) > 0
