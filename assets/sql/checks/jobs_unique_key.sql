-- One row per (repo, job_id) among the jobs of the range's runs.
SELECT j.repo, j.job_id, count(*) AS copies
FROM raw.workflow_jobs j
WHERE (j.run_created_at IS NULL  -- a job of no known day is checked in every range
       OR (j.run_created_at >= $start_day::TIMESTAMP
           AND j.run_created_at < ($end_day + 1)::TIMESTAMP))
GROUP BY ALL
HAVING count(*) > 1
