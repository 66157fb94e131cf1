"""Mirrors MLflow's derived-metric tests in tests/evaluate/test_default_evaluator.py:
test_derived_metrics_basic_dependency_graph, test_derived_metrics_complicated_dependency_graph,
test_derived_metrics_circular_dependencies_raises_exception,
test_derived_metrics_missing_dependencies_raises_exception.

A make_metric eval_fn parameter named after another metric receives that metric's MLflow
``MetricValue`` (built from our results) and is scored after it; ``metrics`` receives every
metric computed before. MLflow raises MlflowException for a cycle or a missing dependency;
ours raises ValueError / our missing-column error, before any row is scored.
"""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
from mlflow.metrics import MetricValue, make_metric

from compat.conftest import logged_table, mlflow_columns

DATA = pd.DataFrame(
    {
        "question": ["words random", "This is a sentence."],
        "truth": ["words random", "This is a sentence."],
        "answer": ["words random", "This is a sentence."],
    }
)


def _evaluate(metrics, model_type=None, targets="truth"):
    with mlflow.start_run():
        return mlflow.evaluate(
            data=DATA,
            targets=targets,
            predictions="answer",
            model_type=model_type,
            evaluators="llm_eval",
            extra_metrics=metrics,
        )


def test_derived_metrics_basic_dependency_graph(mlflow_store, toxicity) -> None:
    def metric_1(predictions, targets, metrics):
        return MetricValue(
            scores=[0, 1],
            justifications=["first justification", "second justification"],
            aggregate_results={"aggregate": 0.5},
        )

    def metric_2(predictions, targets, metrics, metric_1):
        return MetricValue(
            scores=[score * 5 for score in metric_1.scores],
            justifications=["metric_2: " + j for j in metric_1.justifications],
            aggregate_results={
                **metric_1.aggregate_results,
                **metrics["toxicity/v1"].aggregate_results,
            },
        )

    def metric_3(predictions, targets, metric_1, metric_2):
        return MetricValue(
            scores=[score - 1 for score in metric_2.scores],
            justifications=metric_1.justifications,
            aggregate_results=metric_2.aggregate_results,
        )

    results = _evaluate(
        [
            toxicity,
            make_metric(eval_fn=metric_1, greater_is_better=True, version="v1"),
            make_metric(eval_fn=metric_2, greater_is_better=True, version="v2"),
            make_metric(eval_fn=metric_3, greater_is_better=True),
        ],
        model_type="text",
    )
    table = logged_table(results)
    assert mlflow_columns(table) == {
        "question",
        "truth",
        "answer",
        "token_count",
        "toxicity/v1/score",
        "flesch_kincaid_grade_level/v1/score",
        "ari_grade_level/v1/score",
        "metric_1/v1/score",
        "metric_2/v2/score",
        "metric_3/score",
        "metric_1/v1/justification",
        "metric_2/v2/justification",
        "metric_3/justification",
    }
    assert table["metric_1/v1/score"].tolist() == [0, 1]
    assert table["metric_2/v2/score"].tolist() == [0, 5]
    assert table["metric_3/score"].tolist() == [-1, 4]
    assert table["metric_1/v1/justification"].tolist() == [
        "first justification",
        "second justification",
    ]
    assert table["metric_2/v2/justification"].tolist() == [
        "metric_2: first justification",
        "metric_2: second justification",
    ]
    assert table["metric_3/justification"].tolist() == [
        "first justification",
        "second justification",
    ]
    assert results.metrics["metric_1/v1/aggregate"] == 0.5
    assert results.metrics["metric_2/v2/aggregate"] == 0.5
    assert results.metrics["metric_3/aggregate"] == 0.5
    for key in [
        "metric_2/v2/mean",
        "metric_2/v2/variance",
        "metric_2/v2/p90",
        "metric_3/mean",
        "metric_3/variance",
        "metric_3/p90",
    ]:
        assert key in results.metrics
    # as in MLflow, metric_2 copied toxicity's aggregates (they win over its own mean)
    assert results.metrics["metric_2/v2/mean"] == results.metrics["toxicity/v1/mean"]


