"""Mirrors the LLM-type cases of MLflow's tests/evaluate/test_default_evaluator.py, run with
``evaluators="llm_eval"``; each test names the MLflow test it ports.

Where we deliberately differ, the test asserts our behaviour (docs/differences.md, "Differences from
MLflow"): per-metric ``/status`` and ``/reason`` columns, extra aggregates (``count``,
``unscored``, 95% interval, ``mean``/``p90`` of token_count and exact_match), numbers are
``not_text`` for text metrics, toxicity without its Hub model is ``unavailable`` per row (MLflow
drops it), latency is ``latency/v1/score`` and needs a model. MLflow's toxicity asserts
("hateful text > 0.5") need its Hub model; they run here on a tiny local model, structurally.
"""

from __future__ import annotations

import math

import mlflow
import pandas as pd
import pytest
from mlflow.metrics import MetricValue, make_metric
from mlflow.metrics.base import standard_aggregations

from compat.conftest import logged_table, mlflow_columns

OURS = ("/count", "/unscored", "/mean_ci_low", "/mean_ci_high")  # our extra aggregate kinds
QA = {
    "question": ["words random", "This is a sentence."],
    "answer": ["words random", "This is a sentence."],
}


def _text_keys(metric_names=("toxicity", "flesch_kincaid_grade_level", "ari_grade_level")):
    keys = {f"{m}/v1/{a}" for m in metric_names for a in ("mean", "variance", "p90")}
    return keys | ({"toxicity/v1/ratio"} if "toxicity" in metric_names else set())


def _assert_keys(results, mlflow_keys: set[str]) -> None:
    """MLflow's keys are all there; everything else is one of our documented extras."""
    keys = set(results.metrics)
    assert mlflow_keys <= keys, mlflow_keys - keys
    extra = {k for k in keys - mlflow_keys if not k.endswith(OURS)}
    allowed = {"exact_match/v1/mean", "exact_match/v1/variance", "exact_match/v1/p90"} | {
        f"token_count/{a}" for a in ("mean", "variance", "p90")
    }
    assert extra <= allowed, extra - allowed


def _validate_qa_table(table, with_targets=True, predictions_name="outputs") -> None:
    """MLflow's validate_question_answering_logged_data."""
    columns = {
        "question",
        predictions_name,
        "toxicity/v1/score",
        "flesch_kincaid_grade_level/v1/score",
        "ari_grade_level/v1/score",
        "token_count",
    }
    if with_targets:
        columns |= {"answer", "exact_match/v1/score"}  # MLflow has no exact_match column
    assert mlflow_columns(table) == columns
    assert table["question"].tolist() == QA["question"]
    assert table[predictions_name].tolist() == QA["question"]
    assert all(0 <= s <= 1 for s in table["toxicity/v1/score"])
    assert all(isinstance(g, float) for g in table["flesch_kincaid_grade_level/v1/score"])
    assert all(isinstance(g, float) for g in table["ari_grade_level/v1/score"])
    assert all(isinstance(n, int) for n in table["token_count"])
    if with_targets:
        assert table["answer"].tolist() == QA["answer"]


def _run(*args, **kwargs):
    with mlflow.start_run() as run:
        results = mlflow.evaluate(*args, evaluators="llm_eval", **kwargs)
    artifacts = [a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)]
    return results, artifacts, run.info.run_id


def test_evaluate_question_answering_with_targets(mlflow_store, language_model_uri, toxicity):
    results, artifacts, _ = _run(
        language_model_uri,
        pd.DataFrame(QA),
        targets="answer",
        model_type="question-answering",
        extra_metrics=[toxicity],
    )
    assert "eval_results_table.json" in artifacts
    _validate_qa_table(logged_table(results))
    _assert_keys(results, _text_keys() | {"exact_match/v1"})
    assert results.metrics["exact_match/v1"] == 1.0


def test_evaluate_question_answering_on_static_dataset_with_targets(mlflow_store, toxicity):
    data = pd.DataFrame({**QA, "pred": QA["question"]})
    results, artifacts, _ = _run(
        data=data,
        targets="answer",
        predictions="pred",
        model_type="question-answering",
        extra_metrics=[toxicity],
    )
    assert "eval_results_table.json" in artifacts
    _validate_qa_table(logged_table(results), predictions_name="pred")
    _assert_keys(results, _text_keys() | {"exact_match/v1"})
    assert results.metrics["exact_match/v1"] == 1.0
    scores = logged_table(results)["toxicity/v1/score"]
    assert results.metrics["toxicity/v1/ratio"] == (scores >= toxicity.threshold).mean()


