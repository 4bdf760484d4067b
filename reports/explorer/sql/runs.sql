-- The runs table of the workflow page: one row per run of the filtered facts
-- (runs_f: kpi.run_facts through pipelines/kpi/sql/filter.sql) created from $start_day to
-- $end_day, with its final attempt's number, link and pull requests from
-- raw.workflow_runs. total is the row count before paging. {order} is a whitelisted
-- ORDER BY list; $limit and $offset page it.
WITH picked AS (
    SELECT * FROM runs_f WHERE day BETWEEN $start_day::DATE AND $end_day::DATE
),
final_row AS (
    SELECT w.repo, w.run_id, w.run_number, w.pull_request_numbers, w.html_url
    FROM raw.workflow_runs w
    SEMI JOIN picked p ON p.repo = w.repo AND p.run_id = w.run_id
    QUALIFY row_number() OVER (PARTITION BY w.repo, w.run_id ORDER BY w.run_attempt DESC) = 1
)
SELECT
    p.repo,
    p.run_id,
    w.run_number,
    p.workflow_name,
    p.created_at,
    p.event,
    p.head_branch,
    p.final_status AS status,
    p.final_conclusion AS conclusion,
    p.attempts,
    p.duration_s,
    p.queue_s,
    p.compute_minutes,
    p.head_sha,
    w.pull_request_numbers,
    w.html_url,
    coalesce(r.html_url, 'https://github.com/' || p.repo) AS repo_url,
    count(*) OVER () AS total
FROM picked p
LEFT JOIN final_row w ON w.repo = p.repo AND w.run_id = p.run_id
LEFT JOIN raw.repositories r ON r.repo = p.repo
ORDER BY {order}
LIMIT $limit OFFSET $offset
