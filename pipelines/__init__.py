"""ci-metrics: the Dagster code location and the libraries it is built from."""
