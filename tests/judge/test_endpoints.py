"""Endpoints: clear errors before any row is sent; openai, OpenAI-compatible, Azure, endpoints:/."""

from __future__ import annotations

import os

import pytest
from support.fake_openai import FakeOpenAI

from mlflow_llm_eval.judge import answer_relevance, answer_similarity

ROWS = {"predictions": ["It tracks experiments."], "inputs": ["What does MLflow do?"]}


def _relevance(**options):
    return answer_relevance(cache=False, progress=False, **options)


def test_missing_key_fails_at_construction(judge_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        _relevance(model="openai:/gpt-4o-mini")
    assert judge_env.requests == []


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("anthropic:/claude", "unknown scheme 'anthropic'"),
        ("gpt-4", "must look like '<scheme>:/<model>'"),
        ("openai:/", "must look like"),
    ],
)
def test_bad_model_uri(judge_env: FakeOpenAI, model: str, message: str):
    with pytest.raises(ValueError, match=message):
        _relevance(model=model)


def test_model_from_env_or_a_clear_error(judge_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(ValueError, match="MLFLOW_LLM_EVAL_JUDGE_MODEL"):
        _relevance()
    monkeypatch.setenv("MLFLOW_LLM_EVAL_JUDGE_MODEL", "openai:/from-env")
    metric = _relevance()
    assert metric.model == "openai:/from-env"
    assert metric.score_batch(ROWS).statuses == ["ok"]
    assert judge_env.requests[0].body["model"] == "from-env"


def test_mlflow_openai_api_base_and_proxy_url(
    judge_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("OPENAI_API_BASE", judge_env.base_url)  # MLflow's variable
    assert _relevance(model="openai:/m").score_batch(ROWS).statuses == ["ok"]
    monkeypatch.setenv("OPENAI_API_BASE", "http://127.0.0.1:9/v1")  # nothing listens there
    metric = _relevance(model="openai:/m", proxy_url=judge_env.base_url + "/chat/completions")
    assert metric.score_batch(ROWS).statuses == ["ok"]
    assert len(judge_env.requests) == 2
    assert all(
        r.headers["authorization"] == f"Bearer {os.environ['OPENAI_API_KEY']}"
        for r in judge_env.requests
    )


def test_unreachable_server_is_a_row_status(judge_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    result = _relevance(model="openai:/m", max_attempts=2).score_batch(ROWS)
    assert result.statuses == ["server_error"] and "connection error" in result.reasons[0]


def test_extra_headers_are_sent_but_never_exposed(judge_env: FakeOpenAI):
    metric = _relevance(
        model="openai:/m", extra_headers={"X-Team": "eval", "X-Token": "hdr-secret"}
    )
    metric.score_batch(ROWS)
    headers = judge_env.requests[0].headers
    assert headers["x-team"] == "eval" and headers["x-token"] == "hdr-secret"
    exposed = repr(metric.metadata()) + repr(metric) + repr(metric.client) + repr(vars(metric))
    assert "hdr-secret" not in exposed and os.environ["OPENAI_API_KEY"] not in exposed
    assert metric.metadata()["extra_header_names"] == ["X-Team", "X-Token"]


def test_azure_openai(judge_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(ValueError, match="AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT"):
        _relevance(model="azure:/my-deployment")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", judge_env.url)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-06-01")
    result = _relevance(model="azure:/my-deployment").score_batch(ROWS)
    assert result.statuses == ["ok"]
    (request,) = judge_env.requests
    assert (
        request.path == "/openai/deployments/my-deployment/chat/completions?api-version=2024-06-01"
    )
    assert request.headers["api-key"] == "azure-key"


def test_mlflow_deployments_endpoint(judge_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MLFLOW_DEPLOYMENTS_TARGET", raising=False)
    with pytest.raises(ValueError, match="MLFLOW_DEPLOYMENTS_TARGET"):
        _relevance(model="endpoints:/judge-chat")
    monkeypatch.setenv("MLFLOW_DEPLOYMENTS_TARGET", judge_env.url)
    metric = answer_similarity(model="endpoints:/judge-chat", cache=False, progress=False)
    result = metric.score_batch({**ROWS, "targets": ["MLflow tracks experiments."]})
    assert result.statuses == ["ok"] and result.scores[0] in {1.0, 2.0, 3.0, 4.0, 5.0}
    (request,) = judge_env.requests
    assert request.path == "/endpoints/judge-chat/invocations"
    assert request.body["messages"] == metric.render(
        ROWS["predictions"][0], ROWS["inputs"][0], {"targets": "MLflow tracks experiments."}
    )
    assert "response_format" not in request.body and request.body["temperature"] == 0.0
    assert result.extra_aggregates["prompt_tokens"] > 0


def test_environment_proxy_and_no_proxy_are_honoured(
    judge_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
):
    """HTTP_PROXY / NO_PROXY as aiohttp's trust_env reads them, looked up once per URL (not in a
    thread per request) and again when the environment changes."""
    for name in ("http_proxy", "https_proxy", "no_proxy", "NO_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://judge.invalid/v1")  # resolvable only by a proxy
    monkeypatch.setenv("HTTP_PROXY", judge_env.url)  # the fake server answers proxied requests
    result = _relevance(model="openai:/m").score_batch(ROWS)
    assert result.statuses == ["ok"]
    (request,) = judge_env.requests
    assert request.path == "http://judge.invalid/v1/chat/completions"  # absolute form: proxied
    monkeypatch.setenv("NO_PROXY", "judge.invalid")
    result = _relevance(model="openai:/m", max_attempts=1).score_batch(ROWS)
    assert result.statuses == ["server_error"] and "judge.invalid" in result.reasons[0]
    assert len(judge_env.requests) == 1  # sent directly (and failed): not through the proxy


def test_netrc_credentials_when_no_authorization_header(
    judge_env: FakeOpenAI, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    """~/.netrc (or $NETRC) gives Basic auth to a request without its own Authorization header
    (Azure sends ``api-key``), as aiohttp's trust_env does; never over an Authorization header."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login gateway-user password gateway-pass\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", judge_env.url)
    assert _relevance(model="azure:/dep").score_batch(ROWS).statuses == ["ok"]
    assert _relevance(model="openai:/m").score_batch(ROWS).statuses == ["ok"]
    azure, openai_request = judge_env.requests
    import base64

    assert (
        azure.headers["authorization"]
        == "Basic " + base64.b64encode(b"gateway-user:gateway-pass").decode()
    )
    assert openai_request.headers["authorization"] == f"Bearer {os.environ['OPENAI_API_KEY']}"
