"""Every MLflow call of the multi-model runner, in one place (MLflow is imported lazily).

Runs are created with ``MlflowClient`` (the parent, then one child per model tagged with
``mlflow.parentRunId``); each model's evaluation makes its child run active *in its own worker
thread* (MLflow keeps the active run per thread) and calls ``mlflow.evaluate(...,
evaluators="llm_eval")``, so the table and aggregates are logged by the plugin exactly as in a
single evaluation.
"""

from __future__ import annotations

import os
import re
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

TAG_PREFIX = "llm_eval."
TABLE_NAME = "eval_results_table"
MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value
MAX_TAG_LENGTH = 5000
#: Names of environment variables whose values are secrets (redacted from reasons and tags).
_SECRET_ENV = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)


def redact(text: str) -> str:
    """Replace any secret environment value (API keys, tokens) found in ``text`` by ``***``.

    >>> os.environ["MY_TEST_API_KEY"] = "abc123-secret-value"
    >>> redact("auth failed for key abc123-secret-value")
    'auth failed for key ***'
    >>> del os.environ["MY_TEST_API_KEY"]
    """
    for name, value in os.environ.items():
        if value and len(value) >= 8 and _SECRET_ENV.search(name) and value in text:
            text = text.replace(value, "***")
    return text


def _clip(value: Any, limit: int) -> str:
    text = redact(str(value))
    return text if len(text) <= limit else text[: limit - 15] + "...[truncated]"


def default_tracking_uri() -> str:
    """Set (and return) ``sqlite:///mlflow.db`` in the current directory unless a URI is set."""
    import mlflow

    if not os.environ.get("MLFLOW_TRACKING_URI"):
        mlflow.set_tracking_uri(f"sqlite:///{os.path.abspath('mlflow.db')}")
    return mlflow.get_tracking_uri()


def experiment_id(name: str) -> str:
    """The id of the experiment ``name``, created if needed."""
    from mlflow import MlflowClient

    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment.experiment_id)
        return experiment.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:  # noqa: BLE001 - created meanwhile by another process
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def create_run(experiment: str, run_name: str, tags: Mapping[str, str],
               parent_run_id: str | None = None) -> str:
    from mlflow import MlflowClient

    all_tags = {k: _clip(v, MAX_TAG_LENGTH) for k, v in tags.items()}
    if parent_run_id is not None:
        all_tags["mlflow.parentRunId"] = parent_run_id
    return MlflowClient().create_run(experiment, run_name=run_name, tags=all_tags).info.run_id


def log_params(run_id: str, params: Mapping[str, Any]) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Param

    entities = [Param(k, _clip(v, MAX_PARAM_LENGTH)) for k, v in params.items() if v is not None]
    for start in range(0, len(entities), 100):
        MlflowClient().log_batch(run_id, params=entities[start : start + 100])


def set_tags(run_id: str, tags: Mapping[str, Any]) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import RunTag

    entities = [RunTag(k, _clip(v, MAX_TAG_LENGTH)) for k, v in tags.items() if v is not None]
    if entities:
        MlflowClient().log_batch(run_id, tags=entities)


def log_metrics(run_id: str, metrics: Mapping[str, float]) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    entities = [Metric(k, float(v), now, 0) for k, v in metrics.items()]
    for start in range(0, len(entities), 1000):
        MlflowClient().log_batch(run_id, metrics=entities[start : start + 1000])


def log_text(run_id: str, text: str, artifact_file: str) -> None:
    from mlflow import MlflowClient

    MlflowClient().log_text(run_id, text, artifact_file)


def log_table(run_id: str, table: pd.DataFrame, artifact_file: str) -> None:
    from mlflow import MlflowClient

    MlflowClient().log_table(run_id, data=table, artifact_file=artifact_file)


def end_run(run_id: str, status: str = "FINISHED") -> None:
    from mlflow import MlflowClient

    MlflowClient().set_terminated(run_id, status)


def fail_run(run_id: str, reason: str) -> None:
    """Mark the run FAILED with the reason in the ``llm_eval.failure`` tag."""
    set_tags(run_id, {f"{TAG_PREFIX}failure": reason})
    end_run(run_id, "FAILED")