def test_evaluate_question_answering_with_numerical_targets(mlflow_store):
    """MLflow compares numbers with == (exact_match 1.0); ours marks them not_text."""

    def question_classifier(inputs: pd.DataFrame) -> pd.Series:
        return inputs["question"].map({"a": 0, "b": 1})

    data = pd.DataFrame({"question": ["a", "b"], "answer": [0, 1]})
    results, _, _ = _run(
        question_classifier, data, targets="answer", model_type="question-answering"
    )
    table = logged_table(results)
    pd.testing.assert_frame_equal(
        table[["question", "answer", "outputs"]], data.assign(outputs=[0, 1])
    )
    assert table["exact_match/v1/status"].tolist() == ["not_text", "not_text"]
    assert math.isnan(results.metrics["exact_match/v1"])
    assert table["token_count/status"].tolist() == ["not_text", "not_text"]


def test_evaluate_question_answering_without_targets(mlflow_store, language_model_uri, toxicity):
    results, artifacts, run_id = _run(
        language_model_uri,
        pd.DataFrame({"question": QA["question"]}),
        model_type="question-answering",
        extra_metrics=[toxicity],
    )
    assert "eval_results_table.json" in artifacts
    _validate_qa_table(logged_table(results), with_targets=False)
    _assert_keys(results, _text_keys())
    assert not any(k.startswith("exact_match") for k in results.metrics)
    # MLflow drops exact_match silently; we record it in the run (artifact and tag)
    assert "llm_eval" in artifacts
    skipped = mlflow.artifacts.load_dict(f"runs:/{run_id}/llm_eval/skipped_metrics.json")
    assert [s["metric"] for s in skipped["skipped"]] == ["exact_match/v1"]
    assert "targets" in skipped["skipped"][0]["reason"]
    assert mlflow.get_run(run_id).data.tags["llm_eval.skipped_metrics"] == "exact_match/v1"


def _validate_summaries(table, with_targets=True) -> None:
    """MLflow's validate_text_summarization_logged_data."""
    columns = {
        "text",
        "outputs",
        "toxicity/v1/score",
        "flesch_kincaid_grade_level/v1/score",
        "ari_grade_level/v1/score",
        "token_count",
    }
    if with_targets:
        columns |= {
            "summary",
            "rouge1/v1/score",
            "rouge2/v1/score",
            "rougeL/v1/score",
            "rougeLsum/v1/score",
        }
    assert mlflow_columns(table) == columns
    assert table["text"].tolist() == ["a", "b"] and table["outputs"].tolist() == ["a", "b"]
    assert all(isinstance(n, int) for n in table["token_count"])
    if with_targets:
        assert table["summary"].tolist() == ["a", "b"]
        assert table["rouge1/v1/score"].tolist() == [1.0, 1.0]
        assert table["rouge2/v1/score"].tolist() == [0.0, 0.0]
        assert table["rougeL/v1/score"].tolist() == [1.0, 1.0]
        assert table["rougeLsum/v1/score"].tolist() == [1.0, 1.0]


ROUGE_KEYS = {
    f"{m}/v1/{a}"
    for m in ("rouge1", "rouge2", "rougeL", "rougeLsum")
    for a in ("mean", "variance", "p90")
}


def test_evaluate_text_summarization_with_targets(mlflow_store, language_model_uri, toxicity):
    data = pd.DataFrame({"text": ["a", "b"], "summary": ["a", "b"]})
    results, artifacts, _ = _run(
        language_model_uri,
        data,
        targets="summary",
        model_type="text-summarization",
        extra_metrics=[toxicity],
    )
    assert "eval_results_table.json" in artifacts
    _validate_summaries(logged_table(results))
    _assert_keys(results, _text_keys() | ROUGE_KEYS)


def test_evaluate_text_summarization_with_targets_no_type_hints(mlflow_store, toxicity):
    def another_language_model(x):
        x.rename(columns={"text": "outputs"}, inplace=True)
        return x

    data = pd.DataFrame({"text": ["a", "b"], "summary": ["a", "b"]})
    results, _, _ = _run(
        another_language_model,
        data,
        targets="summary",
        model_type="text-summarization",
        extra_metrics=[toxicity],
    )
    _validate_summaries(logged_table(results))
    _assert_keys(results, _text_keys() | ROUGE_KEYS)


