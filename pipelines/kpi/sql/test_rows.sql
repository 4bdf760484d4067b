-- The filtered test units (tests_f) of the windows' days, with a known repository.
SELECT repo, test_id, head_sha, test_key, sha_key, day, has_passed, has_failed, has_non_skipped,
    has_rerun_then_pass, may_flake, executions
FROM tests_f
WHERE day BETWEEN $first_end::DATE - ($window_days - 1) AND $last_end::DATE
    AND repo IS NOT NULL
