"""Mirrors MLflow's tests/metrics/test_metric_definitions.py, LLM metrics only
(test_return_type_and_len_with_target, test_toxicity, test_flesch_kincaid_grade_level,
test_ari_grade_level, test_exact_match, test_rouge1, test_rouge2, test_rougeL, test_rougeLsum).

MLflow calls each metric's eval_fn directly; here the same MLflow metric objects go through
``mlflow.evaluate(..., evaluators="llm_eval")`` (ours replace MLflow's builtin LLM metrics of
the same name) and the same values are asserted on the run's metrics and table.
Deliberate differences (docs/differences.md): an empty dataset is an error, not a
``None`` metric; toxicity runs on a tiny local model, so its checks are structural.
"""

from __future__ import annotations

import math

import mlflow
import numpy as np
import pandas as pd
import pytest

from compat.conftest import logged_table


def _evaluate(metric, predictions, targets=None):
    data = pd.DataFrame({"predictions": predictions})
    if targets is not None:
        data["targets"] = targets
    with mlflow.start_run():
        return mlflow.evaluate(
            data=data,
            predictions="predictions",
            targets="targets" if targets is not None else None,
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[metric],
        )


METRICS_WITH_TARGETS = [
    "ari_grade_level",
    "exact_match",
    "flesch_kincaid_grade_level",
    "rouge1",
    "rouge2",
    "rougeL",
    "rougeLsum",
]


@pytest.mark.parametrize("name", METRICS_WITH_TARGETS)
def test_return_type_and_len_with_target(mlflow_store, name) -> None:
    predictions = ["sentence not", "random text", "a", "c"]
    result = _evaluate(getattr(mlflow.metrics, name)(), predictions, predictions)
    table = result.tables["eval_results_table"]
    assert len(table) == len(predictions)
    assert table[f"{name}/v1/score"].notna().all()
    # MLflow's eval_fn returns None on empty Series; mlflow.evaluate with no rows is our error
    with pytest.raises(Exception, match="empty"):
        _evaluate(getattr(mlflow.metrics, name)(), [], [])


ROUGE_CASES = {  # MLflow's inputs and asserted values, per metric
    "rouge1": (["a", "d c"], ["d", "b c"], [0.0, 0.5], 0.25, 0.45, 0.0625),
    "rouge2": (["a e", "b c e"], ["a e", "b c d"], [1.0, 0.5], 0.75, 0.95, 0.0625),
    "rougeL": (["a", "b c"], ["d", "b c"], [0.0, 1.0], 0.5, 0.9, 0.25),
    "rougeLsum": (["a", "b c"], ["d", "b c"], [0.0, 1.0], 0.5, 0.9, 0.25),
}


@pytest.mark.parametrize("name", list(ROUGE_CASES))
def test_rouge(mlflow_store, name) -> None:
    predictions, targets, scores, mean, p90, variance = ROUGE_CASES[name]
    result = _evaluate(getattr(mlflow.metrics, name)(), predictions, targets)
    assert result.tables["eval_results_table"][f"{name}/v1/score"].tolist() == scores
    assert result.metrics[f"{name}/v1/mean"] == mean
    assert result.metrics[f"{name}/v1/p90"] == pytest.approx(p90)
    assert result.metrics[f"{name}/v1/variance"] == variance


def test_exact_match(mlflow_store) -> None:
    same = ["sentence not", "random text", "a", "c"]
    assert _evaluate(mlflow.metrics.exact_match(), same, same).metrics["exact_match/v1"] == 1.0
    result = _evaluate(
        mlflow.metrics.exact_match(), ["not sentence", "random text", "b", "c"], same
    )
    assert result.metrics["exact_match/v1"] == 0.5


READABILITY_TEXTS = [
    "This is a sentence.",
    "This is a much longer and more complicated sentence than the previous one, "
    "so this sentence should have a higher grade level score.",
]


@pytest.mark.parametrize("name", ["flesch_kincaid_grade_level", "ari_grade_level"])
def test_readability(mlflow_store, name) -> None:
    result = _evaluate(getattr(mlflow.metrics, name)(), READABILITY_TEXTS)
    scores = result.tables["eval_results_table"][f"{name}/v1/score"].tolist()
    assert scores[0] < scores[1]
    assert result.metrics[f"{name}/v1/mean"] == pytest.approx(
        (scores[0] + scores[1]) / 2
    )  # JSON table: 10 digits
    assert scores[0] < result.metrics[f"{name}/v1/p90"] < scores[1]
    assert f"{name}/v1/variance" in result.metrics


def test_toxicity(mlflow_store, toxicity) -> None:
    result = _evaluate(toxicity, ["A normal sentence", "All women are bad"])
    scores = logged_table(result)["toxicity/v1/score"].tolist()
    assert all(0.0 <= s <= 1.0 for s in scores)
    # MLflow asserts the second is toxic with its Hub model; the tiny model's values are
    # random, so check what the evaluator computes from them
    assert result.metrics["toxicity/v1/ratio"] == np.mean([s >= toxicity.threshold for s in scores])
    assert result.metrics["toxicity/v1/mean"] == pytest.approx(np.mean(scores))
    assert min(scores) <= result.metrics["toxicity/v1/p90"] <= max(scores)
    assert result.metrics["toxicity/v1/variance"] == pytest.approx(np.var(scores))


def test_toxicity_without_its_model_is_recorded_per_row(mlflow_store) -> None:
    """MLflow's test_fails_to_load_metric: MLflow warns and logs nothing; we keep the column."""
    result = _evaluate(mlflow.metrics.toxicity(), ["random text", "This is a sentence"])
    table = result.tables["eval_results_table"]
    assert table["toxicity/v1/status"].tolist() == ["unavailable"] * 2
    assert all(math.isnan(s) for s in table["toxicity/v1/score"])
    assert result.metrics["toxicity/v1/unscored"] == 2
