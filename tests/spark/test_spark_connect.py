"""Through Spark Connect (``SparkSession.builder.remote("local[2]")``, DataFrame APIs only): the
same aggregates as the pandas path, the results table written, a missing column named before
any job. Runs in its own process: one process cannot hold a classic and a Connect session."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.spark_connect import run_connect_script

SCRIPT = r"""
import json, sys, math
import mlflow, pandas as pd
import mlflow_llm_eval as le
from mlflow_llm_eval.spark_adapter import local_session

mlflow.set_tracking_uri(sys.argv[1]); mlflow.set_experiment("connect")
spark = local_session("local[2]", connect=True)
assert type(spark).__module__.startswith("pyspark.sql.connect")
words = "the cat sat on a mat and the dog ran far away".split()
frame = pd.DataFrame({"answer": [" ".join(words[i % 5:i % 5 + 4]) for i in range(90)],
                      "prediction": [" ".join(words[i % 7:i % 7 + 5]) if i % 9 else None
                                     for i in range(90)]})
metrics = lambda: [le.rougeL(), le.exact_match(), le.token_count(), le.flesch_kincaid_grade_level()]
out = {}
try:
    le.evaluate(data=spark.createDataFrame(frame), targets="answer", predictions="nope",
                extra_metrics=metrics())
except ValueError as exc:
    out["missing"] = str(exc)
sdf = spark.createDataFrame(frame).repartition(3)
with mlflow.start_run():
    on_spark = le.evaluate(data=sdf, targets="answer", predictions="prediction",
                           extra_metrics=metrics(), results_table=sys.argv[2])
with mlflow.start_run():
    on_pandas = le.evaluate(data=frame, targets="answer", predictions="prediction",
                            extra_metrics=metrics())
out["spark"], out["pandas"] = on_spark.metrics, on_pandas.metrics
out["rows"] = len(pd.read_parquet(sys.argv[2]))
# the multi-model config on a Spark table through Connect (a temp view; engine auto)
from mlflow_llm_eval.runner import evaluate_models
spark.createDataFrame(frame.assign(q=[f"q{i}" for i in range(90)])).createOrReplaceTempView("qa")
def upper(f):
    return [a.upper() if isinstance(a, str) else None for a in f["prediction"]]
cfg = {"experiment": "connect-multi", "dataset": {"table": "qa", "inputs": "prediction",
       "targets": "answer"}, "models": [{"name": "up", "python": upper}],
       "metrics": ["rougeL", "token_count"], "report": {"enabled": False},
       "spark": {"results": sys.argv[2] + "_multi"}}
multi = evaluate_models(cfg)
cfg["dataset"].pop("table"); cfg["engine"] = "pandas"
same_rows = evaluate_models(cfg, data=frame).outcome("up")
out["multi"], out["multi_pandas"] = multi.outcome("up").metrics, same_rows.metrics
out["multi_failure"] = multi.outcome("up").failure
print(json.dumps(out))
"""


def test_spark_connect_scores_like_the_pandas_path(
    tmp_path: Path, sqlite_tracking_uri: str
) -> None:
    out = run_connect_script(SCRIPT, sqlite_tracking_uri, str(tmp_path / "t"), cwd=tmp_path)
    assert "predictions='nope'" in out["missing"]
    assert out["rows"] == 90
    assert set(out["spark"]) == set(out["pandas"])
    for key, expected in out["pandas"].items():
        assert out["spark"][key] == pytest.approx(expected, abs=1e-9, rel=0, nan_ok=True), key
    assert out["spark"]["rougeL/v1/unscored"] == 10
    assert out["multi_failure"] is None
    assert set(out["multi"]) == set(out["multi_pandas"])
    for key, expected in out["multi_pandas"].items():
        assert out["multi"][key] == pytest.approx(expected, abs=1e-9, rel=0, nan_ok=True), key
