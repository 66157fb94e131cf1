"""MLflow 3 scorers: field mapping, judges and models batched across MLflow's threads, 429s."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import mlflow
import pytest

import mlflow_llm_eval as le
from mlflow_llm_eval.genai_adapter.fields import resolve_row
from support.fake_openai import Faults
from support.mlflow_versions import needs_mlflow

LONG = 120.0


def test_import_mlflow_llm_eval_does_not_import_mlflow_until_scorers_is_used() -> None:
    code = (
        "import sys, mlflow_llm_eval as le; a = 'mlflow' in sys.modules; le.scorers.rougeL(); "
        "print(a, 'mlflow.genai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_unknown_scorer_names_the_known_ones() -> None:
    with pytest.raises(AttributeError, match="rougeL"):
        le.scorers.rouge_l


@pytest.mark.parametrize(
    ("kwargs", "column", "expected"),
    [
        ({"inputs": "plain question"}, "inputs", "plain question"),
        ({"inputs": {"query": "q", "k": 3}}, "inputs", "q"),
        ({"inputs": {"anything": "only string"}}, "inputs", "only string"),
        ({"inputs": {"messages": [{"role": "user", "content": "hi"}]}}, "inputs", "hi"),
        (
            {"outputs": {"choices": [{"message": {"role": "assistant", "content": "chat"}}]}},
            "predictions",
            "chat",
        ),
        ({"outputs": ["wrapped"]}, "predictions", "wrapped"),
        ({"outputs": {"score": 3}}, "predictions", {"score": 3}),  # not text: the metric says so
        ({"expectations": {"expected_response": "ref"}}, "targets", "ref"),
        ({"expectations": {"expected_facts": ["a", "b"]}}, "targets", "- a\n- b"),
        ({"expectations": {"context": ["p1", {"content": "p2"}]}}, "context", "p1\n\np2"),
        ({"inputs": {"question": "q", "context": "ctx"}}, "context", "ctx"),
        ({"expectations": {"source": "doc"}}, "source", "doc"),
        ({}, "targets", None),
    ],
)
def test_field_mapping(kwargs, column, expected) -> None:
    row = dict(inputs=None, outputs=None, expectations=None, trace=None)
    row.update(kwargs)
    assert resolve_row((column,), **row)[column] == expected


def test_field_map_overrides_and_is_validated() -> None:
    row = resolve_row(
        ("targets",),
        inputs={"gold": "g"},
        outputs="o",
        expectations={},
        trace=None,
        field_map={"targets": "inputs.gold"},
    )
    assert row == {"targets": "g"}
    with pytest.raises(ValueError, match="field_map"):
        le.scorers.rougeL(field_map={"targets": "gold"})


def test_unscorable_rows_are_error_feedbacks_with_status_and_reason() -> None:
    scorer = le.scorers.rougeL()
    for outputs, status in [(None, "missing"), ("", "empty"), (42, "not_text")]:
        feedback = scorer(outputs=outputs, expectations={"expected_response": "x"})
        assert feedback.value is None and feedback.error.error_code == status.upper()
        assert feedback.metadata["llm_eval.status"] == status
        assert feedback.metadata["llm_eval.reason"] == feedback.error.error_message


@pytest.fixture()
def judge_env(judge_server, monkeypatch, tmp_path):
    judge_server.reset(Faults())
    monkeypatch.setenv("OPENAI_API_KEY", "sk-genai-test-secret")
    monkeypatch.setenv("OPENAI_BASE_URL", judge_server.base_url)
    monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "cache"))
    return judge_server


def _concurrent_calls(scorer, rows: list[dict]) -> list:
    barrier = threading.Barrier(len(rows))

    def call(row):
        barrier.wait()
        return scorer(**row)

    with ThreadPoolExecutor(len(rows)) as pool:
        return list(pool.map(call, rows))


def _qa_rows(n: int) -> list[dict]:
    return [
        {
            "inputs": {"question": f"question {i}?"},
            "outputs": f"answer {i}",
            "expectations": {"expected_response": f"reference {i}"},
        }
        for i in range(n)
    ]


def test_judge_calls_from_many_threads_share_one_engine_batch_and_the_cache(judge_env) -> None:
    scorer = le.scorers.answer_correctness(
        model="openai:/gpt-4o-mini", batch_size=12, batch_window=LONG
    )
    feedbacks = _concurrent_calls(scorer, _qa_rows(12))
    assert scorer.batch_stats.sizes == [12]  # one score_batch, one engine
    assert judge_env.stats()["requests"] == 12
    assert scorer.accounting["judge_requests"] == 12
    for f in feedbacks:
        assert f.source.source_type == "LLM_JUDGE" and f.source.source_id == "openai:/gpt-4o-mini"
        assert 1 <= f.value <= 5 and f.rationale.startswith("scripted score")
    again = _concurrent_calls(scorer, _qa_rows(12))  # identical re-run: the cache
    assert judge_env.stats()["requests"] == 12
    assert [f.value for f in again] == [f.value for f in feedbacks]
    assert scorer.accounting["judge_cache_hits"] == 12


def test_toxicity_calls_from_many_threads_are_one_forward_batch(tiny_classifier_dir) -> None:
    texts = [f"text number {i} is {'bad' if i % 2 else 'good'}" for i in range(8)]
    scorer = le.scorers.toxicity(
        model=str(tiny_classifier_dir), device="cpu", batch_size=8, batch_window=LONG
    )
    feedbacks = _concurrent_calls(scorer, [{"outputs": t} for t in texts])
    assert scorer.batch_stats.sizes == [8]
    reference = scorer.metric.score_batch({"predictions": texts}).scores
    assert [f.value for f in feedbacks] == pytest.approx(reference, abs=1e-6)


@needs_mlflow("is_rate_limit_error (harness retries HTTP 429)")
def test_final_429_escapes_and_mlflow_retries_the_row(judge_env, genai_env, monkeypatch) -> None:
    """MLflow's harness retries a scorer call that raises a rate-limit error
    (MLFLOW_GENAI_EVAL_MAX_RETRIES, backoff 1 s, 2 s, ...): with every request refused, each
    row is sent once by our engine (max_attempts=1) and once more by MLflow's retry."""
    judge_env.reset(Faults(rate_limit=1.0, retry_after=1.0))
    monkeypatch.setenv("MLFLOW_GENAI_EVAL_MAX_RETRIES", "1")
    scorer = le.scorers.answer_correctness(
        model="openai:/gpt-4o-mini", cache=False, max_attempts=1, max_wait=0.5, batch_window=0
    )
    result = mlflow.genai.evaluate(data=_qa_rows(3), scorers=[scorer])
    assert judge_env.stats()["requests"] == 6
    errors = [
        a
        for _, row in result.result_df.iterrows()
        for a in row["assessments"]
        if a["assessment_name"] == "answer_correctness"
    ]
    assert len(errors) == 3
    for a in errors:
        assert a["feedback"]["error"]["error_code"] == "SCORER_ERROR"
        assert "rate_limited (HTTP 429)" in a["feedback"]["error"]["error_message"]


