"""No credential reaches a run's params, tags, artifacts, table cells, reasons, reports or logs.

A careless gateway (tests/support/echo_gateway.py, a real local server) echoes the request's
``Authorization`` and ``X-*`` headers in its 401 errors and in its answers; the judge also gets
secrets in ``parameters``, ``extra_headers`` and ``metric_metadata``. After a real
``mlflow.evaluate`` on a sqlite store, every file under the run's artifact directory, the store
itself, the params, tags, table cells and captured logs are searched for each secret.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from support.echo_gateway import EchoGateway

from mlflow_llm_eval.judge import make_genai_metric
from mlflow_llm_eval.judge.endpoint_model import EndpointModel
from mlflow_llm_eval.redaction import MARKER
from mlflow_llm_eval.report.evaluation import evaluation_report
from mlflow_llm_eval.runner import tracking

API_KEY = "sk-proj-Q7vN2mXc4LpR8tYw1ZbK6sHd3FgJ9eAo"  # the OpenAI key (environment)
HEADER_TOKEN = "gw7Tq2LmZp4XrV9nKc1BdY"  # no known shape: only known as a secret header's value
PARAM_KEY = "pk-live-3d9f0a1b7c2e4f6a8b0c"  # passed in parameters={"api_key": ...}
PASSWORD = "correct-horse-battery-staple-42"  # metric_metadata under a secret-looking name
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyMTIzNDUifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
DAPI = "dapi0123456789abcdef0123456789abcdef"  # a Databricks token under an innocent name
SECRETS = [API_KEY, HEADER_TOKEN, PARAM_KEY, PASSWORD, JWT, DAPI]


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.fixture()
def gateway(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mlflow_store):
    """The echoing gateway as the OpenAI endpoint; MLflow on the session's sqlite store, this
    test's experiment keeping its artifacts under ``tmp_path / "artifacts"``."""
    with EchoGateway() as server:
        monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "cache"))
        yield server


def _judge():
    return make_genai_metric(
        name="secretive",
        definition="How correct the answer is.",
        grading_prompt="Score 1: wrong\nScore 5: right",
        model="openai:/gpt-4o-mini",
        grading_context_columns=["targets"],
        parameters={"temperature": 0.0, "max_tokens": 50, "api_key": PARAM_KEY},
        extra_headers={"X-Gateway-Token": HEADER_TOKEN, "X-Team": "evals"},
        metric_metadata={
            "owner": "evals-team",
            "db_password": PASSWORD,
            "note": f"call with Bearer {JWT}",
            "workspace": DAPI,
        },
        cache=False,
        progress=False,
    )


def test_no_secret_reaches_the_run(
    gateway: EchoGateway, tmp_path: Path, caplog, capfd, sqlite_tracking_uri: str
):
    caplog.set_level(logging.DEBUG)
    data = pd.DataFrame(
        {
            "inputs": [f"question {i}" for i in range(6)],
            "predictions": ["fine"] * 3 + ["REJECT me"] * 3,
            "targets": [f"target {i}" for i in range(6)],
        }
    )
    with mlflow.start_run() as run:
        result = mlflow.evaluate(
            data=data,
            predictions="predictions",
            targets="targets",
            evaluators="llm_eval",
            extra_metrics=[_judge()],
        )
    # the secrets were in play: sent to the gateway and echoed back
    sent = gateway.requests[0]["headers"]
    assert sent["authorization"] == f"Bearer {API_KEY}" and sent["x-gateway-token"] == HEADER_TOKEN
    assert gateway.requests[0]["body"]["api_key"] == PARAM_KEY

    table = result.tables["eval_results_table"]
    assert list(table["secretive/v1/status"]) == ["ok"] * 3 + ["request_error"] * 3
    reasons = [r for r in table["secretive/v1/reason"] if isinstance(r, str) and "401" in r]
    assert reasons and all(f"authorization: {MARKER}" in r for r in reasons)
    assert all(MARKER in j for j in table["secretive/v1/justification"][:3])
    assert _leaks(table.to_json()) == []

    files = [p for p in (tmp_path / "artifacts").rglob("*") if p.is_file()]
    assert any(p.name == "eval_results_table.json" for p in files)
    for path in files:
        assert _leaks(path.read_text(errors="replace")) == [], path
    metadata = json.loads(next(p for p in files if p.name == "metrics.json").read_text())
    (judge,) = [m for m in metadata["metrics"] if m["name"] == "secretive"]
    assert judge["parameters"] == {"temperature": 0.0, "max_tokens": 50, "api_key": MARKER}
    assert judge["metric_metadata"] == {
        "owner": "evals-team",
        "db_password": MARKER,
        "note": f"call with Bearer {MARKER}",
        "workspace": MARKER,
    }
    assert judge["extra_header_names"] == ["X-Gateway-Token", "X-Team"]

    logged = MlflowClient().get_run(run.info.run_id).data
    assert _leaks(json.dumps([logged.params, logged.tags, list(logged.metrics)])) == []
    store = Path(sqlite_tracking_uri.removeprefix("sqlite:///"))
    assert _leaks(store.read_bytes().decode("latin-1")) == []
    out, err = capfd.readouterr()
    assert _leaks(caplog.text + out + err) == []


