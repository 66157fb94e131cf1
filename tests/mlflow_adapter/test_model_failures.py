"""A model under test that fails keeps its reason (issue 17, part 4).

An endpoint model (``openai:/...`` on the local fake server) whose rows end ``rate_limited`` or
``timeout`` (then ``endpoint_unavailable`` once the circuit breaker opens): through a real
``mlflow.evaluate`` the table carries the model's ``outputs/status`` and ``outputs/reason``, and
every metric that needed the output marks the row ``model_failed`` (with the model's status
and reason), not ``missing``.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from support.fake_openai import FakeOpenAI, Faults

import mlflow_llm_eval as le
from mlflow_llm_eval.core.types import STATUSES, Status
from mlflow_llm_eval.judge.endpoint_model import EndpointModel, ModelAnswers

ROWS = 12
DATA = pd.DataFrame(
    {
        "inputs": [f"question {i}" for i in range(ROWS)],
        "targets": [f"QUESTION {i}" for i in range(ROWS)],
    }
)


@pytest.fixture()
def endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mlflow_store):
    def point(server: FakeOpenAI) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-local-0123456789")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "cache"))

    return point


def _evaluate(model: EndpointModel) -> tuple[pd.DataFrame, dict[str, float], pd.DataFrame]:
    with mlflow.start_run() as run:
        result = mlflow.evaluate(
            model=model,
            data=DATA,
            targets="targets",
            evaluators="llm_eval",
            extra_metrics=[le.exact_match(), le.token_count()],
        )
    logged = mlflow.load_table("eval_results_table.json", run_ids=[run.info.run_id])
    return result.tables["eval_results_table"], result.metrics, logged


def _check_marked(table: pd.DataFrame, model_statuses: set[str]) -> int:
    failed = table["outputs/status"] != "ok"
    assert 0 < failed.sum() < ROWS  # some rows failed, some were answered
    assert set(table.loc[failed, "outputs/status"]) <= model_statuses
    assert table.loc[failed, "outputs"].isna().all() and table.loc[~failed, "outputs"].notna().all()
    assert table.loc[failed, "outputs/reason"].str.len().gt(0).all()
    assert table.loc[~failed, "outputs/reason"].isna().all()
    for metric in ("exact_match/v1", "token_count"):
        statuses = table[f"{metric}/status"]
        assert set(statuses[failed]) == {Status.MODEL_FAILED}
        assert set(statuses[~failed]) == {"ok"}
        for i in table.index[failed]:
            reason = table.loc[i, f"{metric}/reason"]
            assert reason.startswith(
                f"the model under test failed on this row (outputs/status "
                f"{table.loc[i, 'outputs/status']}): "
            )
            assert table.loc[i, "outputs/reason"] in reason
    return int(failed.sum())


def test_rate_limited_rows_are_marked_as_the_models_failure(endpoint) -> None:
    with FakeOpenAI(responder=str.upper, faults=Faults(rate_limit=0.5, retry_after=0.01)) as server:
        endpoint(server)
        # one attempt per row, and no resend after a 429's Retry-After (max_wait=0)
        model = EndpointModel.from_uri(
            "openai:/small", "{inputs}", max_attempts=1, max_wait=0, max_concurrency=1
        )
        table, metrics, logged = _evaluate(model)
        assert 429 in server.stats()["statuses"]
    failed = _check_marked(table, {"rate_limited"})
    assert all("429" in r for r in table.loc[table["outputs/status"] != "ok", "outputs/reason"])
    assert metrics["exact_match/v1/count"] == ROWS - failed  # aggregates: the answered rows
    assert metrics["exact_match/v1/mean"] == 1.0
    # the logged artifact says the same
    assert logged["outputs/status"].tolist() == table["outputs/status"].tolist()
    assert logged["exact_match/v1/status"].tolist() == table["exact_match/v1/status"].tolist()


def test_timeouts_and_an_open_breaker_are_marked_as_the_models_failure(endpoint) -> None:
    # seed 0: the first request is answered, then timeouts; two in a row open the breaker
    with FakeOpenAI(responder=str.upper, faults=Faults(timeout=0.2, hang_seconds=2.0)) as server:
        endpoint(server)
        model = EndpointModel.from_uri(
            "openai:/small",
            "{inputs}",
            max_attempts=1,
            max_concurrency=1,
            timeout=0.5,
            breaker_threshold=2,
        )
        table, _, _ = _evaluate(model)
    _check_marked(table, {"timeout", "endpoint_unavailable"})
    assert "timeout" in set(table["outputs/status"])


def test_a_model_that_reports_no_statuses_adds_no_columns(mlflow_store) -> None:
    with mlflow.start_run():
        result = mlflow.evaluate(
            model=lambda frame: [None, *frame["inputs"][1:]],
            data=DATA.head(3),
            targets="targets",
            evaluators="llm_eval",
            extra_metrics=[le.exact_match()],
        )
    table = result.tables["eval_results_table"]
    assert "outputs/status" not in table.columns  # MLflow's layout for a plain model
    assert table["exact_match/v1/status"].tolist() == ["missing", "ok", "ok"]


def test_model_answers_are_a_list_with_statuses() -> None:
    answers = ModelAnswers(["a", None], ["ok", "rate_limited"], [None, "HTTP 429"])
    assert answers == ["a", None] and json.dumps(answers) == '["a", null]'
    assert answers.failed == {1: ("rate_limited", "HTTP 429")}
    assert "model_failed" in STATUSES
