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

Every aggregate is computed from a mergeable summary (:func:`summarize`: count, unscored, sum,
``m2`` = sum of squared deviations from the mean, min, max, plus the exact quantiles asked
for) by :func:`aggregate_from_summary`; the Spark adapter computes the same summary
distributedly, so both paths share one formula.
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


#: Aggregations that are quantiles: name -> q (exact, linear interpolation as numpy's default).
QUANTILES: dict[str, float] = {"p90": 0.9, "median": 0.5}


def validate_aggregations(aggregations: Sequence[str]) -> tuple[str, ...]:
    """Raise ValueError naming any unknown aggregation; return them as a tuple."""
    unknown = [a for a in aggregations if a not in AGGREGATION_FUNCTIONS]
    if unknown:
        raise ValueError(
            f"unknown aggregation(s) {unknown}; choose from {sorted(AGGREGATION_FUNCTIONS)}"
        )
    return tuple(aggregations)


def summarize(scores: Sequence[float], aggregations: Sequence[str]) -> dict[str, object]:
    """The mergeable summary of one metric's scores that :func:`aggregate_from_summary` reads.

    ``quantiles`` holds the exact quantiles the aggregations need (q -> value).

        >>> summarize([1.0, 3.0, float("nan")], ("mean", "p90"))["quantiles"]
        {0.9: 2.8}
    """
    array = np.asarray(scores, dtype=float)
    scored = array[~np.isnan(array)]
    n = int(len(scored))
    total = float(np.sum(scored)) if n else math.nan
    qs = sorted({QUANTILES[a] for a in aggregations if a in QUANTILES})
    return {
        "count": n,
        "unscored": int(len(array) - n),
        "sum": total,
        "m2": float(np.sum((scored - np.mean(scored)) ** 2)) if n else math.nan,
        "min": float(np.min(scored)) if n else math.nan,
        "max": float(np.max(scored)) if n else math.nan,
        "quantiles": {q: float(np.percentile(scored, q * 100)) if n else math.nan for q in qs},
    }


def _t_interval(n: int, mean: float, m2: float, level: float = 0.95) -> tuple[float, float]:
    if n < 2:
        return math.nan, math.nan
    from scipy import stats

    sem = math.sqrt(max(m2, 0.0) / (n - 1)) / math.sqrt(n)
    if sem == 0.0:
        return mean, mean
    half = float(stats.t.ppf(0.5 + level / 2, df=n - 1)) * sem
    return mean - half, mean + half


def aggregate_from_summary(summary: dict, aggregations: Sequence[str]) -> dict[str, float]:
    """The aggregate dict (as :func:`aggregate` returns it) from a :func:`summarize` summary."""
    n = int(summary["count"])
    mean = summary["sum"] / n if n else math.nan
    values = {
        "mean": mean,
        "variance": summary["m2"] / n if n else math.nan,
        "sum": summary["sum"] if n else math.nan,
        "min": summary["min"] if n else math.nan,
        "max": summary["max"] if n else math.nan,
    }
    result: dict[str, float] = {}
    for name in aggregations:
        value = summary["quantiles"][QUANTILES[name]] if name in QUANTILES else values[name]
        result[name] = float(value) if n else math.nan
    result["mean_ci_low"], result["mean_ci_high"] = _t_interval(n, mean, summary["m2"])
    result["count"] = n
    result["unscored"] = int(summary["unscored"])
    return result


def aggregate(scores: Sequence[float], aggregations: Sequence[str]) -> dict[str, float]:
    """Aggregates of the scored rows, plus ``count``, ``unscored`` and the mean's 95% interval."""
    return aggregate_from_summary(summarize(scores, aggregations), aggregations)
