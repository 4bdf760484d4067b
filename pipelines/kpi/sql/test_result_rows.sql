-- Every raw.test_results row of $start_day .. $end_day (inclusive UTC days), in the shape
-- of test_result_dims but without the run dimensions: what a listing of test rows reads
-- when neither it nor its filter uses workflow, event or branch, so the join with the
-- runs that test_result_dims makes for every row is not paid.
SELECT
    t.*,
    NULL::VARCHAR AS workflow_name,
    NULL::VARCHAR AS event,
    NULL::VARCHAR AS head_branch,
    NULL::VARCHAR AS branch_class
FROM raw.test_results t
WHERE t.day BETWEEN $start_day::DATE AND $end_day::DATE
