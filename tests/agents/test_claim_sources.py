"""MLflow 3: claim_faithfulness attributes each supported claim to the RETRIEVER span(s) whose
passages support it (the judge cites passage numbers; passages carry their span ids), through
``mlflow.genai.evaluate`` on a real trace with two RETRIEVER spans and the scripted fake judge."""

from __future__ import annotations

import json

import mlflow
import pytest
from agents.test_claim_judges import _blocks, _items
from mlflow.entities import Document, SpanType
from support.mlflow_versions import needs_mlflow

import mlflow_llm_eval as le
from mlflow_llm_eval.judge.claim_judges import claim_faithfulness

ANSWER = "Paris is the capital of France. It has ten million cats. The Eiffel Tower is in Paris."


def citing_judge(prompt: str) -> str:
    """A claim is supported by the passages that contain its text; it cites their numbers."""
    blocks = _blocks(prompt)
    passages = [p.lower() for p in _items(blocks["context"])]
    verdicts = []
    for i, claim in enumerate(_items(blocks["claims"]), 1):
        cited = [n for n, p in enumerate(passages, 1) if claim.rstrip(".").lower() in p]
        verdict = "yes" if cited else "no"
        verdicts.append({"item": i, "verdict": verdict, "passages": cited, "reason": "scripted"})
    return json.dumps({"verdicts": verdicts})


@pytest.fixture()
def rag_trace(mlflow_store, monkeypatch):
    """A trace whose two RETRIEVER spans each retrieved one passage; their span ids."""
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    ids = {}

    @mlflow.trace(name="rag")
    def rag(question: str) -> str:
        for name, text, uri in (
            ("capital_search", "Paris is the capital of France.", "doc-capital"),
            ("landmark_search", "The Eiffel Tower is in Paris. It opened in 1889.", "doc-eiffel"),
        ):
            with mlflow.start_span(name=name, span_type=SpanType.RETRIEVER) as span:
                span.set_inputs({"query": question})
                span.set_outputs([Document(page_content=text, metadata={"doc_uri": uri})])
                ids[name] = span.span_id
        return ANSWER

    rag("Tell me about Paris")
    return mlflow.get_trace(mlflow.get_last_active_trace_id()), ids


def _sources(feedback) -> dict[str, list[str]]:
    found = json.loads(feedback.metadata["llm_eval.claim_sources"])
    return {claim: entry["span_ids"] for claim, entry in found.items()}


def test_each_claim_names_the_span_that_supports_it(judge_env, rag_trace) -> None:
    judge_env.responder = citing_judge
    trace, ids = rag_trace
    scorer = le.scorers.claim_faithfulness(model="openai:/gpt-4o-mini", cache=False)
    feedback = scorer(outputs=ANSWER, trace=trace)  # as MLflow's harness calls it
    assert feedback.value == pytest.approx(2 / 3)
    assert _sources(feedback) == {
        "1": [ids["capital_search"]],
        "2": [],  # unsupported: no span
        "3": [ids["landmark_search"]],
    }
    last = feedback.rationale.splitlines()[-1]
    assert last == (
        f"Claim sources: [1] passage 1 (span {ids['capital_search']}); [2] none; "
        f"[3] passage 2 (span {ids['landmark_search']})"
    )
    assert "ten million cats" in feedback.rationale  # the unsupported claim is named
    schema = judge_env.requests[0].body["response_format"]["json_schema"]["schema"]
    assert "passages" in schema["properties"]["verdicts"]["items"]["required"]


@needs_mlflow("mlflow.genai.evaluate without Databricks")
def test_through_genai_evaluate(judge_env, rag_trace) -> None:
    judge_env.responder = citing_judge
    trace, ids = rag_trace
    result = mlflow.genai.evaluate(
        data=[{"trace": trace}],
        scorers=[le.scorers.claim_faithfulness(model="openai:/gpt-4o-mini", cache=False)],
    )
    assert result.metrics["claim_faithfulness/mean"] == pytest.approx(2 / 3)
    logged = mlflow.get_trace(result.result_df["trace_id"][0])
    (feedback,) = [a for a in logged.info.assessments if a.name == "claim_faithfulness"]
    assert _sources(feedback) == {
        "1": [ids["capital_search"]],
        "2": [],
        "3": [ids["landmark_search"]],
    }
    assert f"(span {ids['landmark_search']})" in feedback.rationale


def test_the_classic_door_names_passage_numbers(judge_env) -> None:
    """Without a trace the passages have no span: the justification cites their numbers, and
    the score is the same formula of the same verdicts."""
    judge_env.responder = citing_judge
    judge = claim_faithfulness(model="openai:/gpt-4o-mini", cache=False, progress=False)
    context = ["Paris is the capital of France.", "The Eiffel Tower is in Paris."]
    result = judge.score_batch({"predictions": [ANSWER], "context": [context]})
    assert result.scores == [pytest.approx(2 / 3)]
    assert result.justifications[0].splitlines()[-1] == (
        "Claim sources: [1] passage 1; [2] none; [3] passage 2"
    )


def test_a_citation_outside_the_passages_is_repaired(judge_env) -> None:
    """A verdict citing passage 7 of 2 is an unusable answer: one repair request, then used."""
    answers = iter(
        [
            json.dumps({"verdicts": [{"item": 1, "verdict": "yes", "passages": [7]}]}),
            json.dumps({"verdicts": [{"item": 1, "verdict": "yes", "passages": [2]}]}),
        ]
    )
    judge_env.responder = lambda prompt: next(answers)
    judge = claim_faithfulness(model="openai:/gpt-4o-mini", cache=False, progress=False)
    result = judge.score_batch({"predictions": ["Paris is big."], "context": [["a", "b"]]})
    assert result.scores == [1.0] and len(judge_env.requests) == 2
    assert "passage numbers 1 to 2, got [7]" in str(judge_env.requests[1].body["messages"][-1])
    assert result.justifications[0].endswith("[1] passage 2")
