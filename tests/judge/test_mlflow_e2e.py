"""Judges through mlflow.evaluate(evaluators="llm_eval"): table, run metrics, and no secret anywhere."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd
import pytest
from support.fake_openai import FakeOpenAI, Faults

from mlflow_llm_eval.judge import answer_correctness, make_genai_metric

HEADER_SECRET = "hdr-secret-5d1e"


def _all_artifact_text(client, run_id: str, path: str | None = None) -> str:
    import mlflow

    texts = []
    for info in client.list_artifacts(run_id, path):
        if info.is_dir:
            texts.append(_all_artifact_text(client, run_id, info.path))
        else:
            local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=info.path)
            texts.append(info.path + "\n" + Path(local).read_text(errors="replace"))
    return "\n".join(texts)


def test_judges_in_mlflow_evaluate_keep_every_row_and_no_secret(
    judge_env: FakeOpenAI,
    mlflow_store,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture,
):
    import mlflow

    secret = os.environ["OPENAI_API_KEY"]
    judge_env.reset(Faults(rate_limit=0.1, server_error=0.05, garbage=0.05))
    n = 40
    data = pd.DataFrame(
        {
            "inputs": [f"Who maintains project {i}?" for i in range(n)],
            "predictions": [f"Team {i % 7} maintains it." for i in range(n)],
            "ground_truth": [f"Team {i % 5} maintains project {i}." for i in range(n)],
        }
    )
    correctness = answer_correctness(
        model="openai:/gpt-4o-mini",
        progress=False,
        extra_headers={"X-Token": HEADER_SECRET},
        price={"prompt": 0.15, "completion": 0.6},
    )
    tone = make_genai_metric(
        name="professionalism",
        definition="How formal the output is.",
        grading_prompt="- Score 1: casual\n- Score 5: formal",
        model="openai:/gpt-4o-mini",
        aggregations=["mean", "variance", "p90"],
        progress=False,
    )
    caplog.set_level(logging.DEBUG)
    with mlflow.start_run() as run:
        result = mlflow.evaluate(
            data=data,
            predictions="predictions",
            targets="ground_truth",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[correctness, tone],
        )
    table = result.tables["eval_results_table"]
    assert len(table) == n
    for key in ("answer_correctness/v1", "professionalism/v1"):
        assert table[f"{key}/status"].tolist() == ["ok"] * n  # no row lost to the faults
        assert table[f"{key}/score"].between(1, 5).all()
        assert table[f"{key}/justification"].str.startswith("scripted score").all()
    metrics = result.metrics
    assert metrics["professionalism/v1/p90"] == pytest.approx(
        table["professionalism/v1/score"].quantile(0.9, interpolation="linear")
    )
    requests = (
        metrics["answer_correctness/v1/judge_requests"]
        + metrics["professionalism/v1/judge_requests"]
    )
    assert requests == judge_env.stats()["requests"] <= 1.3 * 2 * n
    assert metrics["answer_correctness/v1/judge_cache_hits"] == 0
    assert metrics["answer_correctness/v1/prompt_tokens"] > 0
    assert metrics["answer_correctness/v1/cost_usd"] > 0

    client = mlflow.MlflowClient()
    logged = client.get_run(run.info.run_id).data
    assert (
        logged.metrics["answer_correctness/v1/judge_retries"]
        == metrics["answer_correctness/v1/judge_retries"]
    )
    out, err = capfd.readouterr()
    haystack = "\n".join(
        [
            repr(logged.params),
            repr(logged.tags),
            repr(logged.metrics),
            _all_artifact_text(client, run.info.run_id),
            caplog.text,
            "\n".join(str(r.__dict__) for r in caplog.records),
            out,
            err,
        ]
    )
    assert "answer_correctness" in haystack and "X-Token" in haystack  # the scan sees real content
    assert secret not in haystack and HEADER_SECRET not in haystack

    # an identical re-run is answered from the cache
    judge_env.reset()
    with mlflow.start_run():
        again = mlflow.evaluate(
            data=data,
            predictions="predictions",
            targets="ground_truth",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[correctness, tone],
        )
    assert judge_env.stats()["requests"] == 0
    assert again.metrics["answer_correctness/v1/judge_cache_hits"] == n
    assert (
        again.tables["eval_results_table"]["answer_correctness/v1/score"].tolist()
        == table["answer_correctness/v1/score"].tolist()
    )
