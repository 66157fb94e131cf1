"""The multi-model runner links a logged model's metrics to the model and the dataset, as
``mlflow.evaluate`` does: two configs on two datasets are told apart on the model's page."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from mlflow_llm_eval.runner import evaluate_models

pytestmark = pytest.mark.skipif(
    not hasattr(mlflow, "get_logged_model"), reason="LoggedModel linkage needs MLflow 3"
)


class Upper(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: pd.DataFrame, params=None) -> list[str]:
        return [str(q).upper() for q in model_input["question"]]


def test_each_configs_metrics_reach_the_model_with_their_dataset(
    mlflow_store, tmp_path: Path
) -> None:
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model", python_model=Upper(), input_example=pd.DataFrame({"question": ["a"]})
        )
    runs = {}
    for name, rows in (
        ("easy", [("a", "A"), ("b", "B")]),
        ("hard", [("c", "C"), ("d", "x"), ("e", "y")]),
    ):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in rows))
        result = evaluate_models(
            {
                "experiment": mlflow_store.name,
                "report": {"enabled": False},
                "dataset": {"path": str(path), "inputs": "question", "targets": "answer"},
                "models": [{"name": "upper", "uri": info.model_uri}],
                "metrics": ["exact_match"],
            }
        )
        outcome = result.outcome("upper")
        assert outcome.ok, outcome.failure
        runs[name] = outcome
    linked = mlflow.get_logged_model(info.model_id).metrics
    for name, mean in (("easy", 1.0), ("hard", 1 / 3)):
        run_id = runs[name].run_id
        [given] = [d.dataset for d in MlflowClient().get_run(run_id).inputs.dataset_inputs]
        assert given.name == name
        mine = [m for m in linked if m.run_id == run_id]
        assert {m.key for m in mine} == set(runs[name].metrics)
        assert {(m.dataset_name, m.dataset_digest, m.model_id) for m in mine} == {
            (given.name, given.digest, info.model_id)
        }
        assert [m.value for m in mine if m.key == "exact_match/v1/mean"] == pytest.approx([mean])
