"""Plain-Python readings of the KPI definitions that tests compare the SQL with."""

import math


def quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (NumPy's default, DuckDB's
    ``quantile_cont``)."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
