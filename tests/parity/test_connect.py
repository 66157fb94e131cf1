"""The parity case through Spark Connect (``SparkSession.builder.remote("local[2]")``): a
``make_metric`` metric with an ``evaluator_config`` parameter, a derived metric, ``metric_prefix``
and ``human_labels`` give the classic door's rows, statuses and aggregates; a bad config gives
its error. Its own process: one process cannot hold a classic and a Connect session."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.spark_connect import run_connect_script

SCRIPT = r"""
import json, sys
import mlflow, pandas as pd
from mlflow.metrics import MetricValue, make_metric
import mlflow_llm_eval as le
from mlflow_llm_eval.spark_adapter import local_session

def word_gap(predictions, targets, min_words):
    return MetricValue(scores=[None if not isinstance(p, str) else
                               float(max(min_words, abs(len(p.split()) - len(str(t).split()))))
                               for p, t in zip(predictions, targets)])

def em_or_rouge(predictions, metrics, rougeL):
    exact = metrics["exact_match/v1"].scores
    return MetricValue(scores=[max(e, r) if r == r else e for e, r in zip(exact, rougeL.scores)])

mlflow.set_tracking_uri(sys.argv[1]); mlflow.set_experiment("parity-connect")
spark = local_session("local[2]", connect=True)
assert type(spark).__module__.startswith("pyspark.sql.connect")
words = "the cat sat on a mat and the dog ran far away".split()
frame = pd.DataFrame({"id": list(range(40)),
                      "human": [i % 2 for i in range(40)],
                      "answer": [" ".join(words[i % 5:i % 5 + 4]) for i in range(40)],
                      "prediction": [" ".join(words[i % 7:i % 7 + 5]) if i % 9 else None
                                     for i in range(40)]})
metrics = lambda: [le.exact_match(), le.rougeL(), le.token_count(),
                   make_metric(eval_fn=word_gap, greater_is_better=False, name="word_gap"),
                   make_metric(eval_fn=em_or_rouge, greater_is_better=True, name="em_or_rouge")]
config = {"metric_prefix": "c_", "min_words": 1, "human_labels": {"exact_match": "human"}}
out = {}
for door, data in (("pandas", frame), ("spark", spark.createDataFrame(frame).repartition(3))):
    result = le.evaluate(data=data, targets="answer", predictions="prediction",
                         extra_metrics=metrics(), evaluator_config=config,
                         **({"results_table": sys.argv[2]} if door == "spark" else {}))
    table = pd.DataFrame(**result.artifacts["eval_results_table"].content).sort_values("id")
    out[door] = {"metrics": result.metrics, "columns": list(table.columns),
                 "dtypes": [str(t) for t in table.dtypes],
                 "rows": json.loads(table.to_json(orient="split", index=False))["data"]}
    try:
        le.evaluate(data=data, targets="answer", predictions="prediction",
                    extra_metrics=metrics(), evaluator_config={"nope": 1})
    except ValueError as exc:
        out[door]["error"] = str(exc)
print(json.dumps(out))
"""


def test_spark_connect_matches_the_classic_door(tmp_path: Path, sqlite_tracking_uri: str) -> None:
    out = run_connect_script(SCRIPT, sqlite_tracking_uri, str(tmp_path / "t"), cwd=tmp_path)
    spark, classic = out["spark"], out["pandas"]
    assert "unknown llm_eval evaluator_config key(s) ['nope']" in classic["error"]
    assert spark["error"] == classic["error"]
    assert spark["columns"] == classic["columns"] and spark["dtypes"] == classic["dtypes"]
    assert "c_em_or_rouge/score" in classic["columns"] and "c_word_gap/status" in classic["columns"]
    assert spark["rows"] == classic["rows"]
    assert set(spark["metrics"]) == set(classic["metrics"])
    assert "c_exact_match/v1/human_kappa" in classic["metrics"]
    for key, expected in classic["metrics"].items():
        assert spark["metrics"][key] == pytest.approx(expected, abs=1e-9, rel=1e-9, nan_ok=True), (
            key
        )
