"""Aggregates over a metric's per-row scores, skipping unscored (NaN) rows.

Names follow MLflow (``mean``, ``variance`` = population variance, ``p90``) plus what a user
needs to trust a mean: ``count`` (rows scored), ``unscored`` (rows not scored) and a 95%
confidence interval for the mean, ``mean_ci_low``/``mean_ci_high``, by the method of the
metric's value kind (:mod:`mlflow_llm_eval.core.intervals`: Clopper–Pearson for binary, a
seeded BCa bootstrap for the others). With zero scored rows every value but the counts is NaN.

The interval comes from a :class:`~mlflow_llm_eval.core.intervals.ScoreSummary` of the scored
rows (:func:`interval_aggregates`), so an engine that merges per-partition summaries logs the
same interval as :func:`aggregate` on one machine.

    >>> agg = aggregate([1.0, 0.0, float("nan"), 1.0], ("mean", "p90"), "binary")
    >>> round(agg["mean"], 4), agg["count"], agg["unscored"], round(agg["mean_ci_low"], 4)
    (0.6667, 3, 1, 0.0943)
    >>> aggregate([0.0] * 30, ("mean",), "binary")["mean_ci_high"] > 0.1   # 0 of 30 is not [0, 0]
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

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


def validate_aggregations(aggregations: Sequence[str]) -> tuple[str, ...]:
    """Raise ValueError naming any unknown aggregation; return them as a tuple."""
    unknown = [a for a in aggregations if a not in AGGREGATION_FUNCTIONS]
    if unknown:
        raise ValueError(
            f"unknown aggregation(s) {unknown}; choose from {sorted(AGGREGATION_FUNCTIONS)}"
        )
    return tuple(aggregations)


def interval_aggregates(summary: ScoreSummary, value_kind: str = "unbounded",
                        value_range: Sequence[float] | None = None) -> dict[str, float]:
    """``mean_ci_low``/``mean_ci_high`` of a summary of the scored rows (any engine)."""
    found = interval_from_summary(value_kind, summary, value_range=value_range)
    return {"mean_ci_low": found.low, "mean_ci_high": found.high}


def aggregate(scores: Sequence[float], aggregations: Sequence[str], value_kind: str = "unbounded",
              value_range: Sequence[float] | None = None) -> dict[str, float]:
    """Aggregates of the scored rows, plus ``count``, ``unscored`` and the mean's 95% interval."""
    array = np.asarray(scores, dtype=float)
    scored = array[~np.isnan(array)]
    result: dict[str, float] = {}
    for name in aggregations:
        result[name] = AGGREGATION_FUNCTIONS[name](scored) if len(scored) else math.nan
    finite = scored[np.isfinite(scored)]
    if len(finite) == len(scored):
        result.update(interval_aggregates(ScoreSummary.of(finite), value_kind, value_range))
    else:  # an infinite score: the mean has no interval
        result["mean_ci_low"] = result["mean_ci_high"] = math.nan
    result["count"] = int(len(scored))
    result["unscored"] = int(len(array) - len(scored))
    return result