def make_dataset(frame: pd.DataFrame, *, targets: str | None, predictions: str | None,
                 name: str, source: str | None) -> Any:
    """An MLflow dataset (``mlflow.data.from_pandas``) for one model's evaluation."""
    import warnings

    import mlflow.data

    with warnings.catch_warnings():  # a local path matches two equivalent source types
        warnings.filterwarnings("ignore", message=".*can be interpreted in multiple ways.*")
        return mlflow.data.from_pandas(frame, source=source, targets=targets,
                                       predictions=predictions, name=name)


def log_datasets(run_id: str, datasets: list[Any]) -> None:
    """Log datasets as inputs of ``run_id`` (done once on the parent, before the workers start).

    MLflow creates a dataset record on first use; two threads logging the same new dataset at
    once both try to insert it and one fails (a UNIQUE constraint in the store). Logging each
    distinct dataset here first makes the child runs' ``mlflow.evaluate`` find it existing.
    """
    from mlflow import MlflowClient
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    unique = {(d.name, d.digest): d for d in datasets}
    inputs = [DatasetInput(d._to_mlflow_entity(), [InputTag(MLFLOW_DATASET_CONTEXT, "evaluation")])
              for d in unique.values()]
    if inputs:
        MlflowClient().log_inputs(run_id, inputs)


@dataclass
class Evaluation:
    """What ``mlflow.evaluate`` returned for one model."""

    metrics: dict[str, float]
    table: pd.DataFrame | None


@contextmanager
def experiment_in_use(experiment_id: str) -> Iterator[None]:
    """Make ``experiment_id`` the active experiment for a while, then put the user's back.

    ``mlflow.start_run(run_id=...)`` refuses a run of another experiment than the one chosen
    with ``mlflow.set_experiment`` (a process-wide setting, also in ``MLFLOW_EXPERIMENT_ID``);
    a notebook that set its own experiment would see every child run refused.
    """
    import mlflow

    previous = os.environ.get("MLFLOW_EXPERIMENT_ID")
    if not previous or previous == experiment_id:
        yield
        return
    mlflow.set_experiment(experiment_id=experiment_id)
    try:
        yield
    finally:
        mlflow.set_experiment(experiment_id=previous)


def active_run(run_id: str) -> Any:
    """Context manager: ``run_id`` is the active run of *this thread*; ends FINISHED or FAILED."""
    import mlflow

    return mlflow.start_run(run_id=run_id)


def evaluate(**evaluate_kwargs: Any) -> Evaluation:
    """``mlflow.evaluate(..., evaluators="llm_eval")`` in the active run of this thread.

    The table is read with the run's own experiment id: ``EvaluationResult.tables`` looks in
    the *globally* active experiment and finds nothing when the run lives in another one.
    """
    import mlflow
    from mlflow import MlflowClient

    result = mlflow.evaluate(evaluators="llm_eval", **evaluate_kwargs)
    table = None
    artifact = (result.artifacts or {}).get(TABLE_NAME)
    if artifact is not None and result.run_id is not None:
        client = MlflowClient()
        experiment = client.get_run(result.run_id).info.experiment_id
        file_name = os.path.basename(urllib.parse.urlparse(artifact.uri).path)
        table = client.load_table(experiment, file_name, run_ids=[result.run_id])
    return Evaluation(dict(result.metrics), table)


@dataclass
class RegisteredVersion:
    name: str
    version: str
    source: str


def register(model_uri: str, name: str, *, alias: str | None = None,
             tags: Mapping[str, str] | None = None) -> RegisteredVersion:
    """Register ``model_uri`` as a new version of ``name`` (and point ``alias`` at it)."""
    import mlflow
    from mlflow import MlflowClient

    version = mlflow.register_model(model_uri, name, tags=dict(tags or {}))
    if alias:
        MlflowClient().set_registered_model_alias(name, alias, version.version)
    return RegisteredVersion(name, str(version.version), model_uri)


def tracking_uri() -> str:
    import mlflow

    return mlflow.get_tracking_uri()


def artifact_uri(run_id: str, artifact_file: str) -> str:
    from mlflow import MlflowClient

    return f"{MlflowClient().get_run(run_id).info.artifact_uri.rstrip('/')}/{artifact_file}"
