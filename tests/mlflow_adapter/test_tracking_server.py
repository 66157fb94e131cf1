"""Logging over the REST API: a real `mlflow server` on a free loopback port, started here."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

import mlflow_llm_eval as le
from support.mlflow_server import mlflow_server


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory):
    with mlflow_server(tmp_path_factory.mktemp("server")) as url:  # killed if slow to stop
        yield url


def test_evaluation_logged_over_rest(tracking_server, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    mlflow.set_tracking_uri(tracking_server)
    mlflow.set_experiment("rest")
    data = pd.DataFrame(
        {
            "inputs": ["q1", "q2", "q3"],
            "targets": ["a b c", "d e", "f"],
            "predictions": ["a b c", "d x", None],
        }
    )
    with mlflow.start_run() as run:
        result = mlflow.evaluate(
            data=data,
            targets="targets",
            predictions="predictions",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[le.rouge1(), le.exact_match()],
        )
    client = mlflow.MlflowClient(tracking_uri=tracking_server)
    logged = client.get_run(run.info.run_id).data.metrics
    assert logged["exact_match/v1/mean"] == 0.5
    assert logged["exact_match/v1/unscored"] == 1
    assert logged["rouge1/v1/mean"] == pytest.approx(result.metrics["rouge1/v1/mean"])
    table = mlflow.load_table("eval_results_table.json", run_ids=[run.info.run_id])
    assert table["exact_match/v1/status"].tolist() == ["ok", "ok", "missing"]
    assert result.tables["eval_results_table"].shape == table.shape
