"""Judge test fixtures: one fake OpenAI server per module, a fresh cache dir and env per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fake_openai import FakeOpenAI, Faults

#: A key that must never show up in params, tags, artifacts or logs.
SECRET_KEY = "sk-test-NEVER-LOG-THIS-9f3c2a7e"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture()
def fake(server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The module's server, with default behaviour and an empty log for this test (and no
    limit learned from it by an earlier test: the engine's per-endpoint state is forgotten)."""
    from mlflow_llm_eval.chat.endpoint import forget

    forget()
    server.latency, server.max_concurrency, server.responder, server.api_key = 0.0, None, None, None
    server.latency_per_request_in_flight, server.max_requests_per_second = 0.0, None
    server.rpm = server.tpm = None
    server.reset(Faults())
    yield server
    server.latency_per_request_in_flight, server.max_requests_per_second = 0.0, None
    server.latency, server.max_concurrency, server.responder, server.api_key = 0.0, None, None, None
    server.rpm = server.tpm = None
    server.reset(Faults())


@pytest.fixture()
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "judge-cache"


@pytest.fixture()
def judge_env(fake: FakeOpenAI, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """OpenAI env pointed at the fake server, cache in a temp dir, no default judge model."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(cache_dir))
    monkeypatch.delenv("MLFLOW_LLM_EVAL_JUDGE_CACHE", raising=False)
    monkeypatch.delenv("MLFLOW_LLM_EVAL_JUDGE_MODEL", raising=False)
    return fake


def qa_rows(n: int, tag: str = "") -> dict[str, list[str]]:
    """n distinct question/answer/target rows (logical column names)."""
    return {
        "predictions": [f"MLflow answer {tag}{i}: it tracks experiments" for i in range(n)],
        "inputs": [f"What does MLflow do? ({tag}{i})" for i in range(n)],
        "targets": [f"MLflow manages the ML lifecycle {tag}{i}" for i in range(n)],
    }


@pytest.fixture()
def rows():
    """``rows(n, tag="")``: n distinct question/answer/target rows."""
    return qa_rows
