"""Shared pieces of the compatibility suite: MLflow's own test models, logged once, and a
tiny local toxicity model (MLflow's default one is a Hub download, unreachable offline)."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

from support.tiny_models import tiny_classifier_dir  # noqa: F401 - fixture

#: Columns our table adds per metric (MLflow's has none): `<key>/status`, `<key>/reason`.
OUR_ROW_COLUMNS = ("/status", "/reason")


def mlflow_columns(table: pd.DataFrame) -> set[str]:
    """The table's columns without our per-row status/reason columns (see docs/differences.md)."""
    return {c for c in table.columns if not c.endswith(OUR_ROW_COLUMNS)}


def logged_table(results) -> pd.DataFrame:
    """What MLflow's tests read: the logged eval_results_table.json, through the artifact."""
    return pd.DataFrame(**results.artifacts["eval_results_table"].content)


def language_model(inputs: list[str]) -> list[str]:
    """MLflow's test model: returns its inputs."""
    return inputs


@pytest.fixture(scope="session")
def language_model_uri(sqlite_tracking_uri: str) -> str:
    """MLflow's `language_model`, logged as a pyfunc model once per session."""
    mlflow.set_tracking_uri(sqlite_tracking_uri)
    mlflow.set_experiment("compat-models")
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model", python_model=language_model, input_example=["a", "b"]
        )
    return info.model_uri


@pytest.fixture()
def toxicity(tiny_classifier_dir):  # noqa: F811 - the fixture above
    """Our toxicity on a tiny local model; an extra metric with the preset's key replaces it."""
    import mlflow_llm_eval as le

    return le.toxicity(model=str(tiny_classifier_dir))
