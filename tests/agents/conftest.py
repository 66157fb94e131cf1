"""Agent test fixtures: a fake OpenAI judge server per module (tests/support) and its env."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.fake_openai import FakeOpenAI, Faults
from support.local_server import Reply


#: The HTTP 400 bodies a server without each schema form sends (OpenAI's own messages).
REFUSALS = {
    "json_schema": "Invalid parameter: 'response_format' of type 'json_schema' is not "
    "supported with this model.",
    "json_object": "Invalid parameter: 'response_format' of type 'json_object' is not "
    "supported with this model.",
    "guided_json": "Unrecognized request argument supplied: guided_json",
}


@dataclass
class SchemaRefusingOpenAI(FakeOpenAI):
    """An OpenAI-compatible server that refuses some schema forms with HTTP 400 (``refuse``:
    ``"json_schema"`` as ``response_format`` type, ``"guided_json"`` as a body field).
    ``formats``: the schema form of every request, in order (``response_format``'s type,
    ``"guided_json"``, or None)."""

    refuse: tuple[str, ...] = ("json_schema",)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.formats: list[str | None] = []

    def answer(self, request):
        body = request.body or {}
        form = "guided_json" if "guided_json" in body else None
        form = (body.get("response_format") or {}).get("type", form)
        with self.lock:
            self.formats.append(form)
        if form in self.refuse:
            error = {"message": REFUSALS[form], "type": "invalid_request_error"}
            return Reply(400, {"error": {**error, "param": None, "code": None}})
        return super().answer(request)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture()
def judge_env(server: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """OpenAI env pointed at the fake server, a fresh cache dir, an empty request log."""
    from mlflow_llm_eval.chat.endpoint import forget
    from mlflow_llm_eval.judge import structured

    forget()
    structured.forget()
    server.responder = None
    server.reset(Faults())
    monkeypatch.setenv("OPENAI_API_KEY", "sk-agents-test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "judge-cache"))
    monkeypatch.delenv("MLFLOW_LLM_EVAL_JUDGE_CACHE", raising=False)
    monkeypatch.delenv("MLFLOW_LLM_EVAL_JUDGE_MODEL", raising=False)
    return server
