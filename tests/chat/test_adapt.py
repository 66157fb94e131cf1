"""Reasoning models: the fake server refuses ``max_tokens`` and a non-default ``temperature``
with OpenAI's 400 bodies; the engine adapts once per endpoint (one log line per parameter) and
every row is scored."""

from __future__ import annotations

import logging
from collections import Counter

import pytest
from support.fake_openai import FakeOpenAI, reasoning_refusal

from mlflow_llm_eval.chat import ChatEngine, make_client
from mlflow_llm_eval.chat.endpoint import _states, forget
from mlflow_llm_eval.judge import answer_similarity


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch):
    forget()
    with FakeOpenAI(reasoning=True) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-reasoning")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        yield fake
    forget()


def test_the_fake_server_refuses_as_openai_does():
    assert reasoning_refusal({"max_tokens": 5})["error"] == {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "unsupported_parameter",
    }
    error = reasoning_refusal({"temperature": 0.0})["error"]
    assert (error["param"], error["code"]) == ("temperature", "unsupported_value")
    assert reasoning_refusal({"temperature": 1, "max_completion_tokens": 5}) is None


def test_judge_defaults_are_adapted_once_and_every_row_scored(server: FakeOpenAI, caplog):
    rows = {
        "inputs": [f"What is component {i}?" for i in range(40)],
        "predictions": [f"Component {i} tracks runs." for i in range(40)],
        "targets": [f"Component {i} records runs." for i in range(40)],
    }
    metric = answer_similarity(model="openai:/o3-mini", cache=False, progress=False)
    assert metric.parameters["max_tokens"] == 200 and metric.parameters["temperature"] == 0.0
    with caplog.at_level(logging.WARNING, logger="mlflow_llm_eval.chat.engine"):
        result = metric.score_batch(rows)
    assert Counter(result.statuses) == {"ok": 40}
    lines = [r.getMessage() for r in caplog.records if "refused the parameter" in r.getMessage()]
    assert len(lines) == 2, lines  # one line per parameter, not one per row
    assert any(
        "'max_tokens'" in line and "'max_completion_tokens' instead" in line for line in lines
    )
    assert any("'temperature'" in line and "no longer sending it" in line for line in lines)
    answered = [r.body for r in server.requests if r.status == 200]
    assert len(answered) == 40
    assert all(
        b["max_completion_tokens"] == 200
        and "max_tokens" not in b
        and "temperature" not in b
        and b["top_p"] == 1.0
        for b in answered
    )
    refused = [r for r in server.requests if r.status == 400]
    assert len(refused) <= 2 * 40  # at most one refusal per parameter and row in flight
    assert result.extra_aggregates["judge_requests"] == len(server.requests)
    # the endpoint's adaptation holds for the process's next run: nothing refused any more
    server.reset()
    again = answer_similarity(model="openai:/o3-mini", cache=False, progress=False)
    assert Counter(again.score_batch(rows).statuses) == {"ok": 40}
    assert Counter(r.status for r in server.requests) == {200: 40}


def test_engine_adapts_for_an_endpoint_not_for_others(server: FakeOpenAI):
    engine = ChatEngine(make_client("openai:/gpt-5", timeout=10), progress=False)
    replies = engine.run(
        [[{"role": "user", "content": f"q{i}"}] for i in range(10)],
        {"max_tokens": 16, "temperature": 0.2},
    )
    assert [r.status for r in replies] == ["ok"] * 10
    identity = make_client("openai:/gpt-5", timeout=10).identity
    assert _states[identity].adapted == {"max_tokens": "max_completion_tokens", "temperature": None}
    assert _states.get(make_client("openai:/other", timeout=10).identity) is None


def test_other_400s_are_not_retried_whatever_their_text(server: FakeOpenAI):
    """A 400 that names no refused parameter stays a request error, even when its text holds a
    number that looks like a server error's status."""
    server.reasoning = False
    server.responder = None

    from support.local_server import Reply

    original = server.answer

    def too_long(request):
        with server._lock:
            server.requests.append(None)
        return Reply(
            400,
            {
                "error": {
                    "message": "This model's maximum context length is 8192 "
                    "tokens; your prompt has 15000 tokens (500 more "
                    "than ...)",
                    "type": "invalid_request_error",
                    "param": "messages",
                    "code": "context_length_exceeded",
                }
            },
        )

    server.answer = too_long
    try:
        engine = ChatEngine(
            make_client("openai:/m", timeout=10),
            progress=False,
            initial_concurrency=1,
            max_concurrency=1,
        )
        replies = engine.run([[{"role": "user", "content": "q"}]], {"max_tokens": 5})
    finally:
        server.answer = original
    assert replies[0].status == "request_error" and "15000 tokens" in replies[0].reason
    assert engine.stats.requests == 1 and engine.stats.retries == 0
