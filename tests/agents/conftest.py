"""Agent test fixtures: a fake OpenAI judge server per module (tests/support) and its env."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fake_openai import FakeOpenAI, Faults
from support.local_server import Reply


class SchemaRefusingOpenAI(FakeOpenAI):
    """An OpenAI-compatible server without structured outputs: a JSON schema gets HTTP 400.
    ``formats``: the ``response_format`` type of every request, in order."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.formats: list[str | None] = []

    def answer(self, request):
        response_format = (request.body or {}).get("response_format") or {}
        with self.lock:
            self.formats.append(response_format.get("type"))
        if response_format.get("type") == "json_schema":
            return Reply(
                400,
                {
                    "error": {
                        "message": "Invalid parameter: 'response_format' of "
                        "type 'json_schema' is not supported with this model.",
                        "type": "invalid_request_error",
                    }
                },
            )
        return super().answer(request)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture()
def judge_env(server: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """OpenAI env pointed at the fake server, a fresh cache dir, an empty request log."""
    from mlflow_llm_eval.chat.endpoint import forget

    forget()
    server.responder = None
    server.reset(Faults())
    monkeypatch.setenv("OPENAI_API_KEY", "sk-agents-test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "judge-cache"))
    monkeypatch.delenv("MLFLOW_LLM_EVAL_JUDGE_CACHE", raising=False)
    monkeypatch.delenv("MLFLOW_LLM_EVAL_JUDGE_MODEL", raising=False)
    return server
