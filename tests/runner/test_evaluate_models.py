"""evaluate_models on a real sqlite store: parallel child runs read back, failures, reports, secrets."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from support.fake_openai import FakeOpenAI

from mlflow_llm_eval.runner import evaluate_models
from test_reports import Page

ROWS = [
    {"id": 1, "question": "What is the capital of France?", "answer": "Paris"},
    {"id": 2, "question": "What is 2+2?", "answer": "4"},
    {"id": 3, "question": "Who wrote Hamlet?", "answer": "William Shakespeare"},
    {"id": 4, "question": "What colour is a clear sky?", "answer": "blue"},
]
#: The static model: right on 3 rows of 4 (joined by id, file in another order).
STATIC = {2: "4", 1: "Paris", 4: "blue", 3: "Shakespeare"}
SECRET = "sk-test-secret-0123456789abcdef"


class Tracker:
    """Records model calls across models: deterministic evidence of parallelism and its bound.

    The first call waits (up to a generous 120 s liveness limit, never a timing assertion)
    until a second call is inside at the same time: if models run in parallel, the peak is
    exactly 2 however busy the machine; if they ran one by one, the wait gives up and the test
    fails. The pool's bound shows as at most 2 distinct threads ever running these models.
    """

    def __init__(self) -> None:
        self.lock, self.active, self.peak, self.calls = threading.Lock(), 0, 0, 0
        self.threads: set[int] = set()
        self.second_inside = threading.Event()
        self.partner_arrived: bool | None = None

    def model(self, answer: str):
        def predict(inputs: pd.DataFrame) -> list[str]:
            with self.lock:
                self.calls += 1
                call = self.calls
                self.active += 1
                self.peak = max(self.peak, self.active)
                self.threads.add(threading.get_ident())
            if call == 2:
                self.second_inside.set()
            if call == 1:
                self.partner_arrived = self.second_inside.wait(timeout=120)
            with self.lock:
                self.active -= 1
            return [answer] * len(inputs)

        return predict


def broken(inputs: pd.DataFrame) -> list[str]:
    raise RuntimeError("model crashed on purpose")


@pytest.fixture(scope="module")
def comparison(sqlite_tracking_uri: str, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("multi")
    (folder / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    (folder / "static.jsonl").write_text(
        "".join(json.dumps({"id": i, "predictions": p}) + "\n" for i, p in STATIC.items())
    )
    tracker = Tracker()
    server = FakeOpenAI(responder=lambda prompt: "Paris", api_key=SECRET).start()
    config = {
        "experiment": f"multi-{folder.name}",
        "dataset": {"path": "qa.jsonl", "inputs": "question", "targets": "answer"},
        "models": [
            {"name": "static", "predictions": "static.jsonl", "key": "id"},
            {"name": "paris", "python": tracker.model("Paris")},
            {"name": "four", "python": tracker.model("4")},
            {"name": "blue", "python": tracker.model("blue")},
            {"name": "broken", "python": broken},
            {
                "name": "gpt",
                "endpoint": "openai:/fake-model",
                "prompt_template": "Q: {question}",
                "params": {"temperature": 0},
            },
            {"name": "gateway", "endpoint": "endpoints:/nowhere"},
        ],
        "metrics": ["exact_match", "rougeL"],
        "select": {"maximize": "exact_match/v1/mean", "constraints": ["rougeL/v1/mean > 0.1"]},
        "max_workers": 2,
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", sqlite_tracking_uri)
        patch.setenv("OPENAI_API_KEY", SECRET)
        patch.setenv("OPENAI_BASE_URL", server.base_url)
        patch.delenv("OPENAI_API_BASE", raising=False)
        patch.delenv("MLFLOW_DEPLOYMENTS_TARGET", raising=False)
        mlflow.set_tracking_uri(sqlite_tracking_uri)
        result = evaluate_models(config, base_dir=folder)
    server.stop()
    yield result, tracker, server, folder


def child_runs(result) -> dict[str, mlflow.entities.Run]:
    runs = MlflowClient().search_runs(
        [result.experiment_id], f"tags.mlflow.parentRunId = '{result.parent_run_id}'"
    )
    return {r.info.run_name: r for r in runs}


def test_one_child_run_per_model_with_params(comparison) -> None:
    result, _, _, folder = comparison
    runs = child_runs(result)
    assert set(runs) == {"static", "paris", "four", "blue", "broken", "gpt", "gateway"}
    digest = hashlib.sha256((folder / "qa.jsonl").read_bytes()).hexdigest()
    for name, run in runs.items():
        params = run.data.params
        assert params["model_name"] == name
        assert params["dataset_sha256"] == digest and params["dataset_rows"] == "4"
        assert params["metric.exact_match"] == "v1" and params["metric.rougeL"] == "v1"
    assert runs["gpt"].data.params["prompt_template"] == "Q: {question}"
    assert runs["gpt"].data.params["model_uri"] == "openai:/fake-model"
    assert runs["gpt"].data.params["param.temperature"] == "0"
    assert runs["static"].data.params["model_uri"] == str(folder / "static.jsonl")


def test_models_ran_in_parallel_within_the_bound(comparison) -> None:
    _, tracker, _, _ = comparison
    assert tracker.calls == 3  # paris, four, blue: one predict call each
    assert tracker.partner_arrived is True  # two models were inside at once
    assert tracker.peak == 2
    assert len(tracker.threads) <= 2  # max_workers=2


def test_failures_mark_their_run_and_the_others_finish(comparison) -> None:
    result, _, _, _ = comparison
    runs = child_runs(result)
    statuses = {name: run.info.status for name, run in runs.items()}
    assert statuses == {
        "static": "FINISHED",
        "paris": "FINISHED",
        "four": "FINISHED",
        "blue": "FINISHED",
        "gpt": "FINISHED",
        "broken": "FAILED",
        "gateway": "FAILED",
    }
    assert "RuntimeError: model crashed on purpose" in runs["broken"].data.tags["llm_eval.failure"]
    assert "MLFLOW_DEPLOYMENTS_TARGET" in runs["gateway"].data.tags["llm_eval.failure"]
    assert {o.name for o in result.failed} == {"broken", "gateway"}
    parent = MlflowClient().get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["llm_eval.failed_models"] == "broken,gateway"


def test_logged_metrics_are_the_scores_of_the_predictions(comparison) -> None:
    result, _, server, _ = comparison
    runs = child_runs(result)
    expected = {"static": 0.75, "paris": 0.25, "four": 0.25, "blue": 0.25, "gpt": 0.25}
    for name, mean in expected.items():
        assert runs[name].data.metrics["exact_match/v1/mean"] == pytest.approx(mean)
        assert result.outcome(name).metrics["exact_match/v1/mean"] == pytest.approx(mean)
    prompts = sorted(r.prompt for r in server.requests)
    assert prompts == sorted(f"Q: {r['question']}" for r in ROWS)
    assert {r.body["temperature"] for r in server.requests} == {0}
    table = result.outcome("gpt").table
    assert table["outputs"].tolist() == ["Paris"] * 4  # MLflow's name for a model's outputs


def test_the_winner_is_chosen_tagged_and_reported(comparison) -> None:
    result, _, _, _ = comparison
    assert result.selection.winner == "static"
    parent = MlflowClient().get_run(result.parent_run_id)
    assert parent.data.tags["llm_eval.winner"] == "static"
    assert parent.data.tags["llm_eval.selection_reason"] == result.selection.reason
    assert child_runs(result)["static"].data.tags["llm_eval.winner"] == "true"
    logged = MlflowClient().load_table(
        result.experiment_id, "llm_eval/comparison_table.json", run_ids=[result.parent_run_id]
    )
    assert logged["model"].tolist() == [o.name for o in result.outcomes]
    assert logged["exact_match/v1/mean"].tolist()[:4] == pytest.approx([0.75, 0.25, 0.25, 0.25])
    assert logged["winner"].tolist() == [True] + [False] * 6


def _artifact_text(run_id: str, path: str) -> str:
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path)
    return Path(local).read_text()


def test_html_reports_hold_the_logged_numbers(comparison) -> None:
    result, _, _, _ = comparison
    runs = child_runs(result)
    for name in ("static", "gpt"):
        run = runs[name]
        page = Page(_artifact_text(run.info.run_id, "llm_eval/report.html"))
        for key in (
            "exact_match/v1/mean",
            "rougeL/v1/mean",
            "rougeL/v1/mean_ci_low",
            "rougeL/v1/p90",
        ):
            assert page.value(key) == pytest.approx(run.data.metrics[key], nan_ok=True)
    page = Page(_artifact_text(result.parent_run_id, "llm_eval/comparison.html"))
    for name in ("static", "paris", "gpt"):
        assert page.value("rougeL/v1/mean", model=name) == pytest.approx(
            runs[name].data.metrics["rougeL/v1/mean"]
        )
    assert "Winner: static" in " ".join(page.text)


def test_the_api_key_is_nowhere_in_the_store(comparison) -> None:
    result, _, server, _ = comparison
    assert server.requests and all(r.status == 200 for r in server.requests)  # the key was used
    client = MlflowClient()
    runs = [client.get_run(result.parent_run_id), *child_runs(result).values()]
    for run in runs:
        assert SECRET not in json.dumps([run.data.params, run.data.tags])
        for artifact in (
            "llm_eval/report.html",
            "llm_eval/comparison.html",
            "llm_eval/config.yaml",
            "eval_results_table.json",
        ):
            try:
                text = _artifact_text(run.info.run_id, artifact)
            except Exception:  # noqa: BLE001 - not every run has every artifact
                continue
            assert SECRET not in text
    config = yaml.safe_load(_artifact_text(result.parent_run_id, "llm_eval/config.yaml"))
    assert [m["name"] for m in config["models"]][:3] == ["static", "paris", "four"]
