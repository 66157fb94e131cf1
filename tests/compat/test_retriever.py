"""The retriever cases of MLflow's tests, run side by side with MLflow's default evaluator.

Ports (test data and expectations): tests/metrics/test_metric_definitions.py
``test_precision_at_k``, ``test_recall_at_k``, ``test_ndcg_at_k``; tests/evaluate/
test_default_evaluator.py ``test_evaluate_retriever``, ``..._builtin_metrics_no_model_type``,
``..._with_numpy_array_values``, ``..._with_ints``. Each evaluation runs with
``evaluators="default"`` and ``evaluators="llm_eval"`` on the same data: MLflow's keys and
values must be equal, and the table must have MLflow's columns (plus our ``/status``).
Deliberate differences: an invalid ``retriever_k`` is an error (MLflow logs nothing, silently);
MLflow ignores unknown evaluator_config keys such as ``{"k": 3}``, llm_eval refuses them; our
table logs list cells (the id lists) as their JSON text (README "Differences from MLflow").
"""

from __future__ import annotations

import json
import warnings

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.metrics.metric_definitions import (
    _ndcg_at_k_eval_fn,
    _precision_at_k_eval_fn,
    _recall_at_k_eval_fn,
)

from compat.conftest import logged_table, mlflow_columns
from mlflow_llm_eval.function_metrics.retrieval import ndcg_at_k, precision_at_k, recall_at_k

OURS = ("/count", "/unscored", "/mean_ci_low", "/mean_ci_high")
warnings.filterwarnings("ignore", category=FutureWarning, module="mlflow")


def _scores(metric, predictions, targets):
    return metric.score_batch({"predictions": predictions, "targets": targets}).scores


def test_precision_at_k() -> None:
    predictions = [["a", "b"], ["c", "d"], ["e"], ["f", "g"]]
    targets = [["a", "b"], ["c", "b"], ["e"], ["c"]]
    assert _scores(precision_at_k(4), predictions, targets) == [1.0, 0.5, 1.0, 0.0]
    mlflow_scores = _precision_at_k_eval_fn(4)(pd.Series(predictions), pd.Series(targets)).scores
    assert _scores(precision_at_k(4), predictions, targets) == mlflow_scores


def test_recall_at_k() -> None:
    predictions = [["a", "b"], ["c", "d", "e"], [], ["f", "g"], ["a", "a", "a"]]
    targets = [["a", "b", "c", "d"], ["c", "b", "a", "d"], [], [], ["a", "c"]]
    assert _scores(recall_at_k(4), predictions, targets) == [0.5, 0.5, 1.0, 0.0, 0.5]
    mlflow_scores = _recall_at_k_eval_fn(4)(pd.Series(predictions), pd.Series(targets)).scores
    assert _scores(recall_at_k(4), predictions, targets) == mlflow_scores


NDCG_CASES = [  # (predictions, targets, k values, expected scores per k or None = MLflow's)
    ([[], ["1", "2"], [], ["1"], ["2"]], [[], [], ["1"], ["1"], ["1"]], [3], [[1, 0, 0, 1, 0]]),
    ([["1", "2"]], [["1"]], [1, 2, 3], [[1]] * 3),
    ([["2", "1", "3"]], [["1", "2", "3"]], [1, 2, 3, 4], [[1]] * 4),
    ([["4", "5", "1"]], [["1", "2", "3"]], [1, 2, 3, 4], [[0], [0], [0.2346394], [0.2346394]]),
    (
        [["1", "1", "2", "5", "5"], ["1_1", "1_2", "2", "5", "6"]],
        [["1", "2", "3"], ["1_1", "1_2", "2", "3"]],
        [1, 2, 3, 4],
        None,
    ),
    ([["1", "2", "3"], ["1", "2", "3"]], [["1", "1", "1"], ["1"]], [1, 2, 3, 4], None),
    ([["c", "c", "c"]], [["a", "b"]], [3], [[0.0]]),
]


