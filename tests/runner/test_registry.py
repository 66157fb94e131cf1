"""Registering the winner: a logged pyfunc model gets a registry version; other kinds say why not."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from mlflow_llm_eval.runner import evaluate_models

ROWS = [
    {"question": "capital of France?", "answer": "Paris"},
    {"question": "2+2?", "answer": "4"},
    {"question": "red planet?", "answer": "Mars"},
]
ANSWERS = {r["question"]: r["answer"] for r in ROWS}


class LookupModel(mlflow.pyfunc.PythonModel):
    """A logged model that knows every answer."""

    def predict(self, context, model_input: pd.DataFrame, params=None) -> list[str]:
        return [ANSWERS.get(q, "?") for q in model_input["question"]]


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    (tmp_path / "weak.jsonl").write_text(
        "".join(json.dumps({"predictions": "no idea"}) + "\n" for _ in ROWS)
    )
    return tmp_path


def config(folder: Path, model_uri: str, register_name: str, experiment: str) -> dict:
    return {
        "experiment": experiment,
        "dataset": {"path": str(folder / "qa.jsonl"), "inputs": "question", "targets": "answer"},
        "models": [
            {"name": "weak", "predictions": str(folder / "weak.jsonl")},
            {"name": "logged", "uri": model_uri},
        ],
        "metrics": ["exact_match"],
        "select": {"maximize": "exact_match/v1/mean"},
        "register": {"name": register_name, "alias": "champion", "tags": {"team": "qa"}},
        "report": {"enabled": False},
    }


def test_the_winning_logged_model_is_registered(mlflow_store, folder: Path) -> None:
    with mlflow.start_run() as run:
        mlflow.pyfunc.log_model(name="model", python_model=LookupModel())
    name = f"qa-best-{folder.name}"
    result = evaluate_models(
        config(folder, f"runs:/{run.info.run_id}/model", name, mlflow_store.name)
    )
    assert result.selection.winner == "logged"
    assert result.outcome("logged").metrics["exact_match/v1/mean"] == 1.0
    registration = result.registration
    assert registration is not None and registration.version == "1" and not registration.failed
    client = MlflowClient()
    version = client.get_model_version_by_alias(name, "champion")
    assert str(version.version) == "1"
    assert version.run_id == run.info.run_id
    assert version.tags["team"] == "qa"
    assert version.tags["llm_eval.parent_run_id"] == result.parent_run_id
    assert (
        client.get_run(result.parent_run_id).data.tags["llm_eval.registered_model"] == f"{name}/1"
    )
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert loaded.predict(pd.DataFrame({"question": ["red planet?"]})) == ["Mars"]


def test_a_winner_that_is_not_a_logged_model_says_it_cannot_be_registered(
    mlflow_store, folder
) -> None:
    name = f"qa-none-{folder.name}"
    # another experiment than the notebook's active one (set by the fixture): still works, and
    # the active experiment is the user's again afterwards
    cfg = config(folder, "runs:/0123456789abcdef/model", name, f"other-{folder.name}")
    result = evaluate_models(cfg)
    assert mlflow.tracking.fluent._get_experiment_id() == mlflow_store.experiment_id
    assert MlflowClient().get_experiment(result.experiment_id).name == f"other-{folder.name}"
    assert [o.name for o in result.failed] == ["logged"]
    assert result.selection.winner == "weak"
    assert result.registration.version is None and not result.registration.failed
    assert "is a predictions model" in result.registration.note
    tags = MlflowClient().get_run(result.parent_run_id).data.tags
    assert "only logged MLflow models" in tags["llm_eval.registration"]
    assert MlflowClient().search_registered_models(f"name = '{name}'") == []
