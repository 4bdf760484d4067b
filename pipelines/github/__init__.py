"""The GitHub Actions REST client, the extraction logic and the loads into DuckDB."""
