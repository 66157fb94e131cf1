"""An endpoint model under evaluation: prompt template, parameters, retries, and hard failures."""

from __future__ import annotations

import pandas as pd
import pytest
from support.fake_openai import FakeOpenAI, Faults

from mlflow_llm_eval.judge.endpoint_model import EndpointModel

ROWS = pd.DataFrame({"question": [f"q{i}" for i in range(20)], "topic": ["t"] * 20})


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch):
    def point(server: FakeOpenAI, key: str = "sk-local-0123456789") -> None:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        monkeypatch.setenv("OPENAI_API_KEY", key)

    return point


def test_rows_are_rendered_sent_and_answered_in_order(env) -> None:
    with FakeOpenAI(responder=lambda prompt: prompt.upper()) as server:
        env(server)
        model = EndpointModel.from_uri(
            "openai:/small",
            "[{topic}] {question}",
            {"temperature": 0, "max_tokens": 8},
            concurrency=4,
        )
        answers = model(ROWS)
        bodies = [r.body for r in server.requests]
    assert answers == [f"[T] Q{i}" for i in range(20)]
    assert {b["model"] for b in bodies} == {"small"}
    assert {(b["temperature"], b["max_tokens"]) for b in bodies} == {(0, 8)}
    assert all("response_format" not in b for b in bodies)  # free text, not the judges' JSON mode
    assert server.stats()["peak_concurrency"] <= 4


def test_rate_limits_are_retried_until_every_row_is_answered(env) -> None:
    faults = Faults(rate_limit=0.2, retry_after=0.01)
    with FakeOpenAI(responder=lambda prompt: "ok", faults=faults) as server:
        env(server)
        answers = EndpointModel.from_uri("openai:/small", "{question}", max_attempts=20)(ROWS)
        statuses = server.stats()["statuses"]
    assert answers == ["ok"] * 20
    assert statuses.get(429, 0) > 0 and statuses[200] == 20


def test_a_bad_key_fails_the_model_without_showing_the_key(env) -> None:
    wrong = "sk-wrong-key-abcdef0123456789"
    with FakeOpenAI(responder=lambda prompt: "ok", api_key="sk-right") as server:
        env(server, wrong)
        with pytest.raises(RuntimeError) as info:
            EndpointModel.from_uri("openai:/small", "{question}", concurrency=1)(ROWS)
        sent = server.stats()["requests"]
    assert "401" in str(info.value) and wrong not in str(info.value)
    assert sent <= 5  # stops after the same client error repeats, does not send all 20 rows


def test_a_missing_key_is_reported_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        EndpointModel.from_uri("openai:/small", "{question}")


def test_an_mlflow_deployments_endpoint_works_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAI(responder=lambda prompt: f"answer to {prompt}") as server:
        monkeypatch.setenv("MLFLOW_DEPLOYMENTS_TARGET", server.url)
        answers = EndpointModel.from_uri("endpoints:/chat", "Q: {question}")(ROWS.head(3))
        paths = {r.path for r in server.requests}
    assert answers == ["answer to Q: q0", "answer to Q: q1", "answer to Q: q2"]
    assert paths == {"/endpoints/chat/invocations"}


def test_request_keys_of_a_config_model_reach_its_engine(
    env, sqlite_tracking_uri, monkeypatch, tmp_path
) -> None:
    import mlflow

    from mlflow_llm_eval.runner.multi import evaluate_models

    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_tracking_uri)
    mlflow.set_tracking_uri(sqlite_tracking_uri)
    with FakeOpenAI(faults=Faults(server_error=1.0)) as server:
        env(server)
        config = {
            "experiment": f"keys-{tmp_path.name}",
            "dataset": {"inputs": "question"},
            "models": [
                {
                    "name": "m",
                    "endpoint": "openai:/small",
                    "max_attempts": 1,
                    "rpm": 6000,
                    "timeout": 5,
                }
            ],
            "metrics": ["exact_match"],
        }
        result = evaluate_models(config, data=ROWS.head(4), base_dir=tmp_path)
        sent = server.stats()["requests"]
    assert sent == 4  # max_attempts: 1 -> one request per row (the default would retry)
    assert "500" in (result.outcomes[0].failure or "")
