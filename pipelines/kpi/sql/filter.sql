-- The rows of {facts} that a filter selects. Each parameter is a list, or NULL for all:
-- $repos, $workflows (names, exact), $events, $branch_classes (default, pr, other: the
-- branch_class of the facts) and $branch_names.
-- {facts} is a fact table of this layer (kpi.run_facts, kpi.test_units_daily), never input.
SELECT *
FROM {facts}
WHERE ($repos::VARCHAR[] IS NULL OR list_contains($repos::VARCHAR[], repo))
    AND ($workflows::VARCHAR[] IS NULL OR list_contains($workflows::VARCHAR[], workflow_name))
    AND ($events::VARCHAR[] IS NULL OR list_contains($events::VARCHAR[], event))
    AND (
        ($branch_classes::VARCHAR[] IS NULL AND $branch_names::VARCHAR[] IS NULL)
        OR list_contains(coalesce($branch_classes::VARCHAR[], []), branch_class)
        OR list_contains(coalesce($branch_names::VARCHAR[], []), head_branch)
    )
