"""scorer.register() against a sqlite store: what MLflow 3.17 accepts for our scorers (older
MLflow: ``Scorer.register`` came in 3.2, the custom-scorer opt-in in 3.17)."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.exceptions import MlflowException

import mlflow_llm_eval as le
from mlflow_llm_eval.genai_adapter.compat import MlflowFeatureMissing
from support.mlflow_versions import has, needs_mlflow

ROW = {"outputs": "the cat sat", "expectations": {"expected_response": "the cat sat down"}}


@needs_mlflow("Scorer.register")
def test_our_scorer_class_is_refused_by_register(genai_env) -> None:
    with pytest.raises(MlflowException, match="builtin or decorator scorer"):
        le.scorers.rougeL().register(name="rouge_class")


@needs_mlflow("Scorer.register", "MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS")
def test_registrable_needs_mlflows_custom_scorer_opt_in(genai_env, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS", raising=False)
    with pytest.raises(MlflowException, match="MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS"):
        le.scorers.registrable("rougeL").register(name="rouge_refused")


@needs_mlflow("Scorer.register")
def test_registrable_round_trips_through_the_store(genai_env, monkeypatch, judge_server) -> None:
    from mlflow.genai.scorers import get_scorer, list_scorers

    monkeypatch.setenv("MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS", "true")
    direct = le.scorers.rougeL()(**ROW).value
    le.scorers.registrable("rougeL", name="rouge_l_prod").register()
    judge = le.scorers.registrable("answer_correctness", model="openai:/gpt-4o-mini", cache=False)
    judge.register(name="correctness_prod")
    assert {"rouge_l_prod", "correctness_prod"} <= {s.name for s in list_scorers()}
    loaded = get_scorer(name="rouge_l_prod")  # rebuilt from the stored source
    assert loaded.kind.value == "decorator" and loaded.aggregations == ["mean", "variance", "p90"]
    feedback = loaded(**ROW)
    assert feedback.value == direct and feedback.metadata["llm_eval.metric"] == "rougeL/v1"
    loaded_judge = get_scorer(name="correctness_prod")
    answer = loaded_judge(
        inputs={"question": "q?"}, outputs="a", expectations={"expected_response": "r"}
    )
    assert answer.source.source_type == "LLM_JUDGE" and 1 <= answer.value <= 5
    result = mlflow.genai.evaluate(data=[{"inputs": {"q": "x"}, **ROW}], scorers=[loaded])
    assert result.metrics["rouge_l_prod/mean"] == pytest.approx(direct)


@pytest.mark.parametrize(
    "options",
    [
        {"model": lambda xs: xs},
        {"extra_headers": {"k": "v"}},
        {"model": "openai:/m", "api_base": "sk-abcdef123"},
    ],
)
def test_registrable_refuses_options_it_cannot_or_must_not_store(options) -> None:
    with pytest.raises(ValueError):
        le.scorers.registrable("semantic_robustness_wer", **options)


@pytest.mark.skipif(has("Scorer.register"), reason=f"MLflow {mlflow.__version__} has it")
def test_registrable_names_the_mlflow_version_it_needs() -> None:
    with pytest.raises(MlflowFeatureMissing, match=r"Scorer\.register needs MLflow >= 3\.2\.0"):
        le.scorers.registrable("rougeL")
