"""MLflow 3 sessions: a conversation judge is a session-level scorer over a session's traces."""

from __future__ import annotations

import json

import mlflow
import pytest

import mlflow_llm_eval as le
from support.mlflow_versions import needs_mlflow


@pytest.fixture()
def sync_traces(mlflow_store, monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")


def _turn(question: str, answer: str, session: str):
    @mlflow.trace(name="chat")
    def chat(message: str) -> str:
        mlflow.update_current_trace(metadata={"mlflow.trace.session": session})
        return answer

    chat(question)
    return mlflow.get_trace(mlflow.get_last_active_trace_id())


@needs_mlflow("resolve_conversation_from_session(include_tool_calls=)")
def test_pinned_mlflow_session_reader(sync_traces) -> None:
    from mlflow.genai.utils.trace_utils import resolve_conversation_from_session

    traces = [_turn("Hi, I am Ana.", "Hello Ana!", "s0"), _turn("My name?", "Ana.", "s0")]
    conversation = resolve_conversation_from_session(traces, include_tool_calls=True)
    assert [m["role"] for m in conversation] == ["user", "assistant", "user", "assistant"]
    assert "Ana" in conversation[0]["content"] and conversation[3]["content"] == "Ana."


@needs_mlflow(
    "mlflow.genai.evaluate without Databricks",
    "resolve_conversation_from_session(include_tool_calls=)",
)
def test_session_scorer_in_genai_evaluate(sync_traces, judge_env) -> None:
    prompts = []

    def judge(prompt: str) -> str:
        prompts.append(prompt)
        return json.dumps({"score": 5 if "Ana." in prompt else 2, "justification": "scripted"})

    judge_env.responder = judge
    traces = [
        _turn("Hi, I am Ana.", "Hello Ana!", "s1"),
        _turn("My name?", "Ana.", "s1"),
        _turn("Hi, I am Bo.", "Hello!", "s2"),
        _turn("My name?", "No idea.", "s2"),
    ]
    scorer = le.scorers.knowledge_retention(model="openai:/gpt-4o-mini")
    assert scorer.is_session_level_scorer
    result = mlflow.genai.evaluate(data=[{"trace": t} for t in traces], scorers=[scorer])
    assert result.metrics["knowledge_retention/mean"] == pytest.approx(3.5)  # sessions: 5 and 2
    assert len(prompts) == 2  # one request per session, not per trace
    assert any("[1] user:" in p and "[4] assistant: Ana." in p for p in prompts)


def test_session_scorer_called_directly(judge_env) -> None:
    judge_env.responder = lambda p: json.dumps({"score": 1, "justification": "calm"})
    scorer = le.scorers.user_frustration(model="openai:/gpt-4o-mini")
    feedback = scorer(conversation=[{"role": "user", "content": "thanks!"}])
    assert feedback.value == 1.0
    assert scorer(session=None).error.error_code == "MISSING"
