"""The plugin is registered with MLflow, and it is strict about when it runs."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.models.evaluation.evaluator_registry import _model_evaluation_registry

from mlflow_llm_eval.mlflow_adapter.evaluator import LLMEvaluator


def test_entry_point_registers_llm_eval() -> None:
    import mlflow.models.evaluation  # noqa: F401 - triggers MLflow's registration hook

    assert _model_evaluation_registry.is_registered("llm_eval")
    assert isinstance(_model_evaluation_registry.get_evaluator("llm_eval"), LLMEvaluator)


@pytest.mark.parametrize(
    "model_type", ["question-answering", "text-summarization", "text", "retriever", None]
)
def test_named_llm_model_types_accepted(model_type) -> None:
    assert LLMEvaluator.can_evaluate(model_type=model_type, evaluator_config={})


@pytest.mark.parametrize("model_type", ["classifier", "regressor", "databricks-agent"])
def test_other_model_types_declined(model_type) -> None:
    assert not LLMEvaluator.can_evaluate(model_type=model_type, evaluator_config={})


def test_classifier_results_unchanged_by_the_plugin(mlflow_store) -> None:
    data = pd.DataFrame({"x": np.arange(20) % 3, "y": (np.arange(20) % 3 > 0).astype(int)})
    with mlflow.start_run():
        result = mlflow.evaluate(
            lambda df: (df["x"] > 0).astype(int), data, targets="y", model_type="classifier"
        )
    assert result.metrics["accuracy_score"] == 1.0
    assert not any("/v1/" in k for k in result.metrics)


def test_plain_evaluate_with_extra_metrics_never_runs_us(mlflow_store) -> None:
    """evaluators omitted: MLflow asks every evaluator; we decline so its default runs alone."""
    from mlflow.metrics import make_metric, MetricValue

    metric = make_metric(
        eval_fn=lambda predictions, targets, metrics: MetricValue(aggregate_results={"n": 1.0}),
        greater_is_better=True,
        name="just_one",
    )
    data = pd.DataFrame({"inputs": ["a"], "predictions": ["a"], "targets": ["a"]})
    with mlflow.start_run():
        result = mlflow.evaluate(
            data=data, predictions="predictions", targets="targets", extra_metrics=[metric]
        )
    assert result.metrics["just_one/n"] == 1.0
    assert not any(k.endswith("/count") for k in result.metrics)


def test_default_and_llm_eval_together(mlflow_store) -> None:
    """The documented way to run MLflow's default evaluator and ours in one call.

    (MLflow's question-answering defaults need the network here, so an MLflow metric is used.)
    """
    from mlflow.metrics import MetricValue, make_metric

    def matches(predictions, targets, metrics):
        return MetricValue(scores=[float(p == t) for p, t in zip(predictions, targets)])

    metric = make_metric(eval_fn=matches, greater_is_better=True, name="matches")
    data = pd.DataFrame({"inputs": ["q", "r"], "predictions": ["4", "5"], "targets": ["4", "4"]})
    with mlflow.start_run():
        result = mlflow.evaluate(
            data=data,
            predictions="predictions",
            targets="targets",
            model_type=None,
            evaluators=["default", "llm_eval"],
            extra_metrics=[metric],
        )
    # both key a versionless make_metric `matches/...`; MLflow merges the results (ours last)
    assert result.metrics["matches/mean"] == 0.5
    assert result.metrics["matches/count"] == 2  # only ours logs count
