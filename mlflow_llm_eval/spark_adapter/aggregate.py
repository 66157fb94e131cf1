"""Distributed aggregates: each Arrow batch's partial summary, computed on the executor while
it scores (:func:`~mlflow_llm_eval.core.summary.partial_summary`: count, unscored, sum, ``m2``,
min, max, value counts), rides in the batch stats column; the driver streams those rows (one per
batch, never a text column) and merges them (:class:`~mlflow_llm_eval.core.summary.SummaryMerger`);
the core turns the summary into the aggregate dict
(:func:`~mlflow_llm_eval.core.aggregate.aggregate_from_summary`, the function the pandas path
uses too), so both paths agree to rounding. Exact quantiles come from the merged value counts;
only when a metric has more than ``MAX_DISTINCT`` distinct values does one Spark job over its
score column compute them (``percentile``: exact, linear interpolation, as numpy's default).

The same rows carry the metrics' extra aggregates, merged as each metric declares
(:func:`~mlflow_llm_eval.core.merge.merge_extra_aggregates`: summed, weighted by scored rows or
by a count, or exact only within one batch and left out, with a warning, over several).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from mlflow_llm_eval.core.aggregate import QUANTILES, aggregate_from_summary
from mlflow_llm_eval.core.engine import assemble_aggregates, named_aggregates
from mlflow_llm_eval.core.intervals import CONTINUOUS, MAX_DISTINCT, ScoreSummary
from mlflow_llm_eval.core.merge import merge_extra_aggregates
from mlflow_llm_eval.core.plan import EvaluationPlan
from mlflow_llm_eval.core.summary import SummaryMerger
from mlflow_llm_eval.core.types import Metric
from mlflow_llm_eval.spark_adapter.partition import STATS_COLUMN


def summaries(
    table: Any, metrics: Sequence[Metric], plan: EvaluationPlan | None = None
) -> dict[str, dict[str, Any]]:
    """Per metric key, the summary :func:`aggregate_from_summary` reads, from the score columns
    alone (one Spark job, plus a bounded ``GROUP BY`` per metric for the value counts): the
    path for metrics whose batch summaries could not keep their value counts."""
    from pyspark.sql import functions as F

    expressions = [F.count(F.lit(1)).alias("rows")]
    for i, metric in enumerate(metrics):
        column = F.col(f"`{_score(metric, plan)}`").cast("double")
        value = F.when(column.isNotNull() & ~F.isnan(column), column)
        qs = sorted({QUANTILES[a] for a in metric.aggregations if a in QUANTILES})
        expressions += [
            F.count(value).alias(f"n{i}"),
            F.sum(value).alias(f"s{i}"),
            F.var_pop(value).alias(f"v{i}"),
            F.sum(value * value).alias(f"sq{i}"),
            F.min(value).alias(f"lo{i}"),
            F.max(value).alias(f"hi{i}"),
        ]
        if qs:
            expressions.append(F.percentile(value, F.array(*[F.lit(q) for q in qs])).alias(f"q{i}"))
    row = table.agg(*expressions).collect()[0].asDict()
    out: dict[str, dict[str, Any]] = {}
    for i, metric in enumerate(metrics):
        n = int(row[f"n{i}"])
        qs = sorted({QUANTILES[a] for a in metric.aggregations if a in QUANTILES})
        quantiles = row.get(f"q{i}") or [math.nan] * len(qs)
        nan = math.nan
        out[metric.key] = {
            "count": n,
            "unscored": int(row["rows"]) - n,
            "sum": float(row[f"s{i}"]) if n else nan,
            "m2": float(row[f"v{i}"]) * n if n else nan,
            "min": float(row[f"lo{i}"]) if n else nan,
            "max": float(row[f"hi{i}"]) if n else nan,
            "quantiles": {q: float(v) if n else nan for q, v in zip(qs, quantiles)},
        }
        out[metric.key]["interval"] = _interval_summary(
            table, metric, n, row, i, _score(metric, plan)
        )
    return out


def _score(metric: Metric, plan: EvaluationPlan | None) -> str:
    return plan.column(metric, "score") if plan is not None else metric.score_column


def _interval_summary(
    table: Any, metric: Metric, n: int, row: dict[str, Any], i: int, score_column: str
) -> ScoreSummary | None:
    """The interval's :class:`ScoreSummary`: moments, plus the value counts (a ``GROUP BY``
    of at most ``MAX_DISTINCT`` + 1 rows to the driver) where the kind's method reads them."""
    from pyspark.sql import functions as F

    if n == 0:
        return ScoreSummary(0, 0.0, 0.0, {})
    low, high = float(row[f"lo{i}"]), float(row[f"hi{i}"])
    if not (math.isfinite(low) and math.isfinite(high)):
        return None  # an infinite score: no interval, as on one machine
    counts = None
    if metric.value_kind not in CONTINUOUS or n <= MAX_DISTINCT:
        column = F.col(f"`{score_column}`").cast("double")
        grouped = (
            table.where(column.isNotNull() & ~F.isnan(column))
            .groupBy(column.alias("v"))
            .count()
            .limit(MAX_DISTINCT + 1)
            .collect()
        )
        if len(grouped) <= MAX_DISTINCT:
            counts = dict(sorted((float(g["v"]), int(g["count"])) for g in grouped))
    return ScoreSummary(n, float(row[f"s{i}"]), float(row[f"sq{i}"]), counts)


