"""A logged pyfunc model as the model under test: run by mlflow.pyfunc.spark_udf on Spark, the
same predictions and aggregates as the pandas path calling the same model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import mlflow_llm_eval as le

pytestmark = pytest.mark.usefixtures("mlflow_store")


def test_a_logged_pyfunc_model_runs_through_spark_udf(spark, tmp_path: Path) -> None:
    import mlflow
    from mlflow.pyfunc import PythonModel

    class Echo(PythonModel):
        def predict(self, context, model_input, params=None):
            return [f"answer: {q.split()[-1]}" for q in model_input["inputs"]]

    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="echo", python_model=Echo(), input_example=pd.DataFrame({"inputs": ["what is x"]})
        )
    frame = pd.DataFrame(
        {
            "inputs": [f"what is w{i % 4}" for i in range(30)],
            "answer": [f"answer: w{i % 3}" for i in range(30)],
        }
    )
    sdf = spark.createDataFrame(frame).repartition(2)
    result = le.evaluate(
        data=sdf,
        model=info.model_uri,
        targets="answer",
        extra_metrics=[le.exact_match(), le.rougeL()],
        results_table=str(tmp_path / "p"),
    )
    expected = le.evaluate(
        data=frame,
        model=info.model_uri,
        targets="answer",
        extra_metrics=[le.exact_match(), le.rougeL()],
    )
    written = pd.read_parquet(tmp_path / "p").sort_values("inputs", kind="stable")
    assert sorted(written["outputs"]) == sorted(f"answer: w{i % 4}" for i in range(30))
    for key in ("exact_match/v1/mean", "rougeL/v1/mean", "rougeL/v1/p90", "exact_match/v1/count"):
        assert result.metrics[key] == pytest.approx(expected.metrics[key], abs=1e-9), key
    assert 0 < result.metrics["exact_match/v1/mean"] < 1
    # both doors link their metrics to the LoggedModel and to the dataset of their own run
    linked = mlflow.get_logged_model(info.model_id).metrics or []
    for run_id in (result.run_id, expected.run_id):
        [given] = [d.dataset for d in mlflow.MlflowClient().get_run(run_id).inputs.dataset_inputs]
        mine = [m for m in linked if m.run_id == run_id]
        assert {m.key for m in mine} == set(result.metrics)
        assert {(m.dataset_name, m.dataset_digest, m.model_id) for m in mine} == {
            (given.name, given.digest, info.model_id)
        }
