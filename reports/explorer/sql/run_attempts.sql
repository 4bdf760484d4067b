-- The attempts of one run ($repo, $run_id), from raw.workflow_runs.
SELECT
    w.run_attempt,
    w.run_number,
    w.workflow_name,
    w.event,
    w.head_branch,
    w.head_sha,
    w.status,
    w.conclusion,
    w.actor,
    w.triggering_actor,
    w.display_title,
    w.created_at,
    w.run_started_at,
    w.updated_at,
    CASE WHEN w.status = 'completed' AND w.updated_at >= w.run_started_at
        THEN date_diff('microsecond', w.run_started_at, w.updated_at) / 1e6 END AS duration_s,
    w.pull_request_numbers,
    w.html_url,
    coalesce(r.html_url, 'https://github.com/' || w.repo) AS repo_url
FROM raw.workflow_runs w
LEFT JOIN raw.repositories r ON r.repo = w.repo
WHERE w.repo = $repo AND w.run_id = $run_id
ORDER BY w.run_attempt
