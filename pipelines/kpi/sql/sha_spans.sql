-- kpi.sha_spans: per commit (repo, head_sha), the first and last day of its runs, over
-- every run kpi.run_facts holds. A unit of runs of one commit (developer wait, run
-- flakiness) can only start in a period its commit's span meets, so unit queries read
-- run_facts between the spans' bounds instead of the whole history.
-- Rewritten for the commits with a run on $start_day .. $end_day (or a span meeting it).
SELECT repo, head_sha, min(day) AS first_day, max(day) AS last_day
FROM kpi.run_facts
WHERE head_sha IS NOT NULL
    AND (repo, head_sha) IN (
        SELECT (repo, head_sha) FROM kpi.run_facts
        WHERE day BETWEEN $start_day::DATE AND $end_day::DATE AND head_sha IS NOT NULL
    )
GROUP BY repo, head_sha