@pytest.mark.parametrize(("predictions", "targets", "ks", "expected"), NDCG_CASES)
def test_ndcg_at_k(predictions, targets, ks, expected) -> None:
    for i, k in enumerate(ks):
        ours = _scores(ndcg_at_k(k), predictions, targets)
        theirs = _ndcg_at_k_eval_fn(k)(pd.Series(predictions), pd.Series(targets)).scores
        assert ours == list(map(float, theirs))  # bit-identical to MLflow's sklearn path
        if expected is not None:
            assert ours == pytest.approx(expected[i])
        else:  # MLflow asserts: duplicate rows score the same
            assert ours[0] == pytest.approx(ours[1])


def _cell(value):
    return json.loads(value) if isinstance(value, str) and value.startswith("[") else value


def _side_by_side(**kwargs):
    """(MLflow default, llm_eval) results and tables on the same call."""
    out = []
    for evaluator in ("default", "llm_eval"):
        config = kwargs.get("evaluator_config")  # MLflow pops retriever_k from the user's dict
        with mlflow.start_run() as run:
            results = mlflow.evaluate(
                **{**kwargs, "evaluator_config": config and dict(config)}, evaluators=evaluator
            )
        logged = mlflow.get_run(run.info.run_id).data.metrics
        out.append((results, logged, logged_table(results)))
    (theirs, theirs_logged, their_table), (ours, ours_logged, our_table) = out
    assert theirs_logged == theirs.metrics
    assert theirs.metrics, "MLflow logged nothing: the case is not comparable"
    assert {key: ours.metrics[key] for key in theirs.metrics} == theirs.metrics
    assert {key for key in ours.metrics if not key.endswith(OURS)} == set(theirs.metrics)
    assert {key: ours_logged[key] for key in theirs_logged} == theirs_logged
    assert mlflow_columns(our_table) == set(their_table.columns)
    for column in their_table.columns:  # our table logs list cells as their JSON text
        assert [_cell(v) for v in our_table[column]] == their_table[column].tolist(), column
    return ours, our_table


QUESTIONS = pd.DataFrame({"question": ["q1?"] * 3, "ground_truth": [["doc1", "doc2"]] * 3})


def _retrieve(X):
    return pd.DataFrame({"retrieved_context": [["doc1", "doc3", "doc2"]] * len(X)})


def _retrieve_duplicates(X):
    return pd.DataFrame({"retrieved_context": [["doc1", "doc1", "doc3"]] * len(X)})


def _retrieve_nothing(X):
    return pd.DataFrame({"output": [[]] * len(X)})


@pytest.mark.parametrize(
    ("model", "data", "config", "expected"),
    [
        (
            _retrieve,
            QUESTIONS,
            None,
            {
                "precision_at_3/mean": 2 / 3,
                "recall_at_3/mean": 1.0,
                "ndcg_at_3/mean": pytest.approx(0.9197207891481877),
            },
        ),
        (
            _retrieve,
            QUESTIONS,
            {"retriever_k": 6},
            {"precision_at_6/mean": 2 / 3, "recall_at_6/mean": 1.0},
        ),
        (
            _retrieve_duplicates,
            QUESTIONS.assign(ground_truth=[["doc1", "doc3"]] * 3),
            {"retriever_k": 3},
            {"precision_at_3/mean": 1, "recall_at_3/mean": 1.0, "ndcg_at_3/mean": 1.0},
        ),
        (
            _retrieve_nothing,
            QUESTIONS,
            {"retriever_k": 4},
            {"precision_at_4/mean": 0, "recall_at_4/mean": 0, "ndcg_at_4/mean": 0.0},
        ),
    ],
)
def test_evaluate_retriever(mlflow_store, model, data, config, expected) -> None:
    ours, table = _side_by_side(
        model=model,
        data=data,
        targets="ground_truth",
        model_type="retriever",
        evaluator_config=config,
    )
    for key, value in expected.items():
        assert ours.metrics[key] == value
    k = (config or {}).get("retriever_k", 3)
    assert set(table[f"precision_at_{k}/status"]) == {"ok"}


