"""The MLflow 3 scorers (le.scorers) give the same multilingual numbers and statuses."""

from __future__ import annotations

import pytest

import mlflow_llm_eval as le
from multilingual.corpus import CORPUS
from support.mlflow_versions import needs_mlflow


def test_rouge_scorer_on_korean_equals_the_metric() -> None:
    prediction, target = CORPUS["ko"][1]
    feedback = le.scorers.rougeL()(outputs=prediction, expectations={"expected_response": target})
    expected = le.rougeL().score_batch({"predictions": [prediction], "targets": [target]}).scores[0]
    assert feedback.value == expected and 0 < expected < 1


def test_readability_scorer_on_chinese_is_unsupported_language() -> None:
    feedback = le.scorers.flesch_kincaid_grade_level()(outputs=CORPUS["zh"][0])
    assert feedback.value is None
    assert feedback.metadata["llm_eval.status"] == "unsupported_language"
    assert "'zh'" in feedback.metadata["llm_eval.reason"]


@needs_mlflow("mlflow.genai.evaluate without Databricks")
def test_scorers_log_signatures_and_per_language_aggregates(mlflow_store, monkeypatch) -> None:
    import mlflow
    from mlflow import MlflowClient

    from mlflow_llm_eval.core.by_language import by_language, language_metrics, row_codes
    from mlflow_llm_eval.mlflow_adapter.multilingual import BY_LANGUAGE_FILE, log_scorer_languages
    from multilingual.corpus import pairs

    monkeypatch.setenv("MLFLOW_GENAI_EVAL_MAX_WORKERS", "2")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    chosen = [(p, t) for lang, p, t in pairs("overlapping") if lang in ("ko", "ja", "en")] * 2
    data = [
        {"inputs": {"n": i}, "outputs": p, "expectations": {"expected_response": t}}
        for i, (p, t) in enumerate(chosen)
    ]
    scorers = [le.scorers.rougeL(), le.scorers.chrf()]
    result = mlflow.genai.evaluate(data=data, scorers=scorers)
    logged = log_scorer_languages(result.run_id, scorers)

    rows = {"predictions": [p for p, _ in chosen], "targets": [t for _, t in chosen]}
    codes = row_codes(rows["predictions"], fallback=rows["targets"])
    assert sorted(set(codes)) == ["en", "ja", "ko"]
    expected = language_metrics(
        by_language(
            codes,
            {
                m.key: (m.score_batch(rows), m.value_kind, m.value_range)
                for m in (le.rougeL(), le.chrf())
            },
        )
    )
    assert logged.keys() == expected.keys() and "rougeL/v1/lang_ko/mean" in logged
    for key, value in expected.items():
        assert logged[key] == pytest.approx(value, rel=1e-12), key
    run = MlflowClient().get_run(result.run_id)
    assert run.data.tags["llm_eval.signature.rougeL/v1"] == le.rougeL().signature
    assert run.data.tags["llm_eval.signature.chrf/v1"] == le.chrf().signature
    assert run.data.metrics["chrf/v1/lang_ja/mean"] == pytest.approx(
        expected["chrf/v1/lang_ja/mean"]
    )
    table = mlflow.artifacts.load_dict(f"runs:/{result.run_id}/{BY_LANGUAGE_FILE}")
    assert table["languages"] == ["en", "ja", "ko"]
