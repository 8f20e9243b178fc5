"""Small statistics shared by the benchmark workloads."""
from __future__ import annotations

import statistics
from typing import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the q-th percentile, q in 0..100, interpolating linearly between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100.0
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median_of_all(values: Sequence[float | None]) -> float | None:
    """The median, or None when there is nothing or any value is unknown (a partial median would mislead)."""
    if not values or any(v is None for v in values):
        return None
    return statistics.median(values)


def spread(values: Sequence[float]) -> dict[str, float | None]:
    """Median, min and max."""
    if not values:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}
