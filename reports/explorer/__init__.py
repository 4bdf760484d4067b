"""The explorer: a read-only web view of the store (``ci-metrics serve``)."""
