"""Aggregates over a metric's per-row scores, skipping unscored (NaN) rows.

Names follow MLflow (``mean``, ``variance`` = population variance, ``p90``) plus what a user
needs to trust a mean: ``count`` (rows scored), ``unscored`` (rows not scored) and a 95%
confidence interval for the mean, ``mean_ci_low``/``mean_ci_high``, by the method of the
metric's value kind (:mod:`mlflow_llm_eval.core.intervals`: Clopper–Pearson for binary, a
seeded BCa bootstrap for the others). With zero scored rows every value but the counts is NaN.

Every aggregate is computed from a mergeable summary (:func:`summarize`: count, unscored, sum,
``m2`` = sum of squared deviations from the mean, min, max, the exact quantiles asked for, and
the interval's :class:`~mlflow_llm_eval.core.intervals.ScoreSummary`) by
:func:`aggregate_from_summary`; the Spark adapter computes the same summary distributedly, so
both paths share one formula.

    >>> agg = aggregate([1.0, 0.0, float("nan"), 1.0], ("mean", "p90"), "binary")
    >>> round(agg["mean"], 4), agg["count"], agg["unscored"], round(agg["mean_ci_low"], 4)
    (0.6667, 3, 1, 0.0943)
    >>> aggregate([0.0] * 30, ("mean",), "binary")["mean_ci_high"] > 0.1   # 0 of 30 is not [0, 0]
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mlflow_llm_eval.core.intervals import ScoreSummary, interval_from_summary

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


def summarize(scores: Sequence[float], aggregations: Sequence[str]) -> dict[str, Any]:
    """The mergeable summary of one metric's scores that :func:`aggregate_from_summary` reads.

    ``quantiles`` holds the exact quantiles the aggregations need (q -> value); ``interval``
    the :class:`ScoreSummary` of the scored rows (``None`` when a score is infinite: the mean
    then has no interval).

        >>> summarize([1.0, 3.0, float("nan")], ("mean", "p90"))["quantiles"]
        {0.9: 2.8}
    """
    array = np.asarray(scores, dtype=float)
    scored = array[~np.isnan(array)]
    n = int(len(scored))
    qs = sorted({QUANTILES[a] for a in aggregations if a in QUANTILES})
    finite = bool(np.all(np.isfinite(scored)))
    return {
        "count": n,
        "unscored": int(len(array) - n),
        "sum": float(np.sum(scored)) if n else math.nan,
        "m2": float(np.sum((scored - np.mean(scored)) ** 2)) if n else math.nan,
        "min": float(np.min(scored)) if n else math.nan,
        "max": float(np.max(scored)) if n else math.nan,
        "quantiles": {q: float(np.percentile(scored, q * 100)) if n else math.nan for q in qs},
        "interval": ScoreSummary.of(scored) if finite else None,
    }


def interval_aggregates(
    summary: ScoreSummary | None,
    value_kind: str = "unbounded",
    value_range: Sequence[float] | None = None,
) -> dict[str, float]:
    """``mean_ci_low``/``mean_ci_high`` of a summary of the scored rows (any engine)."""
    if summary is None:
        return {"mean_ci_low": math.nan, "mean_ci_high": math.nan}
    found = interval_from_summary(value_kind, summary, value_range=value_range)
    return {"mean_ci_low": found.low, "mean_ci_high": found.high}


def aggregate_from_summary(
    summary: dict[str, Any],
    aggregations: Sequence[str],
    value_kind: str = "unbounded",
    value_range: Sequence[float] | None = None,
) -> dict[str, float]:
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
    result.update(interval_aggregates(summary["interval"], value_kind, value_range))
    result["count"] = n
    result["unscored"] = int(summary["unscored"])
    return result


def aggregate(
    scores: Sequence[float],
    aggregations: Sequence[str],
    value_kind: str = "unbounded",
    value_range: Sequence[float] | None = None,
) -> dict[str, float]:
    """Aggregates of the scored rows, plus ``count``, ``unscored`` and the mean's 95% interval."""
    return aggregate_from_summary(
        summarize(scores, aggregations), aggregations, value_kind, value_range
    )