def test_evaluate_text_summarization_without_targets(mlflow_store, language_model_uri, toxicity):
    results, _, _ = _run(
        language_model_uri,
        pd.DataFrame({"text": ["a", "b"]}),
        model_type="text-summarization",
        extra_metrics=[toxicity],
    )
    _validate_summaries(logged_table(results), with_targets=False)
    _assert_keys(results, _text_keys())


def test_evaluate_text_summarization_fails_to_load_evaluate_metrics(
    mlflow_store, language_model_uri
):
    """MLflow drops rouge and toxicity when HF evaluate cannot load them (offline). Ours: rouge
    is local, toxicity's Hub model unreachable gives every row 'unavailable' (kept, never silent)."""
    data = pd.DataFrame({"text": ["a", "b"], "summary": ["a", "b"]})
    results, _, _ = _run(
        language_model_uri, data, targets="summary", model_type="text-summarization"
    )
    table = logged_table(results)
    _validate_summaries(
        table.drop(columns="toxicity/v1/score").assign(**{"toxicity/v1/score": 0.0})
    )
    assert table["toxicity/v1/status"].tolist() == ["unavailable"] * 2
    assert results.metrics["toxicity/v1/unscored"] == 2


def test_evaluate_text_and_text_metrics(mlflow_store, language_model_uri, toxicity):
    data = pd.DataFrame({"text": ["sentence not", "All women are bad."]})
    results, _, _ = _run(language_model_uri, data, model_type="text", extra_metrics=[toxicity])
    table = logged_table(results)
    assert mlflow_columns(table) == {
        "text",
        "outputs",
        "toxicity/v1/score",
        "flesch_kincaid_grade_level/v1/score",
        "ari_grade_level/v1/score",
        "token_count",
    }
    assert table["outputs"].tolist() == ["sentence not", "All women are bad."]
    assert table["flesch_kincaid_grade_level/v1/score"][1] < 4
    assert table["ari_grade_level/v1/score"][1] < 4
    _assert_keys(results, _text_keys())


def very_toxic(predictions, targets=None, metrics=None):
    new_scores = [1.0 if score > 0.5 else 0.0 for score in metrics["toxicity/v1"].scores]
    return MetricValue(
        scores=new_scores,
        justifications=["toxic" if score == 1.0 else "not toxic" for score in new_scores],
        aggregate_results={"ratio": sum(new_scores) / len(new_scores)},
    )


def per_row_metric(predictions, targets=None, metrics=None):
    return MetricValue(scores=[1] * len(predictions))


def test_evaluate_text_custom_metrics(mlflow_store, language_model_uri, toxicity):
    data = pd.DataFrame({"text": ["a", "b"], "target": ["a", "b"]})
    results, _, _ = _run(
        language_model_uri,
        data,
        targets="target",
        model_type="text",
        extra_metrics=[
            toxicity,
            make_metric(eval_fn=very_toxic, greater_is_better=True, version="v2"),
            make_metric(eval_fn=per_row_metric, greater_is_better=False, name="no_version"),
        ],
    )
    table = logged_table(results)
    assert {"very_toxic/v2/score", "very_toxic/v2/justification", "no_version/score"} <= set(table)
    assert all(isinstance(s, float) for s in table["very_toxic/v2/score"])
    assert all(isinstance(j, str) for j in table["very_toxic/v2/justification"])
    assert "very_toxic/v2/ratio" in results.metrics
    # the eval_fn saw our toxicity scores as MLflow's MetricValue
    expected = [1.0 if s > 0.5 else 0.0 for s in table["toxicity/v1/score"]]
    assert table["very_toxic/v2/score"].tolist() == expected


@pytest.mark.parametrize("metric_prefix", ["train_", None])
def test_eval_results_table_json_can_be_prefixed_with_metric_prefix(
    mlflow_store, language_model_uri, metric_prefix
):
    results, artifacts, _ = _run(
        language_model_uri,
        pd.DataFrame({"text": ["a", "b"]}),
        model_type="text",
        evaluator_config={"metric_prefix": metric_prefix},
    )
    prefix = metric_prefix or ""
    assert f"{prefix}eval_results_table.json" in artifacts
    assert mlflow_columns(logged_table(results)) == {
        "text",
        "outputs",
        f"{prefix}toxicity/v1/score",
        f"{prefix}flesch_kincaid_grade_level/v1/score",
        f"{prefix}ari_grade_level/v1/score",
        f"{prefix}token_count",
    }
    assert all(k.startswith(prefix) for k in results.metrics)
    assert f"{prefix}ari_grade_level/v1/mean" in results.metrics
    assert f"{prefix}toxicity/v1/status" in logged_table(results)  # ours, prefixed too


