"""ci-metrics: the Dagster code location and the libraries it is built from."""

import warnings

# Single-run backfill policies are what ranged backfills need; Dagster flags them as beta.
warnings.filterwarnings("ignore", message=".*backfill_policy.*", module="dagster.*")