def test_on_rate_limit_feedback_keeps_our_status(judge_env) -> None:
    judge_env.reset(Faults(rate_limit=1.0, retry_after=1.0))
    scorer = le.scorers.answer_correctness(
        model="openai:/gpt-4o-mini",
        cache=False,
        max_attempts=1,
        max_wait=0.5,
        on_rate_limit="feedback",
        batch_window=0,
    )
    feedback = scorer(**_qa_rows(1)[0])
    assert feedback.error.error_code == "RATE_LIMITED"
    assert feedback.metadata["llm_eval.status"] == "rate_limited"
    with pytest.raises(le.scorers.RateLimitError):
        le.scorers.answer_correctness(
            model="openai:/gpt-4o-mini", cache=False, max_attempts=1, max_wait=0.5, batch_window=0
        )(**_qa_rows(1)[0])


def test_context_comes_from_the_traces_retriever_span(genai_env, judge_env) -> None:
    """With predict_fn, MLflow's RAG scorers read context from RETRIEVER spans: so do we."""

    def rag_app(question: str) -> str:
        with mlflow.start_span(name="retrieve", span_type="RETRIEVER") as span:
            span.set_outputs(
                [
                    {
                        "page_content": "Paris is the capital of France.",
                        "metadata": {"doc_uri": "wiki"},
                    }
                ]
            )
        return "Paris"

    scorer = le.scorers.faithfulness(model="openai:/gpt-4o-mini", cache=False)
    result = mlflow.genai.evaluate(
        data=[{"inputs": {"question": "Capital of France?"}}],
        predict_fn=rag_app,
        scorers=[scorer, le.scorers.latency()],
    )
    prompts = [r.prompt for r in judge_env.requests]
    assert len(prompts) == 1 and "Paris is the capital of France." in prompts[0]
    row = result.result_df.iloc[0]
    latency = [a for a in row["assessments"] if a["assessment_name"] == "latency"][0]
    assert latency["feedback"]["value"] == row["execution_duration"] / 1000.0
