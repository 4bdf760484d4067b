-- kpi.test_units_daily: per repo, test id, head_sha (null when unknown), day and the run's
-- dimensions (workflow, event, branch: from kpi.run_facts, else the report's own), the
-- facts test flakiness needs, so any filtered window is a cheap aggregation over these rows:
-- whether the unit passed, failed or errored, and whether one execution (one report file)
-- holds a rerun followed by a pass; and its rows counted by outcome, which test listings
-- add up.
-- A rerun followed by a pass is looked for only among the tests that have a rerun row
-- (a handful of files): a rerun row r qualifies when the last pass of its test in its file
-- comes after it. Each qualifying rerun adds a marker row (outcome null) to its unit, so
-- one aggregation gives every column and no join with the units is needed.
-- The rows and their dimensions are test_result_dims' (composed in by the layer).
-- test_key and sha_key are md5_number(test_id) and md5_number(head_sha): 128-bit keys that
-- the flakiness queries group and join on instead of the long strings.
-- may_flake marks the rows of a unit (repo, test_key, sha_key) with a failure or a
-- rerun followed by a pass on any day: only those units can be flaky, so the flakiness
-- queries read these few rows alone. A unit's rows span days, so the mark is set after the
-- rows are written, by test_unit_marks.sql.
-- Parameters: $start_day, $end_day (inclusive UTC days).
WITH rows_ AS NOT MATERIALIZED (
    SELECT repo, test_id, head_sha, day, content_hash, seq, outcome, workflow_name, event,
        head_branch, branch_class
    FROM test_result_dims
),
reruns AS (
    SELECT repo, test_id, head_sha, day, content_hash, seq, workflow_name, event, head_branch,
        branch_class
    FROM rows_
    WHERE outcome = 'rerun' AND head_sha IS NOT NULL
),
last_pass AS (
    SELECT p.content_hash, p.test_id, max(p.seq) AS seq
    FROM rows_ p
    SEMI JOIN reruns r ON r.content_hash = p.content_hash AND r.test_id = p.test_id
    WHERE p.outcome = 'passed'
    GROUP BY p.content_hash, p.test_id
),
markers AS (
    SELECT DISTINCT
        r.repo, r.test_id, r.head_sha, r.day, r.workflow_name, r.event, r.head_branch,
        r.branch_class
    FROM reruns r
    JOIN last_pass p ON p.content_hash = r.content_hash AND p.test_id = r.test_id
    WHERE r.seq < p.seq
)
SELECT
    repo,
    test_id,
    head_sha,
    md5_number(test_id) AS test_key,
    md5_number(head_sha) AS sha_key,
    day,
    workflow_name,
    event,
    head_branch,
    branch_class,
    count(outcome) AS executions,
    count_if(outcome = 'passed') AS passed,
    count_if(outcome IN ('failed', 'error')) AS failures,
    count_if(outcome = 'skipped') AS skipped,
    bool_or(outcome = 'passed') AS has_passed,
    bool_or(outcome IN ('failed', 'error')) AS has_failed,
    bool_or(outcome <> 'skipped') AS has_non_skipped,
    bool_or(rerun_then_pass) AS has_rerun_then_pass,
    false AS may_flake
FROM (
    SELECT repo, test_id, head_sha, day, workflow_name, event, head_branch, branch_class,
        outcome, false AS rerun_then_pass
    FROM rows_
    UNION ALL
    SELECT repo, test_id, head_sha, day, workflow_name, event, head_branch, branch_class,
        NULL, true
    FROM markers
)
GROUP BY repo, test_id, head_sha, day, workflow_name, event, head_branch, branch_class
