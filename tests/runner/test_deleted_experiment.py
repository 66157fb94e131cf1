"""A deleted experiment is never restored behind the user's back (issue 17, part 8): the runner
stops with an error naming the experiment and how to restore it, and leaves it deleted."""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow import MlflowClient

from mlflow_llm_eval.runner import tracking
from mlflow_llm_eval.runner.multi import evaluate_models


def test_a_deleted_experiment_is_a_clear_error(mlflow_store, tmp_path) -> None:
    client = MlflowClient()
    name = f"deleted-{tmp_path.name}"
    experiment_id = client.create_experiment(name, artifact_location=(tmp_path / "a").as_uri())
    client.delete_experiment(experiment_id)
    config = {
        "experiment": name,
        "dataset": {"inputs": "question", "targets": "answer"},
        "models": [{"name": "echo", "python": lambda frame: list(frame["question"])}],
        "metrics": ["exact_match"],
    }
    data = pd.DataFrame({"question": ["q"], "answer": ["a"]})
    with pytest.raises(tracking.DeletedExperimentError) as info:
        evaluate_models(config, data=data, base_dir=tmp_path)
    message = str(info.value)
    assert f"experiment '{name}' (id {experiment_id}) is deleted" in message
    assert f"mlflow experiments restore --experiment-id {experiment_id}" in message
    assert f'MlflowClient().restore_experiment("{experiment_id}")' in message
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"  # left as it was
    assert client.search_runs([experiment_id], run_view_type=3) == []  # 3: all runs


def test_an_active_experiment_is_found_and_a_new_one_created(mlflow_store, tmp_path) -> None:
    name = f"fresh-{tmp_path.name}"
    created = tracking.experiment_id(name)
    assert tracking.experiment_id(name) == created
    assert MlflowClient().get_experiment(created).lifecycle_stage == "active"
