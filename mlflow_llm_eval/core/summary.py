"""Mergeable partial summaries: one per batch of scores, merged into what
:func:`~mlflow_llm_eval.core.aggregate.aggregate_from_summary` reads.

An engine that scores in batches (the Spark adapter scores one Arrow batch at a time) keeps a
:func:`partial_summary` per batch (plain JSON: count, unscored, sum, ``m2``, min, max and the
value counts while a batch has at most ``max_distinct`` distinct values) and a
:class:`SummaryMerger` adds them up (moments by Chan et al.'s pairwise update; value counts
summed until ``max_distinct`` distinct values, then dropped). Exact quantiles come from the merged
counts; when the counts overflowed, :attr:`SummaryMerger.needs_quantiles` says so and the
engine computes them its own way (a sort over all rows).

    >>> merger = SummaryMerger()
    >>> merger.add(partial_summary([1.0, 2.0, float("nan")]))
    >>> merger.add(partial_summary([4.0]))
    >>> s = merger.summary(("mean", "p90"))
    >>> s["count"], s["unscored"], s["sum"], s["quantiles"]
    (3, 1, 7.0, {0.9: 3.6})
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlflow_llm_eval.core.intervals import MAX_DISTINCT, ScoreSummary


def partial_summary(scores: Sequence[float], max_distinct: int = MAX_DISTINCT) -> dict[str, Any]:
    """A JSON-safe summary of one batch's scores (NaN = unscored)."""
    array = np.asarray(scores, dtype=float)
    scored = array[~np.isnan(array)]
    n = int(scored.size)
    finite = bool(np.all(np.isfinite(scored)))
    out: dict[str, Any] = {"count": n, "unscored": int(array.size - n), "finite": finite}
    if n:
        out.update(
            sum=float(np.sum(scored)),
            m2=float(np.sum((scored - np.mean(scored)) ** 2)),
            min=float(np.min(scored)),
            max=float(np.max(scored)),
            sum_sq=float(np.sum(scored * scored)),
        )
    distinct, counts = np.unique(scored, return_counts=True)
    out["counts"] = (
        None
        if len(distinct) > max_distinct
        else [[float(v), int(c)] for v, c in zip(distinct, counts)]
    )
    return out


def quantile_from_counts(counts: dict[float, int], q: float) -> float:
    """The exact ``q`` quantile (numpy's default, linear interpolation) of the rows that
    ``counts`` (value -> rows, sorted by value) describe.

        >>> quantile_from_counts({1.0: 2, 3.0: 1}, 0.5), float(np.percentile([1, 1, 3], 50))
        (1.0, 1.0)
    """
    n = sum(counts.values())
    if n == 0:
        return math.nan
    position = (n - 1) * q
    below = math.floor(position)
    fraction = position - below
    wanted = [below, min(below + 1, n - 1)]  # the sorted rows to interpolate between
    found: list[float] = []
    seen = 0
    for value, count in sorted(counts.items()):
        seen += count
        while wanted and wanted[0] < seen:
            found.append(value)
            wanted.pop(0)
        if not wanted:
            break
    low, high = found
    return float(low + (high - low) * fraction) if fraction else float(low)


class SummaryMerger:
    """Adds :func:`partial_summary` dicts; :meth:`summary` is the summary of all their rows.
    The interval's part (n, sums, value counts capped at ``max_distinct``) merges by
    :meth:`ScoreSummary.merge <mlflow_llm_eval.core.intervals.ScoreSummary.merge>`."""

    def __init__(self, max_distinct: int = MAX_DISTINCT) -> None:
        self.max_distinct = max_distinct
        self.scores = ScoreSummary(0, 0.0, 0.0, {})
        self.unscored = 0
        self.m2 = 0.0
        self.low, self.high = math.inf, -math.inf
        self.finite = True

    def add(self, part: dict[str, Any]) -> None:
        self.unscored += int(part["unscored"])
        self.finite = self.finite and bool(part["finite"])
        n, before = int(part["count"]), self.scores
        counts = None if part["counts"] is None else {v: c for v, c in part["counts"]}
        self.scores = before.merge(
            ScoreSummary(n, part.get("sum", 0.0), part.get("sum_sq", 0.0), counts),
            self.max_distinct,
        )
        if n == 0:
            return
        if before.n == 0:
            self.m2 = part["m2"]
        else:  # Chan et al.: combine the sums of squared deviations of two groups
            delta = part["sum"] / n - before.total / before.n
            self.m2 += part["m2"] + delta * delta * before.n * n / (before.n + n)
        self.low, self.high = min(self.low, part["min"]), max(self.high, part["max"])

    @property
    def needs_quantiles(self) -> bool:
        """True when the counts overflowed: exact quantiles need the engine's own sort."""
        return self.scores.counts is None and self.scores.n > 0

    def summary(self, aggregations: Sequence[str]) -> dict[str, Any]:
        """As :func:`~mlflow_llm_eval.core.aggregate.summarize` returns for all the rows; its
        ``quantiles`` are NaN when :attr:`needs_quantiles` (fill them in)."""
        from mlflow_llm_eval.core.aggregate import QUANTILES

        n, nan, counts = self.scores.n, math.nan, self.scores.counts
        qs = sorted({QUANTILES[a] for a in aggregations if a in QUANTILES})
        return {
            "count": n,
            "unscored": self.unscored,
            "sum": self.scores.total if n else nan,
            "m2": self.m2 if n else nan,
            "min": self.low if n else nan,
            "max": self.high if n else nan,
            "quantiles": {
                q: quantile_from_counts(counts, q) if counts is not None and n else nan for q in qs
            },
            "interval": self.scores if self.finite else None,
        }
