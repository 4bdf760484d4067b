-- The rows of {facts} that a filter selects. Each parameter is a list, or NULL for all:
-- $repos, $workflows (names, exact), $events, $branch_classes (default, pr, other) and
-- $branch_names. branch_class: 'pr' for pull_request / pull_request_target runs, else
-- 'default' on the repository's default branch (raw.repositories), else 'other'.
-- {facts} is a fact table of this layer (kpi.run_facts, kpi.test_units_daily), never input.
SELECT *
FROM (
    SELECT
        f.*,
        CASE
            WHEN f.event IN ('pull_request', 'pull_request_target') THEN 'pr'
            WHEN f.head_branch = r.default_branch THEN 'default'
            ELSE 'other'
        END AS branch_class
    FROM {facts} f
    LEFT JOIN raw.repositories r ON r.repo = f.repo
)
WHERE ($repos::VARCHAR[] IS NULL OR list_contains($repos::VARCHAR[], repo))
    AND ($workflows::VARCHAR[] IS NULL OR list_contains($workflows::VARCHAR[], workflow_name))
    AND ($events::VARCHAR[] IS NULL OR list_contains($events::VARCHAR[], event))
    AND (
        ($branch_classes::VARCHAR[] IS NULL AND $branch_names::VARCHAR[] IS NULL)
        OR list_contains(coalesce($branch_classes::VARCHAR[], []), branch_class)
        OR list_contains(coalesce($branch_names::VARCHAR[], []), head_branch)
    )
