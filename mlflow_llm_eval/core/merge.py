"""How a metric's extra aggregates merge over batches (Spark partitions, MLflow 3 scorer
batches, the engine's row-by-row fallback).

:func:`merge_rule` reads the rule of one aggregate name from the metric's ``aggregate_merges``
(name or ``fnmatch`` pattern -> ``sum``, ``scored_mean``, ``weighted_by:<count>``, ``rows``,
``from_counts``; anything undeclared is not mergeable); :func:`merge_extra_aggregates` applies
the rules to the batches' values; :func:`batch_part` is what one batch contributes and
:func:`public` what is logged of a metric's extra aggregates (its ``_counts/...`` are not).
Table of rules: docs/doors.md.
"""

from __future__ import annotations

import fnmatch
import logging
import math
from collections.abc import Mapping, Sequence

from mlflow_llm_eval.core.types import (
    COUNTS_PREFIX,
    FROM_COUNTS,
    NOT_MERGEABLE,
    ROWS,
    SCORED_MEAN,
    SUM,
    Metric,
    MetricResult,
)

_logger = logging.getLogger(__name__)


def merge_rule(metric: Metric, name: str) -> str:
    """How ``metric``'s extra aggregate ``name`` merges (its ``aggregate_merges``)."""
    for pattern, rule in metric.aggregate_merges.items():
        if fnmatch.fnmatchcase(name, pattern):
            return rule
    return NOT_MERGEABLE


def batch_part(result: MetricResult) -> tuple[dict[str, float], int]:
    """What one batch gives the merge: its extra aggregates and its number of scored rows."""
    scored = sum(not math.isnan(v) for v in result.scores)
    return {k: float(v) for k, v in result.extra_aggregates.items()}, scored


def public(extras: Mapping[str, float]) -> dict[str, float]:
    """The extra aggregates that are logged: all but the ``_counts/...`` a merge reads.

    >>> public({"balanced_accuracy": 0.5, '_counts/["a", "a"]': 3.0})
    {'balanced_accuracy': 0.5}
    """
    return {k: v for k, v in extras.items() if not k.startswith(COUNTS_PREFIX)}


def merge_extra_aggregates(
    metric: Metric, parts: Sequence[tuple[Mapping[str, float], int]]
) -> dict[str, float]:
    """Merge the extra aggregates of several batches: ``parts`` = (extras, scored rows) each.

    One batch: its values as they are. Several: by each name's rule; a ``from_counts`` name
    is recomputed by the metric from the summed ``_counts/...``; a not mergeable name is left
    out with a warning (it is exact only within one batch).

        >>> from mlflow_llm_eval.function_metrics.toxicity import Toxicity
        >>> merge_extra_aggregates(Toxicity, [({"ratio": 0.5}, 2), ({"ratio": 0.0}, 6)])
        {'ratio': 0.125}
    """
    if len(parts) <= 1:  # one batch: exact as computed
        return {k: float(v) for k, v in (parts[0][0] if parts else {}).items()}
    merged: dict[str, float] = {}
    for name in dict.fromkeys(k for p, _ in parts for k in p):
        rule = merge_rule(metric, name)
        present = [(p, n) for p, n in parts if name in p]
        if rule == ROWS:  # NaN in a batch (a NaN score) is NaN over all; else the row aggregate
            if any(math.isnan(p[name]) for p, _ in present):
                merged[name] = math.nan
            continue
        if rule == FROM_COUNTS:  # recomputed below, from the merged counts (kept in place)
            merged[name] = math.nan
            continue
        if rule == SUM:
            merged[name] = float(sum(p[name] for p, _ in present if not math.isnan(p[name])))
        elif rule == SCORED_MEAN or rule.startswith("weighted_by:"):
            count = rule.partition(":")[2]
            weight_name = f"{name.rpartition('/')[0]}/{count}".lstrip("/") if count else ""
            pairs = [
                (p[name], p.get(weight_name, 0.0) if count else n)
                for p, n in present
                if not math.isnan(p[name])
            ]
            weight = sum(w for _, w in pairs)
            merged[name] = sum(v * w for v, w in pairs) / weight if weight else math.nan
        elif len(present) == 1:
            merged[name] = float(present[0][0][name])
        else:
            _logger.warning(
                "llm_eval: %s/%s is computed per batch and cannot be merged over %d "
                "batches; it is not logged",
                metric.key,
                name,
                len(present),
            )
    if any(merge_rule(metric, k) == FROM_COUNTS for p, _ in parts for k in p):
        counts = {k: v for k, v in merged.items() if k.startswith(COUNTS_PREFIX)}
        merged.update(metric.aggregates_from_counts(counts))
    return merged
