"""Agent metrics on Spark ``local[2]`` (one module, the shared session): list columns of ids and
tool calls reach the metrics as lists, and Spark gives the pandas path's numbers."""

from __future__ import annotations

import pandas as pd
import pytest

import mlflow_llm_eval as le

pytestmark = pytest.mark.usefixtures("mlflow_store")


def _same(spark_metrics: dict, pandas_metrics: dict) -> None:
    assert set(spark_metrics) == set(pandas_metrics)
    for key, expected in pandas_metrics.items():
        assert spark_metrics[key] == pytest.approx(expected, abs=1e-12, nan_ok=True), key


def retrieval_frame(n: int) -> pd.DataFrame:
    retrieved = [[f"d{(i * 7 + j) % 11}" for j in range(i % 5)] for i in range(n)]
    relevant = [[f"d{(i + j) % 11}" for j in range(1 + i % 3)] for i in range(n)]
    relevant[4] = None  # one missing row: a status, not a crash
    return pd.DataFrame(
        {"question": [f"q{i}" for i in range(n)], "relevant": relevant, "retrieved": retrieved}
    )


def test_retriever_metrics_on_spark_match_pandas(spark) -> None:
    frame = retrieval_frame(120)
    sdf = spark.createDataFrame(frame).repartition(3)
    kwargs = {
        "targets": "relevant",
        "predictions": "retrieved",
        "model_type": "retriever",
        "evaluator_config": {"retriever_k": 4},
        "extra_metrics": [le.get_metric("mrr", k=4)],
    }
    on_spark = le.evaluate(data=sdf, **kwargs)
    on_pandas = le.evaluate(data=frame, **kwargs)
    _same(on_spark.metrics, on_pandas.metrics)
    assert on_spark.metrics["ndcg_at_4/count"] == 119
    assert on_spark.metrics["mrr_at_4/v1/unscored"] >= 1


def tool_frame(n: int) -> pd.DataFrame:
    import json

    calls = [
        [
            {
                "type": "function",
                "function": {
                    "name": ["add", "search"][i % 2],
                    "arguments": json.dumps({"x": i % 3}),
                },
            }
        ]
        * (1 + i % 2)
        for i in range(n)
    ]
    expected = [[{"name": ["add", "search"][i % 2], "arguments": {"x": i % 4}}] for i in range(n)]
    frame = pd.DataFrame(
        {
            "tool_calls": [json.dumps(c) for c in calls],  # JSON text columns
            "expected_tool_calls": [json.dumps(e) for e in expected],
        }
    )
    frame.loc[7, "tool_calls"] = '[{"name": "add", "arguments": "{broken"}]'
    return frame


def test_tool_call_metrics_on_spark_match_pandas(spark) -> None:
    frame = tool_frame(90)
    metrics = [
        le.tool_call_correctness(mode="subset"),
        le.tool_call_f1(),
        le.tool_call_efficiency(),
    ]
    on_spark = le.evaluate(
        data=spark.createDataFrame(frame).repartition(2), model_type=None, extra_metrics=metrics
    )
    on_pandas = le.evaluate(data=frame, model_type=None, extra_metrics=metrics)
    _same(on_spark.metrics, on_pandas.metrics)
    assert on_spark.metrics["tool_call_f1/v1/unscored"] == 1  # the malformed row


def _judge_answer(prompt: str) -> str:
    """Scripted judge: all claims supported for item judges, score 4 for the others."""
    import json
    import re

    if "<claims-" in prompt:
        claims_block = prompt[prompt.rindex("<claims-") :]
        n = len(re.findall(r"^\[\d+\] ", claims_block, re.MULTILINE))
        return json.dumps(
            {"verdicts": [{"item": i, "verdict": "yes", "reason": "ok"} for i in range(1, n + 1)]}
        )
    return json.dumps({"score": 4, "justification": "scripted"})


def test_judges_on_spark_conversation_and_claims(spark, monkeypatch, tmp_path) -> None:
    from support.fake_openai import FakeOpenAI

    conversation = [
        {"role": "user", "content": "Book a table."},
        {"role": "assistant", "content": "Done: table for two at 8."},
    ]
    frame = pd.DataFrame(
        {
            "conversation": [conversation] * 6 + [[{"content": "no role"}]],
            "answer": ["The table is booked. It is at 8."] * 7,
            "context": [["Booking confirmed for 8 pm."]] * 7,
        }
    )
    with FakeOpenAI(responder=_judge_answer) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-agents-spark")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "cache"))
        judges = [
            le.get_metric("goal_completion", model="openai:/gpt-4o-mini"),
            le.get_metric("claim_faithfulness", model="openai:/gpt-4o-mini"),
        ]
        result = le.evaluate(
            data=spark.createDataFrame(frame),
            predictions="answer",
            model_type=None,
            extra_metrics=judges,
        )
        prompts = [r.prompt for r in fake.requests]
    assert result.metrics["goal_completion/v1/count"] == 6
    assert result.metrics["goal_completion/v1/unscored"] == 1
    assert result.metrics["goal_completion/v1/mean"] == 4
    assert result.metrics["claim_faithfulness/v1/mean"] == 1.0
    assert result.metrics["claim_faithfulness/v1/count"] == 7
    assert any("[2] assistant: Done: table for two at 8." in p for p in prompts)
