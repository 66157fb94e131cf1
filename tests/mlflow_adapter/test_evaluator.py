"""mlflow.evaluate(..., evaluators="llm_eval") end to end on the sqlite store, read back from it."""

from __future__ import annotations

import math

import mlflow
import numpy as np
import pandas as pd
import pytest
from rouge_score import rouge_scorer

import mlflow_llm_eval as le

SUMMARIES = pd.DataFrame(
    {
        "inputs": [
            "Summarise: the cat sat on the mat all day long.",
            "Summarise: stocks fell sharply after the bank raised rates.",
            "Summarise: the river flooded the village after heavy rain.",
        ],
        "ground_truth": [
            "A cat sat on a mat all day.",
            "Stocks fell after a rate rise.",
            "Heavy rain made the river flood the village.",
        ],
        "predictions": [
            "The cat sat on the mat.",
            "Stocks dropped sharply after rates rose.",
            "The village flooded after the river rose.",
        ],
    }
)


def _summarise(frame: pd.DataFrame) -> list[str]:
    return [text.replace("Summarise: ", "").split(" after ")[0] for text in frame["inputs"]]


def test_static_frame_text_summarization_matches_rouge_score(mlflow_store) -> None:
    with mlflow.start_run() as run:
        result = mlflow.evaluate(
            data=SUMMARIES,
            targets="ground_truth",
            predictions="predictions",
            model_type="text-summarization",
            evaluators="llm_eval",
        )
    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=False)
    expected = [
        scorer.score(t, p) for t, p in zip(SUMMARIES["ground_truth"], SUMMARIES["predictions"])
    ]
    table = result.tables["eval_results_table"]
    assert len(table) == 3
    assert table["rouge1/v1/score"].tolist() == pytest.approx(
        [e["rouge1"].fmeasure for e in expected]
    )
    assert result.metrics["rougeL/v1/mean"] == pytest.approx(
        np.mean([e["rougeL"].fmeasure for e in expected])
    )
    for key in [
        "rouge2/v1/p90",
        "rougeLsum/v1/variance",
        "flesch_kincaid_grade_level/v1/mean",
        "ari_grade_level/v1/mean",
        "token_count/mean",
        "rouge1/v1/mean_ci_low",
        "rouge1/v1/count",
    ]:
        assert key in result.metrics, key
    # toxicity is in the preset: present as a column, never silently skipped
    assert "toxicity/v1/status" in table.columns
    # logged to the store, read back through a fresh client
    logged = mlflow.MlflowClient().get_run(run.info.run_id).data.metrics
    assert logged["rouge1/v1/mean"] == pytest.approx(result.metrics["rouge1/v1/mean"])
    assert logged["rouge1/v1/count"] == 3
    artifacts = [a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)]
    assert "eval_results_table.json" in artifacts


def test_callable_model_question_answering(mlflow_store) -> None:
    data = pd.DataFrame({"inputs": ["2+2", "capital of France"], "ground_truth": ["4", "Paris"]})

    def model(frame: pd.DataFrame) -> list[str]:
        return ["4" if "2+2" in q else "Lyon" for q in frame["inputs"]]

    with mlflow.start_run():
        result = mlflow.evaluate(
            model,
            data,
            targets="ground_truth",
            model_type="question-answering",
            evaluators="llm_eval",
            extra_metrics=[le.latency()],
        )
    table = result.tables["eval_results_table"]
    assert table["ground_truth"].tolist() == ["4", "Paris"]
    assert table["outputs"].tolist() == ["4", "Lyon"]
    assert table["exact_match/v1/score"].tolist() == [1.0, 0.0]
    assert result.metrics["exact_match/v1"] == 0.5
    assert (
        all(s >= 0 for s in table["latency/v1/score"]) and result.metrics["latency/v1/count"] == 2
    )


def test_callable_taking_a_list_of_strings(mlflow_store) -> None:
    data = pd.DataFrame({"question": ["a", "b"], "answer": ["A", "X"]})
    with mlflow.start_run():
        result = mlflow.evaluate(
            lambda texts: [t.upper() for t in texts],
            data,
            targets="answer",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[le.exact_match()],
            evaluator_config={"model_input": "text"},
        )
    assert result.metrics["exact_match/v1/mean"] == 0.5


