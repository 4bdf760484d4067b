"""The test suite: real DuckDB files, a real Dagster instance, the fake GitHub server."""
