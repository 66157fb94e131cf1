"""Logging over the REST API: a real `mlflow server` on a free loopback port, started here."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import pandas as pd
import pytest

import mlflow_llm_eval as le


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory):
    root: Path = tmp_path_factory.mktemp("server")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "w"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError((root / "server.log").read_text()[-3000:])
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        raise RuntimeError("mlflow server did not start in 120 s")
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_evaluation_logged_over_rest(tracking_server, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    mlflow.set_tracking_uri(tracking_server)
    mlflow.set_experiment("rest")
    data = pd.DataFrame(
        {"inputs": ["q1", "q2", "q3"], "targets": ["a b c", "d e", "f"],
         "predictions": ["a b c", "d x", None]}
    )
    with mlflow.start_run() as run:
        result = mlflow.evaluate(
            data=data, targets="targets", predictions="predictions", model_type=None,
            evaluators="llm_eval", extra_metrics=[le.rouge1(), le.exact_match()],
        )
    client = mlflow.MlflowClient(tracking_uri=tracking_server)
    logged = client.get_run(run.info.run_id).data.metrics
    assert logged["exact_match/v1/mean"] == 0.5
    assert logged["exact_match/v1/unscored"] == 1
    assert logged["rouge1/v1/mean"] == pytest.approx(result.metrics["rouge1/v1/mean"])
    table = mlflow.load_table("eval_results_table.json", run_ids=[run.info.run_id])
    assert table["exact_match/v1/status"].tolist() == ["ok", "ok", "missing"]
    assert result.tables["eval_results_table"].shape == table.shape
