"""The logged table keeps the user's data as given (issue 17, part 3).

User cells (inputs, targets, predictions, context, every column given) are logged exactly as
given, except the exact values of the credentials the run uses (here: the judge's key from
``OPENAI_API_KEY`` and a secret header), which are replaced and counted in
``llm_eval/redactions.json``. The broad rules (key shapes, secret names, environment values)
still apply to what the package writes: reasons, justifications, metadata, params, tags, logs.
Real ``mlflow.evaluate`` on the sqlite store, judge on the local fake OpenAI server.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from support.fake_openai import FakeOpenAI

from mlflow_llm_eval.judge import make_genai_metric
from mlflow_llm_eval.mlflow_adapter.logging import REDACTIONS_FILE, REDACTIONS_TAG
from mlflow_llm_eval.redaction import MARKER

RUN_KEY = "sk-run-key-Zq81mXv4LpT2nWc7"  # the judge's key this run sends (environment)
HEADER_SECRET = "gw-header-secret-6Hk2Pq9Z"  # a secret extra header this run sends
DOC_ROW = "export api_key=sk-abc123def456ghi789jkl"  # documentation the user evaluates


@pytest.fixture()
def judge_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mlflow_store):
    with FakeOpenAI(scorer=lambda prompt: 4) as server:
        monkeypatch.setenv("OPENAI_API_KEY", RUN_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setenv("GIT_AUTHOR_NAME", "Jane Austen")  # an "AUTH" variable, no secret
        monkeypatch.setenv("DOCS_API_TOKEN", "sk-abc123def456ghi789jkl")  # not used by the run
        yield server


def _judge():
    return make_genai_metric(
        name="quality",
        definition="How correct the answer is.",
        grading_prompt="Score 1: wrong\nScore 5: right",
        model="openai:/gpt-4o-mini",
        grading_context_columns=["targets"],
        parameters={"temperature": 0.0, "max_tokens": 50},
        extra_headers={"X-Gateway-Token": HEADER_SECRET},
        cache=False,
        progress=False,
    )


def _logged_table(run_id: str, tmp_path: Path) -> tuple[str, dict]:
    artifacts = tmp_path / "artifacts"
    text = next(artifacts.rglob("eval_results_table.json")).read_text()
    record = json.loads(next(artifacts.rglob(Path(REDACTIONS_FILE).name)).read_text())
    return text, record


def test_user_cells_are_logged_as_given_except_the_runs_credentials(judge_server, tmp_path):
    data = pd.DataFrame(
        {
            "inputs": ["Who wrote Emma?", "How do I set the key?", "Echo my key", "Header?"],
            "predictions": [
                "Emma was written by Jane Austen.",
                DOC_ROW,
                f"your key is {RUN_KEY}",
                f"X-Gateway-Token: {HEADER_SECRET}",
            ],
            "targets": ["Jane Austen", DOC_ROW, "no key", "no header"],
            "note": ["author: Jane Austen", "password=hunter22", "Bearer abcdefgh12345678", "-"],
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
    assert judge_server.stats()["requests"] == 4  # the credentials were in use
    sent = judge_server.requests[0].headers
    assert sent["authorization"] == f"Bearer {RUN_KEY}" and sent["x-gateway-token"] == HEADER_SECRET

    table = result.tables["eval_results_table"]
    assert table["targets"].tolist() == ["Jane Austen", DOC_ROW, "no key", "no header"]
    assert table["predictions"].tolist() == [
        "Emma was written by Jane Austen.",
        DOC_ROW,
        f"your key is {MARKER}",
        f"X-Gateway-Token: {MARKER}",
    ]
    # the user's own column: key-shaped values and secret-looking names that are not the run's
    # credentials stay as given
    assert table["note"].tolist() == [
        "author: Jane Austen",
        "password=hunter22",
        "Bearer abcdefgh12345678",
        "-",
    ]
    assert table["quality/v1/status"].tolist() == ["ok"] * 4

    text, record = _logged_table(run.info.run_id, tmp_path)
    assert "Jane Austen" in text and "sk-abc123def456ghi789jkl" in text
    assert RUN_KEY not in text and HEADER_SECRET not in text
    assert record["user_columns"] == {"predictions": 2}
    assert record["total"] == 2
    tags = MlflowClient().get_run(run.info.run_id).data.tags
    assert tags[REDACTIONS_TAG] == "2"


def test_package_written_columns_keep_the_broad_rules(judge_server, tmp_path):
    """A judge answering with a key-shaped value and an environment value: its justification
    (the package's judge output) is redacted by every rule, and counted."""
    judge_server.responder = lambda prompt: json.dumps(
        {"score": 3, "justification": "Saw sk-abc123def456ghi789jkl and Jane Austen"}
    )
    data = pd.DataFrame(
        {"inputs": ["q"], "predictions": ["Jane Austen"], "targets": ["Jane Austen"]}
    )
    with mlflow.start_run() as run:
        result = mlflow.evaluate(
            data=data,
            predictions="predictions",
            targets="targets",
            evaluators="llm_eval",
            extra_metrics=[_judge()],
        )
    table = result.tables["eval_results_table"]
    assert table["predictions"].tolist() == ["Jane Austen"]
    # DOCS_API_TOKEN's value (an environment secret) and GIT_AUTHOR_NAME's (an AUTH variable)
    assert table["quality/v1/justification"].tolist() == [f"Saw {MARKER} and {MARKER}"]
    _, record = _logged_table(run.info.run_id, tmp_path)
    assert record["package_columns"] == {"quality/v1/justification": 1}
    assert record["user_columns"] == {}


def test_the_runs_credentials_are_those_its_clients_send(monkeypatch: pytest.MonkeyPatch) -> None:
    """Which exact values count as the run's: the keys of the judges and the model in play
    (also inside the wrapper MLflow builds around a callable model), DATABRICKS_TOKEN only when
    a client talks to Databricks; an unused key in the environment is not one of them."""
    from mlflow.models.evaluation.base import _get_model_from_function

    import mlflow_llm_eval as le
    from mlflow_llm_eval.judge.endpoint_model import EndpointModel
    from mlflow_llm_eval.mlflow_adapter.logging import run_credentials

    token = "dapi0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", RUN_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("DATABRICKS_TOKEN", token)
    monkeypatch.setenv("DATABRICKS_HOST", "https://example.cloud.databricks.com")
    assert run_credentials([le.exact_match()]) == []  # no client: nothing of the run's
    model = EndpointModel.from_uri("openai:/m")
    assert run_credentials([], _get_model_from_function(model)) == sorted(
        [RUN_KEY, f"Bearer {RUN_KEY}"]
    )
    monkeypatch.setenv("MLFLOW_DEPLOYMENTS_TARGET", "databricks")
    judge = le.answer_similarity(model="endpoints:/judge", progress=False)
    assert run_credentials([judge]) == [token]
    monkeypatch.setenv("MLFLOW_DEPLOYMENTS_TARGET", "http://127.0.0.1:9")  # an MLflow gateway
    assert run_credentials([le.answer_similarity(model="endpoints:/judge", progress=False)]) == []
