"""An MLflow genai metric's proxy_url and extra_headers are honoured: data goes only where named.

MLflow posts every judge request to ``proxy_url`` exactly, with ``provider headers |
extra_headers`` (mlflow/metrics/genai/model_utils.py ``_call_llm_provider_api``), and keeps both
only in its metric's ``eval_fn`` closure: this file pins that on the installed MLflow.
Two real local servers: the one ``OPENAI_BASE_URL`` points at must get nothing.
"""

from __future__ import annotations

import types
from collections.abc import Iterator

import mlflow.metrics.genai as mlflow_genai
import pytest
from support.fake_openai import FakeOpenAI

from mlflow_llm_eval.judge import from_mlflow_genai_metric, make_genai_metric

ROWS = {"predictions": ["a", "b"], "inputs": ["q1", "q2"], "targets": ["c", "d"]}
HEADERS = {"X-Gateway-Route": "judges", "X-Gateway-Token": "gwtoken-0123456789"}


@pytest.fixture()
def proxy() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def _builtin(proxy_url: str | None, headers: dict | None = None):
    return mlflow_genai.answer_similarity(
        model="openai:/gpt-4o-mini", proxy_url=proxy_url, extra_headers=headers
    )


def _custom(proxy_url: str | None, headers: dict | None = None, model: str = "openai:/gpt-4o-mini"):
    return mlflow_genai.make_genai_metric(
        name="tone",
        definition="Politeness.",
        grading_prompt="Score 1: rude\nScore 5: polite",
        model=model,
        grading_context_columns=["targets"],
        proxy_url=proxy_url,
        extra_headers=headers,
        parameters={"temperature": 0.0},
    )


@pytest.mark.parametrize("build", [_builtin, _custom])
def test_requests_go_to_the_proxy_url_with_the_headers_and_nowhere_else(
    judge_env: FakeOpenAI, proxy: FakeOpenAI, build
):
    url = proxy.base_url + "/chat/completions"
    ours = from_mlflow_genai_metric(build(url, HEADERS), cache=False, progress=False)
    result = ours.score_batch(ROWS)
    assert result.statuses == ["ok", "ok"]
    assert len(proxy.requests) == 2 and judge_env.requests == []  # OPENAI_BASE_URL got nothing
    for request in proxy.requests:
        assert request.path == "/v1/chat/completions"
        assert request.headers["x-gateway-route"] == "judges"
        assert request.headers["x-gateway-token"] == "gwtoken-0123456789"
        assert request.headers["authorization"].startswith("Bearer ")
    assert ours.metadata()["extra_header_names"] == sorted(HEADERS)
    assert "gwtoken-0123456789" not in repr(ours.metadata())


def test_a_metric_without_proxy_uses_the_environment(judge_env: FakeOpenAI, proxy: FakeOpenAI):
    ours = from_mlflow_genai_metric(_builtin(None), cache=False, progress=False)
    assert ours.score_batch(ROWS).statuses == ["ok", "ok"]
    assert len(judge_env.requests) == 2 and proxy.requests == []


def test_azure_proxy_url_is_posted_to_exactly(
    judge_env: FakeOpenAI, proxy: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key-0123456789")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", judge_env.url)  # must not be used
    url = f"{proxy.url}/corp/openai/deployments/judge-dep/chat/completions?api-version=2024-02-01"
    ours = from_mlflow_genai_metric(
        _custom(url, {"X-Team": "t"}, model="azure:/judge-dep"), cache=False, progress=False
    )
    assert ours.score_batch(ROWS).statuses == ["ok", "ok"]
    assert judge_env.requests == [] and len(proxy.requests) == 2
    assert {r.path for r in proxy.requests} == {
        "/corp/openai/deployments/judge-dep/chat/completions?api-version=2024-02-01"
    }
    assert {(r.headers["api-key"], r.headers["x-team"]) for r in proxy.requests} == {
        ("azure-key-0123456789", "t")
    }


@pytest.mark.parametrize(
    ("model", "proxy_url", "match"),
    [
        (
            "openai:/m",
            "http://127.0.0.1:9/v1",
            "must be the full URL the chat requests are posted to",
        ),
        ("openai:/m", "ftp://host/v1/chat/completions", "must be the full URL"),
        ("azure:/dep", "http://127.0.0.1:9/openai/deployments/other/chat/completions", "full URL"),
        (
            "endpoints:/judge",
            "http://127.0.0.1:9/v1/chat/completions",
            "cannot be used with endpoints:/",
        ),
    ],
)
def test_a_proxy_url_we_would_not_post_to_exactly_is_refused(
    judge_env, monkeypatch, model, proxy_url, match
):
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "k" * 10)
    with pytest.raises(ValueError, match=match):
        make_genai_metric(
            name="tone",
            definition="d",
            grading_prompt="Score 1: x\nScore 5: y",
            model=model,
            proxy_url=proxy_url,
        )
    assert judge_env.requests == []


def test_endpoints_extra_headers_are_refused_not_dropped(judge_env):
    with pytest.raises(ValueError, match="extra_headers cannot be used with endpoints:/"):
        make_genai_metric(
            name="tone",
            definition="d",
            grading_prompt="Score 1: x\nScore 5: y",
            model="endpoints:/judge",
            extra_headers={"X-A": "b"},
        )


def test_closure_values_conflicting_or_unreadable_are_errors(judge_env, proxy: FakeOpenAI):
    theirs = _builtin(proxy.base_url + "/chat/completions", HEADERS)
    with pytest.raises(ValueError, match="proxy_url=.* differs from the MLflow metric's own"):
        from_mlflow_genai_metric(theirs, proxy_url=judge_env.base_url + "/chat/completions")
    with pytest.raises(ValueError, match=r"extra_headers=\['X-A'\] differs") as info:
        from_mlflow_genai_metric(theirs, extra_headers={"X-A": "b"})
    assert "gwtoken-0123456789" not in str(info.value)  # header values are never shown
    # a metric whose eval_fn does not close over them (another MLflow version): must be told
    opaque = types.SimpleNamespace(
        genai_metric_args=dict(theirs.genai_metric_args), eval_fn=lambda *a: None
    )
    with pytest.raises(ValueError, match="cannot read extra_headers and proxy_url"):
        from_mlflow_genai_metric(opaque)
    ours = from_mlflow_genai_metric(
        opaque, proxy_url=None, extra_headers=None, cache=False, progress=False
    )
    assert ours.score_batch(ROWS).statuses == ["ok", "ok"] and len(judge_env.requests) == 2