def test_endpoint_model_failures_are_logged_redacted(gateway: EchoGateway, caplog):
    caplog.set_level(logging.DEBUG)
    model = EndpointModel.from_uri("openai:/small", "{q}", concurrency=1, max_attempts=1)
    answers = model(pd.DataFrame({"q": ["hello", "REJECT this", "hi"]}))
    assert answers[0] is not None and answers[1] is None
    warnings = [
        r
        for r in caplog.records
        if r.name.startswith("mlflow_llm_eval") and "401" in r.getMessage()
    ]
    assert warnings and all(MARKER in r.getMessage() for r in warnings)
    assert (
        _leaks(caplog.text) == []
    )  # (answers[0] echoes the key: a prediction, redacted when logged)


def test_runner_params_tags_tables_and_reports_are_redacted(
    gateway: EchoGateway, tmp_path: Path, mlflow_store
):
    run_id = tracking.create_run(
        mlflow_store.experiment_id, "model-a", {"llm_eval.note": f"key {API_KEY}"}
    )
    tracking.log_params(
        run_id,
        {
            "param.api_key": PARAM_KEY,
            "param.temperature": 0.2,
            "model_uri": f"https://user:{PASSWORD}@host/model",
        },
    )
    tracking.fail_run(run_id, tracking.redact(f"RuntimeError: HTTP 401 Bearer {JWT}"))
    tracking.log_table(
        run_id,
        pd.DataFrame({"prediction": [f"leaked {DAPI}", "ok"], "score": [1.0, 2.0]}),
        "comparison.json",
    )
    table = pd.DataFrame(
        {
            "inputs": ["q"],
            "predictions": [f"my key is {API_KEY}"],
            "secretive/v1/score": [float("nan")],
            "secretive/v1/status": ["request_error"],
            "secretive/v1/reason": [f"HTTP 401 X-Gateway-Token: {HEADER_TOKEN}"],
        }
    )
    _judge()  # registers the secret header's value
    html = evaluation_report(
        title=f"report {PASSWORD}",
        table=table,
        aggregates={},
        metrics=[_judge()],
        details={"judge": f"Bearer {JWT}"},
    )
    tracking.log_text(run_id, html, "report.html")

    data = MlflowClient().get_run(run_id).data
    assert data.params["param.api_key"] == MARKER and data.params["param.temperature"] == "0.2"
    assert data.params["model_uri"] == f"https://user:{MARKER}@host/model"
    assert MARKER in data.tags["llm_eval.failure"] and MARKER in data.tags["llm_eval.note"]
    assert _leaks(json.dumps([data.params, data.tags])) == []
    files = [p for p in (tmp_path / "artifacts").rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"comparison.json", "report.html"}
    for path in files:
        assert _leaks(path.read_text(errors="replace")) == [], path
    assert MARKER in html and "secretive/v1" in html
