"""The classic door's metric intake: ours as they are, a registered name, or MLflow's
``EvaluationMetric`` (its builtin LLM metrics replaced by ours, its genai judges run on our judge
engine, any other wrapped as :class:`~mlflow_llm_eval.mlflow_adapter.mlflow_metric.MlflowMetric`).

    >>> as_metric("exact_match").key
    'exact_match/v1'
"""

from __future__ import annotations

from typing import Any

from mlflow_llm_eval.core.plan import select_metrics
from mlflow_llm_eval.core.registry import get_metric
from mlflow_llm_eval.core.types import Metric


#: MLflow's builtin LLM metrics that ours replace with the same numbers (offline, faster).
MLFLOW_BUILTIN_EQUIVALENTS = frozenset(
    {
        "exact_match",
        "rouge1",
        "rouge2",
        "rougeL",
        "rougeLsum",
        "flesch_kincaid_grade_level",
        "ari_grade_level",
        "token_count",
        "toxicity",
        "latency",
    }
)


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
        if (getattr(metric.eval_fn, "__module__", "") or "").startswith("mlflow.metrics"):
            from mlflow_llm_eval.function_metrics.retrieval import from_mlflow_name

            retrieval = from_mlflow_name(metric.name)  # precision_at_4 etc.: ours, same numbers
            if retrieval is not None:
                return retrieval
        from mlflow_llm_eval.mlflow_adapter.mlflow_metric import MlflowMetric

        return MlflowMetric(metric)
    raise TypeError(
        f"expected a mlflow_llm_eval Metric, a metric name or an MLflow EvaluationMetric, "
        f"got {type(metric).__name__}"
    )


def metrics_and_preset(
    model_type: str | None,
    extra_metrics: list[Any] | None,
    evaluator_config: dict[str, Any] | None = None,
) -> tuple[list[Metric], frozenset[str]]:
    """The preset of ``model_type`` plus ``extra_metrics`` taken in by :func:`as_metric`, and
    the preset's keys (:func:`~mlflow_llm_eval.core.plan.select_metrics`): what the classic and
    the Spark door compute."""
    return select_metrics(
        model_type, [as_metric(m) for m in (extra_metrics or [])], evaluator_config
    )
