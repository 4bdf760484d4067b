-- The dashboard's latest failed runs: runs of the filtered facts (runs_f: kpi.run_facts
-- through pipelines/kpi/sql/filter.sql) created from $start_day to $end_day whose final
-- attempt is classed a failure (as the failures measure counts them), newest first, with
-- the final attempt's number, GitHub link and pull requests from raw.workflow_runs.
WITH failed AS (
    SELECT * FROM runs_f
    WHERE day BETWEEN $start_day::DATE AND $end_day::DATE AND final_class = 'failure'
    ORDER BY created_at DESC, repo, run_id
    LIMIT $limit
),
final_row AS (
    SELECT w.repo, w.run_id, w.run_number, w.pull_request_numbers, w.html_url
    FROM raw.workflow_runs w
    SEMI JOIN failed f ON f.repo = w.repo AND f.run_id = w.run_id
    QUALIFY row_number() OVER (PARTITION BY w.repo, w.run_id ORDER BY w.run_attempt DESC) = 1
)
SELECT
    f.repo,
    f.run_id,
    w.run_number,
    f.workflow_name,
    f.created_at,
    f.event,
    f.head_branch,
    f.head_sha,
    f.attempts,
    f.duration_s,
    w.pull_request_numbers,
    w.html_url
FROM failed f
LEFT JOIN final_row w ON w.repo = f.repo AND w.run_id = f.run_id
ORDER BY f.created_at DESC, f.repo, f.run_id
