"""MLflow's own ``EvaluationMetric`` objects (``mlflow.metrics.make_metric``, builtin ones) as metrics.

MLflow calls ``eval_fn`` with arguments chosen by parameter name: ``predictions``, ``targets``,
``metrics`` and any other name is a column. We keep that contract for compatibility, here only.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch, RowScore

_NAMED = {"predictions": "predictions", "targets": "targets"}


class MlflowMetric(Metric):
    """Wraps an MLflow ``EvaluationMetric``; its eval_fn scores the whole batch."""

    def __init__(self, metric: Any) -> None:
        self.mlflow_metric = metric
        self.name = metric.name
        self.version = metric.version or "v1"
        self.greater_is_better = bool(metric.greater_is_better)
        self.description = (metric.metric_details or "").strip().split("\n")[0][:200]
        parameters = list(inspect.signature(metric.eval_fn).parameters.values())
        self._pass_metrics = any(p.name == "metrics" for p in parameters)
        self._varargs = any(p.kind is p.VAR_POSITIONAL for p in parameters)
        self._columns = [
            p.name for p in parameters
            if p.name != "metrics" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        self.requires = tuple(_NAMED.get(c, c) for c in self._columns)
        # A genai metric's extra columns arrive as *args in grading_context_columns order.
        self._context_columns = tuple(
            (getattr(metric, "genai_metric_args", None) or {}).get("grading_context_columns") or ()
        ) if self._varargs else ()
        self.requires += tuple(c for c in self._context_columns if c not in self.requires)

    def score_batch(self, rows: RowBatch) -> MetricResult:
        n = len(next(iter(rows.values())))
        kwargs = {c: pd.Series(list(rows[_NAMED.get(c, c)]), name=c) for c in self._columns}
        if self._pass_metrics:
            kwargs["metrics"] = {}
        args = [pd.Series(list(rows[c]), name=c) for c in self._context_columns]
        if args:
            value = self.mlflow_metric.eval_fn(*kwargs.values(), *args)
        else:
            value = self.mlflow_metric.eval_fn(**kwargs)
        if value is None:
            return MetricResult.all_failed(n, "error", "the MLflow metric returned None (skipped)")
        if isinstance(value, (int, float)):  # an aggregate-only float
            return MetricResult(**_no_rows(n), extra_aggregates={"value": float(value)})
        scores = list(value.scores) if value.scores is not None else None
        justifications = list(value.justifications) if value.justifications is not None else None
        if scores is None:
            result = MetricResult(**_no_rows(n))
        else:
            if len(scores) != n:
                raise ValueError(f"MLflow metric {self.name} returned {len(scores)} scores for {n} rows")
            result = MetricResult.from_rows(
                [_row(s, justifications[i] if justifications else None) for i, s in enumerate(scores)]
            )
        result.extra_aggregates = {
            k: float(v) for k, v in (value.aggregate_results or {}).items() if _is_number(v)
        }
        return result


def _no_rows(n: int) -> dict[str, Any]:
    return {
        "scores": [math.nan] * n,
        "statuses": ["aggregate_only"] * n,
        "reasons": ["the metric gives only an aggregate, no per-row score"] * n,
    }


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _row(score: Any, justification: Any) -> RowScore:
    j = None if justification is None else str(justification)
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return RowScore.unscored("unscored", "the MLflow metric gave no score for this row", j)
    if not _is_number(score):
        return RowScore.unscored("error", f"the MLflow metric gave {score!r}, not a number", j)
    return RowScore.ok(float(score), j)
