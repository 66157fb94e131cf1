"""Score one data point with any metric: ours, a registered name, or MLflow's EvaluationMetric.

    >>> from mlflow_llm_eval import evaluate_sample, exact_match
    >>> evaluate_sample(exact_match(), prediction="4", target="4")
    RowScore(value=1.0, status='ok', reason=None, justification=None)
    >>> evaluate_sample("exact_match", prediction=None, target="4").status
    'missing'
"""

from __future__ import annotations

from typing import Any

from mlflow_llm_eval.core.engine import resolve_columns, run_metric
from mlflow_llm_eval.core.types import Metric, RowScore
from mlflow_llm_eval.mlflow_adapter.adapt import as_metric

__all__ = ["as_metric", "evaluate_sample"]


def evaluate_sample(
    metric: Metric | str | Any,
    *,
    prediction: Any = None,
    target: Any = None,
    input: Any = None,  # noqa: A002 - the field's name in every LLM dataset
    **columns: Any,
) -> RowScore:
    """Score a single row; extra keyword arguments are context columns (e.g. ``context=...``)."""
    resolved = as_metric(metric)
    row = {"predictions": prediction, "targets": target, "inputs": input, **columns}
    present = [name for name, value in row.items() if value is not None or name in columns]
    if "predictions" not in present:
        present.append("predictions")  # a None prediction is a row to score as 'missing'
    mapping = resolve_columns(resolved, present, {})
    result = run_metric(resolved, {k: [row[v]] for k, v in mapping.items()}, 1)
    return result.row(0)
