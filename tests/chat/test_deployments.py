"""``endpoints:/`` through ``mlflow.deployments`` against the fake server's MLflow gateway route:
the client's ``timeout`` is applied, and each failure is classified by its HTTP status (or the
exception's type), never by searching its text. One test per class."""

from __future__ import annotations

import threading

import pytest
from support.fake_openai import FakeOpenAI, Faults
from support.local_server import Reply

from mlflow_llm_eval.chat import CallError, ChatEngine
from mlflow_llm_eval.chat.endpoint import forget
from mlflow_llm_eval.chat.deployments import DeploymentsChatClient
from mlflow_llm_eval.chat.endpoints import make_client

MESSAGES = [{"role": "user", "content": "grade this"}]


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch):
    forget()
    with FakeOpenAI(responder=lambda prompt: "fine") as fake:
        monkeypatch.setenv("MLFLOW_DEPLOYMENTS_TARGET", fake.url)
        yield fake
    forget()


def _error(client: DeploymentsChatClient) -> CallError:
    with pytest.raises(CallError) as caught:
        client.complete(MESSAGES, {"temperature": 0.0})
    return caught.value


def test_an_answer(server: FakeOpenAI):
    client = make_client("endpoints:/chat", timeout=10)
    assert client.complete(MESSAGES, {"temperature": 0.0}).text == "fine"
    (request,) = server.requests
    assert request.path == "/endpoints/chat/invocations" and request.body["temperature"] == 0.0


def test_429_is_rate_limited_with_retry_after(server: FakeOpenAI):
    server.reset(Faults(rate_limit=1.0, retry_after=0.25))
    error = _error(DeploymentsChatClient("chat", timeout=10))
    assert (error.kind, error.status, error.retryable) == ("rate_limited", 429, True)
    assert error.retry_after == 0.25
    assert len(server.requests) == 1  # MLflow's own retries are off: the engine's count


def test_5xx_is_a_retryable_server_error(server: FakeOpenAI):
    server.reset(Faults(server_error=1.0))
    error = _error(DeploymentsChatClient("chat", timeout=10))
    assert (error.kind, error.status, error.retryable) == ("server_error", 500, True)
    assert len(server.requests) == 1


def test_4xx_is_not_retried_whatever_its_text(server: FakeOpenAI, monkeypatch):
    """A 400 whose message contains "500" (in "15000 tokens") is a request error, not a
    server error (the old substring search retried it)."""

    def too_long(request):
        with server._lock:
            server.requests.append(request)
        return Reply(
            400,
            {
                "error": {
                    "message": "prompt has 15000 tokens, 500 over the limit",
                    "type": "invalid_request_error",
                }
            },
        )

    monkeypatch.setattr(server, "answer", too_long)
    error = _error(DeploymentsChatClient("chat", timeout=10))
    assert (error.kind, error.status, error.retryable) == ("request_error", 400, False)
    assert "15000 tokens" in str(error)
    forget()
    engine = ChatEngine(DeploymentsChatClient("chat", timeout=10), progress=False)
    replies = engine.run([MESSAGES], {})
    assert replies[0].status == "request_error" and engine.stats.requests == 1


def test_timeout_option_is_applied(server: FakeOpenAI):
    release = threading.Event()

    def hang(prompt: str) -> str:
        release.wait(30)
        return "late"

    server.responder = hang
    try:
        error = _error(DeploymentsChatClient("chat", timeout=0.3))
    finally:
        release.set()
    assert (error.kind, error.retryable, error.unreachable) == ("timeout", True, True)
    assert "within 0.3 s" in str(error) and error.status is None


def test_connection_error_is_unreachable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLFLOW_DEPLOYMENTS_TARGET", "http://127.0.0.1:9")  # nothing listens
    error = _error(DeploymentsChatClient("chat", timeout=5))
    assert (error.kind, error.retryable, error.unreachable) == ("server_error", True, True)
    assert "connection error to endpoints:/chat at 127.0.0.1:9" in str(error), str(error)


def test_a_plugin_target_is_classified_by_the_status_it_carries():
    """Another deployments target's exception: by ``.response.status_code``, else its type."""
    import requests

    from mlflow_llm_eval.chat.deployments import _classify_deployment_error

    response = requests.Response()
    response.status_code, response._content = 400, b'{"error": {"message": "15000 tokens"}}'
    assert (
        _classify_deployment_error(requests.HTTPError(response=response), "x").kind
        == "request_error"
    )
    response.status_code = 503
    assert (
        _classify_deployment_error(requests.HTTPError(response=response), "x").kind
        == "server_error"
    )
    assert _classify_deployment_error(requests.exceptions.ReadTimeout(), "x").kind == "timeout"
    assert (
        _classify_deployment_error(RuntimeError("HTTP 500 in the text"), "x").kind
        == "request_error"
    )
