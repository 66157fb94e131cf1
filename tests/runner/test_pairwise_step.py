"""``compare: {pairwise: ...}`` in the multi-model runner: parent-run metrics, JSON, report, errors."""

from __future__ import annotations

import json

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from support.fake_openai import FakeOpenAI
from support.pairwise_judges import by_quality, prefer_first

from mlflow_llm_eval.config import ConfigError
from mlflow_llm_eval.runner import evaluate_models

QUESTIONS = [f"question {i}" for i in range(6)]


def answering(q: int):
    def model(inputs: pd.DataFrame) -> list[str]:
        return [f"{question} answered q={q}" for question in inputs["question"]]

    return model


def quality(text: str) -> float:
    return float(text.split("q=")[1])


def config(experiment: str, **pairwise) -> dict:
    return {
        "experiment": experiment,
        "dataset": {"inputs": "question"},
        "models": [
            {"name": "good", "python": answering(3)},
            {"name": "mid", "python": answering(2)},
            {"name": "bad", "python": answering(1)},
        ],
        "metrics": ["token_count"],
        "judge": {"model": "openai:/fake-judge", "cache": False},
        "compare": {
            "pairwise": {"criteria": "Which answer is better?", "n_bootstrap": 200, **pairwise}
        },
    }


@pytest.fixture()
def judge_server(sqlite_tracking_uri, monkeypatch, tmp_path):
    server = FakeOpenAI(responder=by_quality(quality)).start()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_tracking_uri)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-pairwise-runner-000000")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "cache"))
    mlflow.set_tracking_uri(sqlite_tracking_uri)
    yield server
    server.stop()


def test_pairwise_step_logs_to_the_parent_run(judge_server, tmp_path):
    data = pd.DataFrame({"question": QUESTIONS})
    result = evaluate_models(config(f"pairwise-{tmp_path.name}"), data=data)
    assert judge_server.stats()["requests"] == 3 * len(QUESTIONS) * 2
    parent = MlflowClient().get_run(result.parent_run_id)
    metrics = parent.data.metrics
    assert metrics["pairwise/consistency_rate"] == 1.0
    assert metrics["pairwise/good/win_rate"] == 1.0 and metrics["pairwise/bad/win_rate"] == 0.0
    assert metrics["pairwise/good/bt_rating_ci_low"] > metrics["pairwise/mid/bt_rating"]
    assert metrics["pairwise/good_vs_mid/wins_a"] == len(QUESTIONS)
    path = mlflow.artifacts.download_artifacts(
        run_id=result.parent_run_id,
        artifact_path="llm_eval/pairwise.json",
        dst_path=str(tmp_path / "dl"),
    )
    saved = json.loads(open(path).read())
    assert saved["models"] == ["good", "mid", "bad"] and len(saved["pairs"]) == 18
    assert saved["pairs"][0]["winner"] == "good"
    html_path = mlflow.artifacts.download_artifacts(
        run_id=result.parent_run_id,
        artifact_path="llm_eval/comparison.html",
        dst_path=str(tmp_path / "dl2"),
    )
    html = open(html_path, encoding="utf-8").read()
    assert "<h2>Pairwise judge</h2>" in html and 'data-key="pairwise/good/bt_rating"' in html
    assert result.pairwise.consistency_rate == 1.0 and "pairwise judge" in result.summary()


def test_position_biased_judge_in_the_runner_decides_nothing(judge_server, tmp_path):
    judge_server.responder = prefer_first
    result = evaluate_models(
        config(f"biased-{tmp_path.name}", name="arena"),
        data=pd.DataFrame({"question": QUESTIONS[:3]}),
    )
    metrics = MlflowClient().get_run(result.parent_run_id).data.metrics
    assert metrics["arena/consistency_rate"] == 0.0 and metrics["arena/tie_rate"] == 1.0
    assert metrics["arena/good/win_rate"] == 0.0 and abs(metrics["arena/good/bt_rating"]) < 1e-9


def broken(inputs: pd.DataFrame) -> list[str]:
    raise RuntimeError("model crashed on purpose")


def test_step_failure_is_a_tag_not_a_failed_comparison(judge_server, tmp_path):
    cfg = config(f"failing-{tmp_path.name}")
    cfg["models"] = [cfg["models"][0], {"name": "broken", "python": broken}]
    result = evaluate_models(cfg, data=pd.DataFrame({"question": QUESTIONS[:2]}))
    parent = MlflowClient().get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED" and result.pairwise is None
    assert "fewer than two models" in parent.data.tags["llm_eval.pairwise_error"]
    assert judge_server.stats()["requests"] == 0


def test_refused_judge_leaves_pairs_unscored(judge_server, tmp_path):
    judge_server.api_key = "sk-another-key-the-runner-lacks-0000"
    result = evaluate_models(
        config(f"refused-{tmp_path.name}"), data=pd.DataFrame({"question": QUESTIONS[:2]})
    )
    parent = MlflowClient().get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert all(v.status == "request_error" for v in result.pairwise.verdicts)
    assert "pairwise/consistency_rate" not in parent.data.metrics
    assert parent.data.metrics["pairwise/pairs_unscored"] == 6


def test_config_errors_name_the_key(judge_server, tmp_path):
    cfg = config("x")
    del cfg["judge"]
    with pytest.raises(ConfigError, match=r"compare\.pairwise.*needs a model"):
        evaluate_models(cfg, data=pd.DataFrame({"question": QUESTIONS}))
    cfg = config("x", critera="typo")
    with pytest.raises(ConfigError, match="critera"):
        evaluate_models(cfg, data=pd.DataFrame({"question": QUESTIONS}))