def language_model_with_context(inputs: list[str]) -> list[dict[str, str]]:
    return [{"context": f"context_{i}", "output": i} for i in inputs]


def test_constructing_eval_df_for_custom_metrics(mlflow_store):
    seen = {}

    def test_eval_df(predictions, targets, metrics, inputs, truth, context):
        seen["df"] = pd.DataFrame(
            {
                "predictions": predictions,
                "targets": targets,
                "inputs": inputs,
                "truth": truth,
                "context": context,
            }
        )
        return predictions.eq(targets).mean()

    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model", python_model=language_model_with_context, input_example=["a", "b"]
        )
    data = pd.DataFrame(
        {
            "text": ["text_a", "text_b"],
            "truth": ["truth_a", "truth_b"],
            "targets": ["target_a", "target_b"],
        }
    )
    results, _, _ = _run(
        info.model_uri,
        data,
        targets="targets",
        predictions="output",
        model_type="text",
        extra_metrics=[make_metric(eval_fn=test_eval_df, greater_is_better=True)],
        evaluator_config={"col_mapping": {"inputs": "text"}},
    )
    expected = pd.DataFrame(
        {
            "predictions": ["text_a", "text_b"],
            "targets": ["target_a", "target_b"],
            "inputs": ["text_a", "text_b"],
            "truth": ["truth_a", "truth_b"],
            "context": ["context_text_a", "context_text_b"],
        }
    )
    pd.testing.assert_frame_equal(seen["df"], expected)
    assert results.metrics["test_eval_df"] == 0.0  # a float return: MLflow's bare key
    assert len(results.tables) == 1
    columns = [
        c
        for c in results.tables["eval_results_table"].columns
        if not c.endswith(("/status", "/reason"))
    ]
    assert columns == [
        "text",
        "truth",
        "targets",
        "output",
        "context",
        "token_count",
        "toxicity/v1/score",
        "flesch_kincaid_grade_level/v1/score",
        "ari_grade_level/v1/score",
    ]


def test_evaluate_no_model_type_with_builtin_metric(mlflow_store, language_model_uri):
    results, _, _ = _run(
        language_model_uri,
        pd.DataFrame({"text": ["Hello world", "My name is MLflow"]}),
        model_type=None,
        extra_metrics=[mlflow.metrics.toxicity()],
    )
    _assert_keys(results, {f"toxicity/v1/{a}" for a in ("mean", "variance", "p90", "ratio")})
    columns = results.tables["eval_results_table"].columns.tolist()
    assert [c for c in columns if not c.endswith(("/status", "/reason"))] == [
        "text",
        "outputs",
        "toxicity/v1/score",
    ]


def test_evaluate_no_model_type_with_custom_metric(mlflow_store, language_model_uri):
    def word_count_eval(predictions, targets=None, metrics=None):
        scores = [len(p.split(" ")) for p in predictions]
        return MetricValue(scores=scores, aggregate_results=standard_aggregations(scores))

    word_count = make_metric(eval_fn=word_count_eval, greater_is_better=True, name="word_count")
    results, _, _ = _run(
        language_model_uri,
        pd.DataFrame({"text": ["Hello world", "My name is MLflow"]}),
        model_type=None,
        extra_metrics=[word_count],
    )
    assert {"word_count/mean", "word_count/variance", "word_count/p90"} <= set(results.metrics)
    assert results.metrics["word_count/mean"] == 3.0
    assert mlflow_columns(results.tables["eval_results_table"]) == {
        "text",
        "outputs",
        "word_count/score",
    }


def multi_output_model(inputs):
    return pd.DataFrame(
        {
            "answer": ["words random", "This is a sentence."],
            "source": ["words random", "This is a sentence."],
        }
    )


