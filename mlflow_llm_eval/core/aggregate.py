"""Aggregates over a metric's per-row scores, skipping unscored (NaN) rows.

Names follow MLflow (``mean``, ``variance`` = population variance, ``p90``) plus what a user
needs to trust a mean: ``count`` (rows scored), ``unscored`` (rows not scored) and a 95%
confidence interval for the mean, ``mean_ci_low``/``mean_ci_high``: the analytic Student-t
interval ``mean ± t(0.975, n-1) · s / sqrt(n)`` with the sample standard deviation ``s``.
With one scored row the interval is undefined (NaN); with zero scored rows every value but the
counts is NaN.

    >>> agg = aggregate([1.0, 0.0, float("nan"), 1.0], ("mean", "p90"))
    >>> round(agg["mean"], 4), agg["count"], agg["unscored"]
    (0.6667, 3, 1)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

AGGREGATION_FUNCTIONS: dict[str, Callable[[np.ndarray], float]] = {
    "mean": lambda a: float(np.mean(a)),
    "variance": lambda a: float(np.var(a)),
    "p90": lambda a: float(np.percentile(a, 90)),
    "median": lambda a: float(np.median(a)),
    "min": lambda a: float(np.min(a)),
    "max": lambda a: float(np.max(a)),
    "sum": lambda a: float(np.sum(a)),
}


def validate_aggregations(aggregations: Sequence[str]) -> tuple[str, ...]:
    """Raise ValueError naming any unknown aggregation; return them as a tuple."""
    unknown = [a for a in aggregations if a not in AGGREGATION_FUNCTIONS]
    if unknown:
        raise ValueError(
            f"unknown aggregation(s) {unknown}; choose from {sorted(AGGREGATION_FUNCTIONS)}"
        )
    return tuple(aggregations)


def mean_confidence_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Student-t interval for the mean; (NaN, NaN) with fewer than two values."""
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    from scipy import stats

    mean = float(np.mean(values))
    sem = float(np.std(values, ddof=1)) / math.sqrt(n)
    if sem == 0.0:
        return mean, mean
    half = float(stats.t.ppf(0.5 + level / 2, df=n - 1)) * sem
    return mean - half, mean + half


def aggregate(scores: Sequence[float], aggregations: Sequence[str]) -> dict[str, float]:
    """Aggregates of the scored rows, plus ``count``, ``unscored`` and the mean's 95% interval."""
    array = np.asarray(scores, dtype=float)
    scored = array[~np.isnan(array)]
    result: dict[str, float] = {}
    for name in aggregations:
        result[name] = AGGREGATION_FUNCTIONS[name](scored) if len(scored) else math.nan
    low, high = mean_confidence_interval(scored)
    result["mean_ci_low"], result["mean_ci_high"] = low, high
    result["count"] = int(len(scored))
    result["unscored"] = int(len(array) - len(scored))
    return result
