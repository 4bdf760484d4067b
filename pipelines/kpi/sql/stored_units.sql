-- The stored units ({units}: kpi.run_flakiness_units or kpi.developer_wait_units, formed
-- over every run of their commits) of the selected repositories whose first run falls in
-- $span_start .. $span_end: the very rows the units file forms from runs that a filter
-- keeps whole (pipelines.kpi.query.keeps_units_whole).
SELECT *
FROM {units}
WHERE day BETWEEN $span_start AND $span_end
    AND ($repos::VARCHAR[] IS NULL OR list_contains($repos::VARCHAR[], repo))