def test_derived_metrics_complicated_dependency_graph(mlflow_store) -> None:
    seen = {}

    def metric_1(predictions, targets, metric_2, metric_3, metric_6):
        seen[1] = (metric_2.scores, metric_3.scores, metric_6.scores)
        return MetricValue(scores=[1, 2])

    def metric_2(predictions, targets):
        return MetricValue(scores=[2, 3])

    def metric_3(predictions, targets, metric_4, metric_5):
        seen[3] = (metric_4.scores, metric_5.scores)
        return MetricValue(scores=[3, 4])

    def metric_4(predictions, targets, metric_6):
        seen[4] = metric_6.scores
        return MetricValue(scores=[4, 5])

    def metric_5(predictions, targets, metric_4, metric_6):
        seen[5] = (metric_4.scores, metric_6.scores)
        return MetricValue(scores=[5, 6])

    def metric_6(predictions, targets, metric_2):
        seen[6] = metric_2.scores
        return MetricValue(scores=[6, 7])

    results = _evaluate(
        [
            make_metric(eval_fn=metric_1, greater_is_better=True, version="v1"),
            make_metric(eval_fn=metric_2, greater_is_better=True, version="v2"),
            make_metric(eval_fn=metric_3, greater_is_better=True),
            make_metric(eval_fn=metric_4, greater_is_better=True),
            make_metric(eval_fn=metric_5, greater_is_better=True, version="v1"),
            make_metric(eval_fn=metric_6, greater_is_better=True, version="v3"),
        ]
    )
    # MLflow asserts inside the eval_fns; an assertion there would be a per-row error here
    assert seen == {
        1: ([2, 3], [3, 4], [6, 7]),
        3: ([4, 5], [5, 6]),
        4: [6, 7],
        5: ([4, 5], [6, 7]),
        6: [2, 3],
    }
    table = logged_table(results)
    assert mlflow_columns(table) == {
        "question",
        "truth",
        "answer",
        "metric_1/v1/score",
        "metric_2/v2/score",
        "metric_3/score",
        "metric_4/score",
        "metric_5/v1/score",
        "metric_6/v3/score",
    }
    for key, scores in [
        ("metric_1/v1", [1, 2]),
        ("metric_2/v2", [2, 3]),
        ("metric_3", [3, 4]),
        ("metric_4", [4, 5]),
        ("metric_5/v1", [5, 6]),
        ("metric_6/v3", [6, 7]),
    ]:
        assert table[f"{key}/score"].tolist() == scores
        assert table[f"{key}/status"].tolist() == ["ok", "ok"]

    def metric_7(predictions, targets, metric_8, metric_9):
        return MetricValue(scores=[7, 8])

    def metric_8(predictions, targets, metric_11):
        return MetricValue(scores=[8, 9])

    def metric_9(predictions, targets):
        return MetricValue(scores=[9, 10])

    def metric_10(predictions, targets, metric_9):
        return MetricValue(scores=[10, 11])

    def metric_11(predictions, targets, metric_7, metric_10):
        return MetricValue(scores=[11, 12])

    with pytest.raises(ValueError, match="cycle: metric_7 -> metric_8 -> metric_11 -> metric_7"):
        _evaluate(
            [
                make_metric(eval_fn=f, greater_is_better=True)
                for f in (metric_7, metric_8, metric_9, metric_10, metric_11)
            ],
            model_type="text",
        )


def test_derived_metrics_circular_dependencies_raises_exception(mlflow_store) -> None:
    def metric_1(predictions, targets, metric_2):
        return 0

    def metric_2(predictions, targets, metric_3):
        return 0

    def metric_3(predictions, targets, metric_1):
        return 0

    with pytest.raises(ValueError, match="cycle"):
        _evaluate(
            [
                make_metric(eval_fn=f, greater_is_better=True)
                for f in (metric_1, metric_2, metric_3)
            ],
            model_type="text",
            targets=None,
        )


def test_derived_metrics_missing_dependencies_raises_exception(mlflow_store) -> None:
    def metric_1(predictions, targets, metric_2):
        return 0

    def metric_2(predictions, targets, metric_3):
        return 0

    # metric_3 is neither a metric nor a column: named in the error, with targets
    with pytest.raises(
        KeyError, match=r"metric 'metric_2' needs column\(s\) 'targets', 'metric_3'"
    ):
        _evaluate(
            [make_metric(eval_fn=f, greater_is_better=True) for f in (metric_1, metric_2)],
            model_type="text",
            targets=None,
        )