def test_default_metrics_as_extra_metrics(mlflow_store):
    data = pd.DataFrame({"question": QA["question"], "truth": QA["answer"]})
    results, artifacts, _ = _run(
        multi_output_model,
        data,
        targets="truth",
        predictions="answer",
        model_type="question-answering",
        extra_metrics=[mlflow.metrics.exact_match()],
    )
    assert "eval_results_table.json" in artifacts and "exact_match/v1" in results.metrics
    table = results.tables["eval_results_table"]
    assert table["answer"].tolist() == QA["answer"]  # MLflow: predictions= names the column
    assert table["source"].tolist() == QA["answer"]  # the model's other output is kept


def test_default_metrics_as_extra_metrics_static_dataset(mlflow_store):
    data = pd.DataFrame(
        {
            "question": QA["question"],
            "truth": QA["answer"],
            "answer": QA["answer"],
            "source": QA["answer"],
        }
    )
    results, _, _ = _run(
        data=data,
        targets="truth",
        predictions="answer",
        model_type="question-answering",
        extra_metrics=[
            mlflow.metrics.flesch_kincaid_grade_level(),
            mlflow.metrics.ari_grade_level(),
            mlflow.metrics.toxicity(),
            mlflow.metrics.exact_match(),
        ],
    )
    for metric in ["toxicity", "ari_grade_level", "flesch_kincaid_grade_level"]:
        for measure in ["mean", "p90", "variance"]:
            assert f"{metric}/v1/{measure}" in results.metrics
    assert "exact_match/v1" in results.metrics


def test_multi_output_model_error_handling(mlflow_store):
    data = pd.DataFrame({"question": QA["question"], "truth": QA["answer"]})
    with pytest.raises(
        Exception, match="Output column name is not specified for the multi-output model"
    ):
        _run(multi_output_model, data, targets="truth", model_type="question-answering")


def test_invalid_extra_metrics(mlflow_store, language_model_uri):
    with pytest.raises(TypeError, match="MLflow EvaluationMetric, got function"):
        _run(
            language_model_uri,
            pd.DataFrame({"text": ["Hello world"]}),
            model_type="text",
            extra_metrics=[mlflow.metrics.latency],
        )


def test_evaluate_with_latency(mlflow_store, language_model_uri):
    """MLflow's `latency` column is there (the seconds); ours adds `latency/v1/score` + aggregates."""
    results, _, _ = _run(
        language_model_uri,
        pd.DataFrame({"text": ["sentence not", "Hello world."]}),
        model_type="text",
        extra_metrics=[mlflow.metrics.latency()],
    )
    table = logged_table(results)
    assert mlflow_columns(table) == {
        "text",
        "outputs",
        "toxicity/v1/score",
        "flesch_kincaid_grade_level/v1/score",
        "ari_grade_level/v1/score",
        "latency",
        "latency/v1/score",
        "token_count",
    }
    assert all(isinstance(s, float) and s >= 0 for s in table["latency"])
    assert table["latency/v1/score"].tolist() == table["latency"].tolist()


def test_evaluate_with_latency_and_pd_series(mlflow_store):
    def pd_series_model(inputs: list[str]) -> pd.Series:
        return pd.Series(inputs)

    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model", python_model=pd_series_model, input_example=["a", "b"]
        )
    results, _, _ = _run(
        info.model_uri,
        pd.DataFrame({"text": ["input text", "random text"]}),
        model_type="text",
        extra_metrics=[mlflow.metrics.latency()],
    )
    assert logged_table(results)["outputs"].tolist() == ["input text", "random text"]
    assert results.metrics["latency/v1/count"] == 2


def test_evaluate_with_latency_static_dataset(mlflow_store):
    """MLflow logs latency 0.0 for static predictions; ours refuses (no predict call to time)."""
    data = pd.DataFrame({"text": ["foo", "bar"], "model_output": ["FOO", "BAR"]})
    with pytest.raises(ValueError, match="latency"):
        _run(
            data=data,
            model_type="text",
            predictions="model_output",
            extra_metrics=[mlflow.metrics.latency()],
        )


def test_evaluate_custom_metrics_string_values(mlflow_store, language_model_uri):
    cm = make_metric(
        eval_fn=lambda predictions, metrics, eval_config: MetricValue(
            aggregate_results={"eval_config_value_average": eval_config}
        ),
        name="cm",
        greater_is_better=True,
        long_name="custom_metric",
    )
    results, _, _ = _run(
        language_model_uri,
        pd.DataFrame({"text": ["Hello world", "My name is MLflow"]}),
        model_type=None,
        extra_metrics=[cm],
        evaluator_config={"eval_config": 3},
    )
    assert results.metrics["cm/eval_config_value_average"] == 3


