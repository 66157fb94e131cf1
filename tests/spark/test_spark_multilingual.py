"""Multilingual rows on Spark: executors segment each language as the pandas path does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlflow_llm_eval as le

pytestmark = pytest.mark.usefixtures("mlflow_store")

ROWS = [
    ("서울에서 친구를 만나서 점심을 먹었다.", "서울에서 동생을 만나서 저녁을 먹었다."),
    ("私は毎朝コーヒーを飲みます。", "彼は毎朝紅茶を飲みます。"),
    ("今天天气很好，我们去公园散步。", "今天天气不错，我们去商店购物。"),
    ("The quick brown fox jumps over the lazy dog.", "A quick brown dog jumps over a lazy fox."),
] * 6


def test_spark_scores_cjk_rows_like_the_pandas_path(spark, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "row": range(len(ROWS)),
            "prediction": [p for p, _ in ROWS],
            "answer": [t for _, t in ROWS],
        }
    )
    target = str(tmp_path / "scores")
    result = le.evaluate(
        data=spark.createDataFrame(frame).repartition(2),
        targets="answer",
        predictions="prediction",
        model_type=None,
        extra_metrics=[le.rougeL(), le.chrf()],
        results_table=target,
    )
    expected = le.evaluate(
        data=frame,
        targets="answer",
        predictions="prediction",
        model_type=None,
        extra_metrics=[le.rougeL(), le.chrf()],
    )
    written = pd.read_parquet(target).sort_values("row").reset_index(drop=True)
    reference = expected.tables["eval_results_table"].sort_values("row").reset_index(drop=True)
    for column in ("rougeL/v1/score", "chrf/v1/score"):
        np.testing.assert_allclose(
            written[column].to_numpy(float), reference[column].to_numpy(float), atol=1e-12
        )
    scores = written["rougeL/v1/score"].to_numpy(float)
    assert ((scores > 0) & (scores < 1)).all()  # no CJK row at 0.0
    assert result.metrics["rougeL/v1/mean"] == pytest.approx(expected.metrics["rougeL/v1/mean"])
    # per-language aggregates and signatures: logged as the classic door logs them
    lang_keys = sorted(k for k in expected.metrics if "/lang_" in k)
    assert "rougeL/v1/lang_ko/mean" in lang_keys and "chrf/v1/lang_en/count" in lang_keys
    assert sorted(k for k in result.metrics if "/lang_" in k) == lang_keys
    for key in lang_keys:
        assert result.metrics[key] == pytest.approx(expected.metrics[key], rel=1e-9), key
    from mlflow import MlflowClient

    run = MlflowClient().get_run(result.run_id)
    assert run.data.tags["llm_eval.signature.rougeL/v1"] == le.rougeL().signature
    assert run.data.metrics["rougeL/v1/lang_ja/mean"] == pytest.approx(
        expected.metrics["rougeL/v1/lang_ja/mean"]
    )
