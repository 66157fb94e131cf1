"""evaluate_sample: one data point, any metric (ours, by name, MLflow's)."""

from __future__ import annotations

import math

import pytest
from rouge_score import rouge_scorer

import mlflow_llm_eval as le
from mlflow_llm_eval.core.engine import MissingColumnError
from mlflow_llm_eval.sample import as_metric


def test_by_object_and_by_name_agree_with_rouge_score() -> None:
    target, prediction = "the quick brown fox jumps", "a quick brown dog jumps"
    expected = rouge_scorer.RougeScorer(["rouge2"]).score(target, prediction)["rouge2"].fmeasure
    assert le.evaluate_sample(le.rouge2(), prediction=prediction, target=target).value == expected
    assert le.evaluate_sample("rouge2", prediction=prediction, target=target).value == expected


def test_bad_prediction_is_a_status_not_an_exception() -> None:
    row = le.evaluate_sample("exact_match", prediction={"x": 1}, target="a")
    assert math.isnan(row.value) and row.status == "not_text" and "dict" in row.reason


def test_missing_required_column_is_an_error() -> None:
    with pytest.raises(MissingColumnError, match="targets"):
        le.evaluate_sample("exact_match", prediction="a")


def test_context_columns_are_keyword_arguments() -> None:
    metric = le.make_row_metric(
        lambda p, c: float(p in c), name="in_context", requires=("predictions", "context")
    )
    assert le.evaluate_sample(metric, prediction="Paris", context="Paris is in France").value == 1.0


def test_mlflow_make_metric_scores_one_row() -> None:
    from mlflow.metrics import MetricValue, make_metric

    metric = make_metric(
        eval_fn=lambda predictions, targets, metrics: MetricValue(
            scores=[len(p) for p in predictions]
        ),
        greater_is_better=True,
        name="length",
    )
    assert le.evaluate_sample(metric, prediction="abcd", target="x").value == 4.0


def test_mlflow_builtin_metric_maps_to_ours() -> None:
    import mlflow.metrics

    ours = as_metric(mlflow.metrics.rougeL())
    assert type(ours) is type(le.rougeL()) and ours.key == "rougeL/v1"


def test_mlflow_genai_judge_runs_on_our_engine(monkeypatch) -> None:
    from mlflow.metrics.genai import answer_similarity

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    ours = as_metric(answer_similarity(model="openai:/gpt-4o-mini"))
    assert isinstance(ours, le.Metric) and type(ours).__module__.startswith("mlflow_llm_eval.judge")
    assert ours.key == "answer_similarity/v1"
