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
from mlflow_llm_eval.core.registry import get_metric
from mlflow_llm_eval.core.types import Metric, RowScore


#: MLflow's builtin LLM metrics that ours replace with the same numbers (offline, faster).
MLFLOW_BUILTIN_EQUIVALENTS = frozenset({
    "exact_match", "rouge1", "rouge2", "rougeL", "rougeLsum", "flesch_kincaid_grade_level",
    "ari_grade_level", "token_count", "toxicity", "latency",
})


def _is_mlflow_builtin(metric: Any) -> bool:
    module = getattr(metric.eval_fn, "__module__", "") or ""
    return module.startswith("mlflow.metrics") and metric.name in MLFLOW_BUILTIN_EQUIVALENTS


def as_metric(metric: Metric | str | Any) -> Metric:
    """Accept a Metric, a registered metric name, or an MLflow ``EvaluationMetric``.

    MLflow's own builtin LLM metrics (``mlflow.metrics.rouge1()``, ``toxicity()``, ...) are
    replaced by ours of the same name, which compute the same numbers offline; MLflow's genai
    judges (``make_genai_metric``, ``mlflow.metrics.genai.answer_similarity(...)``) run on our
    judge engine with the same definition, rubric, examples, model and parameters.
    """
    if isinstance(metric, Metric):
        return metric
    if isinstance(metric, str):
        return get_metric(metric)
    if hasattr(metric, "eval_fn") and hasattr(metric, "greater_is_better"):
        if getattr(metric, "genai_metric_args", None):
            from mlflow_llm_eval.judge import from_mlflow_genai_metric

            return from_mlflow_genai_metric(metric)
        if _is_mlflow_builtin(metric):
            return get_metric(metric.name)
        from mlflow_llm_eval.mlflow_adapter.mlflow_metric import MlflowMetric

        return MlflowMetric(metric)
    raise TypeError(
        f"expected a mlflow_llm_eval Metric, a metric name or an MLflow EvaluationMetric, "
        f"got {type(metric).__name__}"
    )


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
    mapping = resolve_columns(resolved, present, {})
    result = run_metric(resolved, {k: [row[v]] for k, v in mapping.items()}, 1)
    return result.row(0)
