"""Score one data point with any metric: ours, a registered name, or MLflow's EvaluationMetric.

>>> from mlflow_llm_eval import evaluate_sample, exact_match
>>> evaluate_sample(exact_match(), prediction="4", target="4")
RowScore(value=1.0, status='ok', reason=None, justification=None)
>>> evaluate_sample("exact_match", prediction=None, target="4").status
'missing'
"""

from __future__ import annotations

from typing import Any

from mlflow_llm_eval.core.engine import score_rows
from mlflow_llm_eval.core.plan import build_plan
from mlflow_llm_eval.core.types import Metric, RowScore
from mlflow_llm_eval.mlflow_adapter.adapt import as_metric

__all__ = ["as_metric", "evaluate_sample"]


def evaluate_sample(
    metric: Metric | str | Any,
    *,
    prediction: Any = None,
    target: Any = None,
    input: Any = None,
    **columns: Any,
) -> RowScore:
    """Score a single row; extra keyword arguments are context columns (e.g. ``context=...``)."""
    resolved = as_metric(metric)
    row = {"predictions": prediction, "targets": target, "inputs": input, **columns}
    present = [name for name, value in row.items() if value is not None or name in columns]
    if "predictions" not in present:
        present.append("predictions")  # a None prediction is a row to score as 'missing'
    plan = build_plan([resolved], columns=present)  # the same plan as every door's
    return score_rows(plan, lambda column: [row[column]], 1)[resolved.key].row(0)
