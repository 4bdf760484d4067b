-- Where test $test_id runs: per repository, workflow and job, its executions among the
-- filtered test rows (test_rows_f), failures (failed or error), failure rate (over the
-- non-skipped ones), median duration and the latest run. Test reports do not name their
-- job: a row's job is the job of its run attempt whose runner wrote the report (the runner
-- name, written as a host name, is the report's hostname) when exactly one job matches;
-- otherwise the report's artifact (or file) name stands for it (job_known is false).
WITH rows_ AS (
    SELECT * FROM test_rows_f WHERE test_id = $test_id
),
jobs AS (
    SELECT
        j.repo,
        j.run_id,
        j.run_attempt,
        lower(replace(j.runner_name, ' ', '-')) AS host,
        any_value(j.name) AS name,
        count(*) AS n
    FROM raw.workflow_jobs j
    SEMI JOIN rows_ r ON r.repo = j.repo AND r.run_id = j.run_id
    WHERE j.runner_name IS NOT NULL
    GROUP BY ALL
),
placed AS (
    SELECT
        r.*,
        CASE WHEN j.n = 1 THEN j.name END AS job_name,
        coalesce(
            nullif(regexp_extract(r.source, '/artifacts/[0-9]+/([^/!]+?)(\.zip)?!', 1), ''),
            r.source
        ) AS report
    FROM rows_ r
    LEFT JOIN jobs j
        ON j.repo = r.repo AND j.run_id = r.run_id AND j.run_attempt = r.run_attempt
        AND j.host = lower(r.hostname)
)
SELECT
    repo,
    workflow_name,
    coalesce(job_name, report) AS job,
    job_name IS NOT NULL AS job_known,
    count(*) AS executions,
    count(DISTINCT (repo, run_id)) AS runs,
    count(*) FILTER (WHERE outcome IN ('failed', 'error')) AS failures,
    count(*) FILTER (WHERE outcome IN ('failed', 'error'))
        / nullif(count(*) FILTER (WHERE outcome <> 'skipped'), 0) AS failure_rate,
    quantile_cont(duration_s, 0.5) AS duration_p50_s,
    arg_max(run_id, (coalesce(report_time, day::TIMESTAMP), run_id)) AS last_run_id
FROM placed
GROUP BY ALL
ORDER BY executions DESC, repo, workflow_name NULLS LAST, job