def test_evaluate_retriever_static_dataset_with_extra_metrics(mlflow_store) -> None:
    data = pd.DataFrame(
        {
            "question": [["q1?"]] * 3,
            "targets_param": [["doc1", "doc2"]] * 3,
            "predictions_param": [["doc1", "doc4", "doc5"]] * 3,
        }
    )
    ours, _ = _side_by_side(
        data=data,
        predictions="predictions_param",
        targets="targets_param",
        model_type="retriever",
        extra_metrics=[mlflow.metrics.precision_at_k(4), mlflow.metrics.recall_at_k(4)],
    )
    assert ours.metrics["precision_at_3/mean"] == 1 / 3
    assert ours.metrics["recall_at_4/mean"] == 0.5
    assert ours.metrics["ndcg_at_3/mean"] == pytest.approx(0.6131471927654585)


def test_evaluate_retriever_builtin_metrics_no_model_type(mlflow_store) -> None:
    def model(X):
        return {"retrieved_context": [["doc1", "doc3", "doc2"]] * len(X)}

    ours, _ = _side_by_side(
        model=model,
        data=QUESTIONS,
        targets="ground_truth",
        extra_metrics=[
            mlflow.metrics.precision_at_k(4),
            mlflow.metrics.recall_at_k(4),
            mlflow.metrics.ndcg_at_k(4),
        ],
    )
    assert ours.metrics["ndcg_at_4/mean"] == pytest.approx(0.9197207891481877)


@pytest.mark.parametrize(
    ("truth", "retrieved"),
    [
        (np.array(["doc1", "doc2"]), np.array(["doc1", "doc3", "doc2"])),  # numpy array values
        ([1, 2], np.array([1, 3, 2])),  # ints
    ],
)
def test_evaluate_retriever_numpy_and_ints(mlflow_store, truth, retrieved) -> None:
    data = pd.DataFrame({"question": ["q1?"] * 3, "ground_truth": [truth] * 3})

    def model(X):
        return pd.DataFrame({"retrieved_context": [retrieved] * len(X)})

    with mlflow.start_run():
        theirs = mlflow.evaluate(
            model=model,
            data=data,
            targets="ground_truth",
            model_type="retriever",
            evaluators="default",
        )
    with mlflow.start_run():
        ours = mlflow.evaluate(
            model=model,
            data=data,
            targets="ground_truth",
            model_type="retriever",
            evaluators="llm_eval",
        )
    assert {key: ours.metrics[key] for key in theirs.metrics} == theirs.metrics
    assert ours.metrics["recall_at_3/mean"] == 1.0


def test_invalid_retriever_k_is_an_error_not_silence(mlflow_store) -> None:
    with mlflow.start_run(), pytest.raises(ValueError, match="k must be a positive integer"):
        mlflow.evaluate(
            model=_retrieve,
            data=QUESTIONS,
            targets="ground_truth",
            model_type="retriever",
            evaluators="llm_eval",
            evaluator_config={"retriever_k": -1},
        )


def test_a_malformed_row_is_a_status_not_a_dropped_metric(mlflow_store) -> None:
    """MLflow skips the whole metric when one row is not a list of ids; we mark that row."""
    data = pd.DataFrame(
        {"question": ["a", "b"], "truth": [["d1"], "d1"], "retrieved": [["d1", "d2"], ["d1"]]}
    )
    with mlflow.start_run():
        ours = mlflow.evaluate(
            data=data,
            predictions="retrieved",
            targets="truth",
            model_type="retriever",
            evaluators="llm_eval",
        )
    table = logged_table(ours)
    assert table["precision_at_3/status"].tolist() == ["ok", "malformed"]
    assert ours.metrics["precision_at_3/mean"] == 0.5
    assert ours.metrics["precision_at_3/unscored"] == 1