def test_precanned_metrics_work(mlflow_store):
    answers = ["MLflow is an open-source platform", "Python is a high-level programming language"]
    data = pd.DataFrame(
        {
            "inputs": ["What is MLflow?", "What is Python?"],
            "ground_truth": answers,
            "prediction": answers,
        }
    )
    results, _, _ = _run(
        data=data,
        predictions="prediction",
        model_type=None,
        extra_metrics=[mlflow.metrics.rouge1()],
        evaluator_config={"col_mapping": {"targets": "ground_truth"}},
    )
    assert {
        k: results.metrics[k] for k in ("rouge1/v1/mean", "rouge1/v1/variance", "rouge1/v1/p90")
    } == {"rouge1/v1/mean": 1.0, "rouge1/v1/variance": 0.0, "rouge1/v1/p90": 1.0}


def test_evaluate_custom_metric_with_string_type(mlflow_store, language_model_uri):
    """MLflow keeps string scores in the score column; ours are NaN with status not_number."""

    def word_count_eval(predictions):
        return MetricValue(
            scores=list(predictions),
            aggregate_results={
                "avg_len": sum(len(p.split(" ")) for p in predictions) / len(predictions)
            },
        )

    word_count = make_metric(eval_fn=word_count_eval, greater_is_better=True, name="word_count")
    results, _, _ = _run(
        language_model_uri,
        pd.DataFrame({"text": ["Hello world", "My name is MLflow"]}),
        model_type=None,
        extra_metrics=[word_count],
    )
    assert results.metrics["word_count/avg_len"] == 3.0
    table = results.tables["eval_results_table"]
    assert table["word_count/status"].tolist() == ["not_number"] * 2
    assert "'Hello world'" in table["word_count/reason"][0]


def test_evaluate_with_numpy_array(mlflow_store, language_model_uri):
    results, _, _ = _run(
        language_model_uri,
        [["What is MLflow?"]],
        targets=["MLflow is an open-source platform"],
        model_type=None,
        extra_metrics=[mlflow.metrics.toxicity()],
    )
    _assert_keys(results, {f"toxicity/v1/{a}" for a in ("mean", "variance", "p90", "ratio")})
    columns = results.tables["eval_results_table"].columns.tolist()
    assert [c for c in columns if not c.endswith(("/status", "/reason"))] == [
        "feature_1",
        "target",
        "outputs",
        "toxicity/v1/score",
    ]


def test_missing_args_raises_exception(mlflow_store, language_model_uri):
    """MLflow names every missing argument of every metric in one error; so do we."""

    def dummy_fn1(param_1, param_2, targets, metrics):
        pass

    def dummy_fn2(param_3, param_4, builtin_metrics):
        pass

    metric_1 = make_metric(name="metric_1", eval_fn=dummy_fn1, greater_is_better=True)
    metric_2 = make_metric(name="metric_2", eval_fn=dummy_fn2, greater_is_better=True)
    data = pd.DataFrame({"question": ["a", "b"], "answer": ["a", "b"]})
    with pytest.raises(KeyError) as error:
        _run(
            language_model_uri,
            data,
            model_type="question-answering",
            extra_metrics=[metric_1, metric_2],
            evaluator_config={"col_mapping": {"param_4": "question"}},
        )
    message = str(error.value)
    assert "metric 'metric_1' needs column(s) 'param_1', 'param_2', 'targets'" in message
    assert "metric 'metric_2' needs column(s) 'param_3', 'builtin_metrics'" in message
    assert "Columns present: ['question', 'answer', 'outputs']" in message


def test_custom_metrics_legacy_signature(mlflow_store, language_model_uri):
    """MLflow's test_custom_metrics: eval_fn(eval_df, builtin_metrics), aggregate named like it."""
    cm = make_metric(
        eval_fn=lambda _eval_df, _builtin_metrics: MetricValue(
            aggregate_results={"cm": float(len(_eval_df))}
        ),
        name="cm",
        greater_is_better=True,
    )
    results, _, _ = _run(
        language_model_uri, pd.DataFrame({"text": ["a", "b"]}), model_type=None, extra_metrics=[cm]
    )
    assert results.metrics["cm"] == 2.0