def batch_stats(
    table: Any, metrics: Sequence[Metric]
) -> tuple[dict[str, SummaryMerger], list[dict[str, Any]]]:
    """Stream the batch stats rows (one per batch): per metric key its merged summary, and the
    extra-aggregate parts of each batch (the summaries dropped, so memory stays bounded)."""
    from pyspark.sql import functions as F

    mergers = {m.key: SummaryMerger() for m in metrics}
    batches: list[dict[str, Any]] = []
    rows = table.where(F.col(f"`{STATS_COLUMN}`").isNotNull()).select(f"`{STATS_COLUMN}`")
    for row in rows.toLocalIterator():
        stats = json.loads(row[0])
        for key, merger in mergers.items():
            if key in stats:
                merger.add(stats[key].pop("summary"))
        batches.append(stats)
    return mergers, batches


def extra_aggregates(
    batches: Sequence[dict[str, Any]], metrics: Sequence[Metric]
) -> dict[str, dict[str, float]]:
    """Per metric key, its extra aggregates merged over the batches' stats (the plan's rule)."""
    merged: dict[str, dict[str, float]] = {}
    for metric in metrics:
        parts = [
            (b[metric.key]["extras"], b[metric.key]["scored"]) for b in batches if metric.key in b
        ]
        merged[metric.key] = merge_extra_aggregates(metric, parts)
    return merged


def run_aggregates(table: Any, plan: EvaluationPlan) -> dict[str, float]:
    """The run metrics, named as the classic path names them (the plan's names)."""
    metrics = plan.metrics
    mergers, batches = batch_stats(table, metrics)
    summary = {m.key: mergers[m.key].summary(m.aggregations) for m in metrics}
    overflowed = [
        m
        for m in metrics
        if mergers[m.key].needs_quantiles and any(a in QUANTILES for a in m.aggregations)
    ]
    if overflowed:  # too many distinct values for counts: Spark sorts those score columns
        for key, exact in summaries(table, overflowed, plan).items():
            summary[key]["quantiles"] = exact["quantiles"]
    extras = extra_aggregates(batches, metrics)
    out: dict[str, float] = {}
    for metric in metrics:
        stats = [b[metric.key] for b in batches if metric.key in b]
        row_values = None  # a metric that gives only an aggregate has only its extras
        if not (stats and all(s["aggregate_only"] for s in stats)):
            row_values = aggregate_from_summary(
                summary[metric.key], metric.aggregations, metric.value_kind, metric.value_range
            )
        values = assemble_aggregates(row_values, extras[metric.key])
        out.update(named_aggregates(metric, values, plan.config.metric_prefix))
    return out
