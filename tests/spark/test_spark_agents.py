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
    return pd.DataFrame({"question": [f"q{i}" for i in range(n)], "relevant": relevant,
                         "retrieved": retrieved})


def test_retriever_metrics_on_spark_match_pandas(spark) -> None:
    frame = retrieval_frame(120)
    sdf = spark.createDataFrame(frame).repartition(3)
    kwargs = dict(targets="relevant", predictions="retrieved", model_type="retriever",
                  evaluator_config={"retriever_k": 4}, extra_metrics=[le.get_metric("mrr", k=4)])
    on_spark = le.evaluate(data=sdf, **kwargs)
    on_pandas = le.evaluate(data=frame, **kwargs)
    _same(on_spark.metrics, on_pandas.metrics)
    assert on_spark.metrics["ndcg_at_4/count"] == 119
    assert on_spark.metrics["mrr_at_4/v1/unscored"] >= 1