class _Upper(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return [str(q).upper() for q in model_input["inputs"]]


def test_logged_pyfunc_model_uri(mlflow_store) -> None:
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="upper", python_model=_Upper())
    data = pd.DataFrame({"inputs": ["yes", "no"], "ground_truth": ["YES", "nope"]})
    with mlflow.start_run():
        result = mlflow.evaluate(
            info.model_uri,
            data,
            targets="ground_truth",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[le.exact_match()],
        )
    table = result.tables["eval_results_table"]
    assert table["outputs"].tolist() == ["YES", "NO"]
    assert table["exact_match/v1/score"].tolist() == [1.0, 0.0]


def test_mlflow_make_metric_and_our_row_metric_together(mlflow_store) -> None:
    from mlflow.metrics import MetricValue, make_metric

    def length_eval(predictions, targets, metrics):
        scores = [len(p) - len(t) for p, t in zip(predictions, targets)]
        return MetricValue(scores=scores, aggregate_results={"total": float(sum(scores))})

    theirs = make_metric(eval_fn=length_eval, greater_is_better=False, name="length_gap")
    ours = le.make_row_metric(lambda p: float("?" in p), name="asks_back")
    with mlflow.start_run():
        result = mlflow.evaluate(
            data=SUMMARIES,
            targets="ground_truth",
            predictions="predictions",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[theirs, ours],
        )
    expected = [
        len(p) - len(t) for p, t in zip(SUMMARIES["predictions"], SUMMARIES["ground_truth"])
    ]
    table = result.tables["eval_results_table"]
    assert table["length_gap/score"].tolist() == expected  # no version: MLflow's `name/...` keys
    assert result.metrics["length_gap/total"] == sum(expected)
    assert result.metrics["asks_back/v1/mean"] == 0.0
    # model_type=None computes only the extra metrics
    assert not any(k.startswith("rouge") for k in result.metrics)


def test_col_mapping_and_bad_rows_never_drop_the_metric(mlflow_store) -> None:
    outputs = [
        "Paris",
        None,
        float("nan"),
        42,
        {"answer": "x"},
        ["a"],
        "",
        "bad \ud800 text",
        "Rome",
    ]
    data = pd.DataFrame(
        {"q": [f"q{i}" for i in range(len(outputs))], "gold": ["Paris"] * 8 + ["Rome"]}
    )

    def model(frame):  # a model's own outputs reach the evaluator as they are
        return outputs

    with mlflow.start_run() as run:
        result = mlflow.evaluate(
            model,
            data,
            targets="gold",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[le.exact_match(), le.token_count()],
            evaluator_config={"col_mapping": {"inputs": "q"}},
        )
    table = result.tables["eval_results_table"]
    statuses = table["exact_match/v1/status"].tolist()
    assert statuses == [
        "ok",
        "missing",
        "missing",
        "not_text",
        "not_text",
        "not_text",
        "ok",
        "invalid_unicode",
        "ok",
    ]
    assert result.metrics["exact_match/v1/count"] == 3
    assert result.metrics["exact_match/v1/mean"] == pytest.approx(2 / 3)
    assert table["token_count/status"].tolist()[-1] == "ok"
    assert math.isnan(table["token_count"][1])
    assert len(table) == len(outputs)  # nothing the user gave is lost
    assert table["outputs"][4] == '{"answer": "x"}'
    assert "\\ud800" in table["outputs"][7]
    assert (
        mlflow.MlflowClient().get_run(run.info.run_id).data.metrics["exact_match/v1/unscored"] == 6
    )


def test_missing_column_error_names_it(mlflow_store) -> None:
    with mlflow.start_run(), pytest.raises(Exception, match=r"'targets'.*Columns present"):
        mlflow.evaluate(
            data=SUMMARIES[["inputs", "predictions"]],
            predictions="predictions",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[le.exact_match()],
        )


def test_unknown_evaluator_config_key_is_rejected(mlflow_store) -> None:
    with mlflow.start_run(), pytest.raises(ValueError, match="col_maping"):
        mlflow.evaluate(
            data=SUMMARIES,
            targets="ground_truth",
            predictions="predictions",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[le.exact_match()],
            evaluator_config={"col_maping": {}},
        )


def test_latency_without_model_is_a_clear_error(mlflow_store) -> None:
    with mlflow.start_run(), pytest.raises(ValueError, match="latency"):
        mlflow.evaluate(
            data=SUMMARIES,
            targets="ground_truth",
            predictions="predictions",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[le.latency()],
        )
