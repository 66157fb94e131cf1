"""The FMEval metrics through evaluate_sample, score_frame by name, and mlflow.evaluate."""

from __future__ import annotations

import math

import mlflow
import pandas as pd
import pytest

from mlflow_llm_eval.core.registry import get_metric
from mlflow_llm_eval.fmeval.classification_accuracy import classification_accuracy
from mlflow_llm_eval.fmeval.factual_knowledge import factual_knowledge
from mlflow_llm_eval.fmeval.qa_accuracy import qa_f1, qa_quasi_exact_match
from mlflow_llm_eval.fmeval.semantic_robustness import (
    semantic_robustness_delta,
    semantic_robustness_wer,
)
from mlflow_llm_eval.sample import evaluate_sample

NAMES = [
    "factual_knowledge",
    "factual_knowledge_quasi_exact",
    "qa_exact_match",
    "qa_quasi_exact_match",
    "qa_f1",
    "qa_precision_over_words",
    "qa_recall_over_words",
    "summarization_rouge",
    "meteor",
    "meteor_exact_stem",
    "bertscore",
    "qa_bertscore",
    "classification_accuracy",
    "semantic_robustness_wer",
    "semantic_robustness_delta",
    "semantic_robustness_bertscore_dissimilarity",
]


@pytest.mark.parametrize("name", NAMES)
def test_known_by_name(name):
    if name.startswith("semantic_robustness"):
        metric = get_metric(name, model=str.upper)
        assert metric.requires[0] == "inputs" and not metric.greater_is_better
    else:
        metric = get_metric(name)
        assert metric.greater_is_better and metric.description
    assert "FMEval" in metric.description


def test_evaluate_sample():
    row = evaluate_sample(
        factual_knowledge(), prediction="Berlin is in Germany", target="France<OR>Germany"
    )
    assert (row.value, row.status) == (1.0, "ok")
    assert evaluate_sample("qa_f1", prediction="iron tower", target="the iron tower").value == 1.0
    assert evaluate_sample("qa_f1", prediction=None, target="x").status == "missing"
    label = evaluate_sample(
        classification_accuracy(valid_labels=["yes", "no"]), prediction="no way", target="no"
    )
    assert label.value == 1.0 and label.justification == "predicted label 'no' (target 'no')"
    robust = evaluate_sample(
        semantic_robustness_wer(lambda ps: [p.lower() for p in ps]),
        input="What is the capital of France?",
    )
    assert robust.status == "ok" and robust.value >= 0


QA = pd.DataFrame(
    {
        "question": ["Capital of France?", "Largest planet?", "Who wrote Hamlet?"],
        "ground_truth": ["Paris", "Jupiter", "Shakespeare<OR>William Shakespeare"],
        "predictions": ["It is Paris.", "Saturn", None],
    }
)


def test_static_frame_in_mlflow_evaluate(mlflow_store):
    with mlflow.start_run():
        result = mlflow.evaluate(
            data=QA,
            targets="ground_truth",
            predictions="predictions",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[
                factual_knowledge(),
                qa_f1(),
                qa_quasi_exact_match(),
                classification_accuracy(),
            ],
        )
    table = result.tables["eval_results_table"]
    assert table["factual_knowledge/v1/score"].tolist()[:2] == [1.0, 0.0]
    assert math.isnan(table["factual_knowledge/v1/score"].tolist()[2])
    assert table["factual_knowledge/v1/status"].tolist()[2] == "missing"
    assert result.metrics["factual_knowledge/v1/mean"] == 0.5
    assert result.metrics["qa_f1/v1/mean"] == pytest.approx((0.5 + 0.0) / 2)  # P 1/3, R 1 -> F1 0.5
    assert "classification_accuracy/v1/balanced_accuracy" in result.metrics
    assert "qa_f1/v1/mean_ci_low" in result.metrics


def test_semantic_robustness_with_a_model_in_mlflow_evaluate(mlflow_store):
    def model(texts):
        return ["Paris" if "france" in t.lower() else "Jupiter" for t in texts]

    data = QA.drop(columns=["predictions"]).rename(columns={"question": "inputs"})
    with mlflow.start_run():
        result = mlflow.evaluate(
            model,
            data,
            targets="ground_truth",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[
                semantic_robustness_wer(model, deterministic=True),
                semantic_robustness_delta(model, "factual_knowledge", deterministic=True),
                factual_knowledge(),
            ],
            evaluator_config={"model_input": "text"},
        )
    table = result.tables["eval_results_table"]
    assert table["factual_knowledge/v1/score"].tolist() == [1.0, 1.0, 0.0]
    assert table["semantic_robustness_wer/v1/status"].tolist() == ["ok"] * 3
    assert result.metrics["semantic_robustness_wer/v1/count"] == 3
    # typos in "france" can flip the answer: the delta is the share of flipped perturbations
    deltas = table["semantic_robustness_delta_factual_knowledge/v1/score"].tolist()
    assert all(0.0 <= d <= 1.0 for d in deltas) and deltas[1] == 0.0
