"""Every MLflow call of the multi-model runner, in one place (MLflow is imported lazily).

Runs are created with ``MlflowClient`` and addressed by id (the parent, then one child per model
tagged with ``mlflow.parentRunId``); nothing relies on MLflow's process-wide "active run" or
"active experiment", so models can be evaluated from several threads. Each evaluation is done
by the ``llm_eval`` evaluator plugin, which logs the table and aggregates exactly as under
``mlflow.evaluate`` (see :func:`evaluate` for why it is called directly).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlflow_llm_eval.redaction import redact

TAG_PREFIX = "llm_eval."
TABLE_NAME = "eval_results_table"
MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value
MAX_TAG_LENGTH = 5000


def _clip(value: Any, limit: int) -> str:
    """A param/tag value: redacted (:func:`mlflow_llm_eval.redaction.redact`), then clipped.

    >>> _clip("HTTP 401 for key sk-proj-abcdefghijklmnop0123 " + "x" * 40, 50)
    'HTTP 401 for key [REDACTED] xxxxxxx...[truncated]'
    """
    text = redact(str(value))
    return text if len(text) <= limit else text[: limit - 15] + "...[truncated]"


class DeletedExperimentError(ValueError):
    """The experiment a run should go to is deleted (in MLflow's trash).

    >>> print(DeletedExperimentError("qa-eval", "7"))
    experiment 'qa-eval' (id 7) is deleted; restore it with `mlflow experiments restore --experiment-id 7` or `MlflowClient().restore_experiment("7")`, or choose another experiment name (deleting it for good: `mlflow gc --experiment-ids 7`)
    """

    def __init__(self, name: str, experiment_id: str) -> None:
        self.name, self.experiment_id = name, experiment_id
        super().__init__(
            f"experiment '{name}' (id {experiment_id}) is deleted; restore it with "
            f"`mlflow experiments restore --experiment-id {experiment_id}` or "
            f'`MlflowClient().restore_experiment("{experiment_id}")`, or choose another '
            f"experiment name (deleting it for good: `mlflow gc --experiment-ids {experiment_id}`)"
        )


def default_tracking_uri() -> str:
    """Set (and return) ``sqlite:///mlflow.db`` in the current directory unless a URI is set."""
    import mlflow

    if not os.environ.get("MLFLOW_TRACKING_URI"):
        mlflow.set_tracking_uri(f"sqlite:///{os.path.abspath('mlflow.db')}")
    return mlflow.get_tracking_uri()


def experiment_id(name: str) -> str:
    """The id of the experiment ``name``, created if needed.

    A deleted experiment of that name is an error (never restored behind the user's back): it
    names the experiment and the two ways to restore it.
    """
    from mlflow import MlflowClient

    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            raise DeletedExperimentError(name, experiment.experiment_id)
        return experiment.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:  # created meanwhile by another process
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def create_run(
    experiment: str, run_name: str, tags: Mapping[str, str], parent_run_id: str | None = None
) -> str:
    from mlflow import MlflowClient

    all_tags = {k: _clip(v, MAX_TAG_LENGTH) for k, v in redact(dict(tags)).items()}
    if parent_run_id is not None:
        all_tags["mlflow.parentRunId"] = parent_run_id
    return MlflowClient().create_run(experiment, run_name=run_name, tags=all_tags).info.run_id


def log_params(run_id: str, params: Mapping[str, Any]) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Param

    safe = redact({k: v for k, v in params.items() if v is not None})
    entities = [Param(k, _clip(v, MAX_PARAM_LENGTH)) for k, v in safe.items()]
    for start in range(0, len(entities), 100):
        MlflowClient().log_batch(run_id, params=entities[start : start + 100])


def set_tags(run_id: str, tags: Mapping[str, Any]) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import RunTag

    safe = redact({k: v for k, v in tags.items() if v is not None})
    entities = [RunTag(k, _clip(v, MAX_TAG_LENGTH)) for k, v in safe.items()]
    if entities:
        MlflowClient().log_batch(run_id, tags=entities)


def log_metrics(run_id: str, metrics: Mapping[str, float]) -> None:
    from mlflow_llm_eval.mlflow_adapter.logging import log_metrics as log_run_metrics

    log_run_metrics(run_id, metrics)


def log_text(run_id: str, text: str, artifact_file: str) -> None:
    from mlflow import MlflowClient

    MlflowClient().log_text(run_id, text, artifact_file)


def log_dict(run_id: str, data: dict[str, Any], artifact_file: str) -> None:
    from mlflow import MlflowClient

    MlflowClient().log_dict(run_id, data, artifact_file)


def log_table(run_id: str, table: pd.DataFrame, artifact_file: str) -> None:
    """Log a table the package wrote (the comparison): every cell gets the broad redaction."""
    from mlflow import MlflowClient

    from mlflow_llm_eval.mlflow_adapter.logging import redacted_table

    MlflowClient().log_table(run_id, data=redacted_table(table)[0], artifact_file=artifact_file)


def end_run(run_id: str, status: str = "FINISHED") -> None:
    from mlflow import MlflowClient

    MlflowClient().set_terminated(run_id, status)


def fail_run(run_id: str, reason: str) -> None:
    """Mark the run FAILED with the reason in the ``llm_eval.failure`` tag."""
    set_tags(run_id, {f"{TAG_PREFIX}failure": reason})
    end_run(run_id, "FAILED")


def make_dataset(
    frame: pd.DataFrame,
    *,
    targets: str | None,
    predictions: str | None,
    name: str,
    source: str | None,
) -> Any:
    """An MLflow dataset (``mlflow.data.from_pandas``) for one model's evaluation."""
    import warnings

    import mlflow.data

    with warnings.catch_warnings():  # a local path matches two equivalent source types
        warnings.filterwarnings("ignore", message=".*can be interpreted in multiple ways.*")
        return mlflow.data.from_pandas(
            frame, source=source, targets=targets, predictions=predictions, name=name
        )


def log_datasets(run_id: str, datasets: list[Any]) -> None:
    """Log datasets as evaluation inputs of ``run_id`` (from one thread: see below).

    MLflow creates a dataset record on first use; two threads logging the same new dataset at
    once both try to insert it and one fails (a UNIQUE constraint in the store), so the runner
    logs every run's datasets before the workers start.
    """
    from mlflow import MlflowClient
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    unique = {(d.name, d.digest): d for d in datasets}
    inputs = [
        DatasetInput(d._to_mlflow_entity(), [InputTag(MLFLOW_DATASET_CONTEXT, "evaluation")])
        for d in unique.values()
    ]
    if inputs:
        MlflowClient().log_inputs(run_id, inputs)


def import_spark_modules_once() -> None:
    """Finish MLflow's lazy ``pyspark.ml`` imports in this thread, before worker threads start.

    When pyspark is installed MLflow imports it (``mlflow.types.schema``); then building an
    evaluation dataset imports ``pyspark.ml.linalg`` while ``mlflow.entities.Param`` reads
    ``pyspark.ml.param`` whenever ``pyspark.ml`` is in ``sys.modules``. Done by two threads at
    once, one sees the half-imported package and raises "cannot access submodule 'ml' of module
    'pyspark'" (seen here with pyspark 4.3 and MLflow 3.17).
    """
    import sys

    if "pyspark" in sys.modules:
        try:
            import pyspark.ml.linalg
            import pyspark.ml.param  # noqa: F401
        except Exception:  # noqa: BLE001 - a broken pyspark is MLflow's problem, not ours
            pass


@dataclass
class Evaluation:
    """What the evaluator logged for one model: its run metrics and per-row table (on Spark:
    no table, the logged sample and the full table's location)."""

    metrics: dict[str, float]
    table: pd.DataFrame | None
    sample: pd.DataFrame | None = None
    location: str | None = None


class _FunctionModel:
    """A callable (DataFrame in, one answer per row out) with the ``predict`` of a pyfunc model."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def predict(self, model_input: pd.DataFrame) -> Any:
        return self.fn(model_input)


def evaluate(
    run_id: str,
    *,
    data: Any,
    model: Any = None,
    predictions: str | None = None,
    extra_metrics: list[Any],
    evaluator_config: Mapping[str, Any],
) -> Evaluation:
    """Run the ``llm_eval`` evaluator on ``run_id``: what ``mlflow.evaluate`` does, thread-safe.

    ``mlflow.evaluate`` is not safe to call from several threads at once: around every
    evaluation it re-configures autologging for the whole process (post-import hooks, patches
    it reverts afterwards), and two concurrent calls deadlock on MLflow's import-hook lock against
    Python's import locks (seen here with the openai client imported). So the evaluator plugin
    is called directly, with the evaluation dataset MLflow itself would build
    (``PandasDataset.to_evaluation_dataset``); it logs the table and the aggregates to
    ``run_id`` exactly as under ``mlflow.evaluate``. ``model`` is a model URI (loaded here with
    ``mlflow.pyfunc.load_model``), a callable, or ``None`` for predictions held by ``data``.
    """
    import mlflow.pyfunc
    from mlflow import MlflowClient

    from mlflow_llm_eval.mlflow_adapter.evaluator import LLMEvaluator
    from mlflow_llm_eval.mlflow_adapter.linkage import model_id_of

    if isinstance(model, str):
        model = mlflow.pyfunc.load_model(model)
    elif model is not None and not hasattr(model, "predict"):
        model = _FunctionModel(model)
    result = LLMEvaluator().evaluate(
        model_type=None,
        dataset=data.to_evaluation_dataset(),
        run_id=run_id,
        evaluator_config=dict(evaluator_config),
        model=model,
        extra_metrics=extra_metrics,
        predictions=predictions,
        model_id=model_id_of(model),
    )  # as mlflow.evaluate passes it
    table = None
    artifact = (result.artifacts or {}).get(TABLE_NAME)
    if artifact is not None:
        client = MlflowClient()
        experiment = client.get_run(run_id).info.experiment_id
        file_name = os.path.basename(urllib.parse.urlparse(artifact.uri).path)
        table = client.load_table(experiment, file_name, run_ids=[run_id])
    return Evaluation(dict(result.metrics), table)


@dataclass
class RegisteredVersion:
    name: str
    version: str
    source: str


def register(
    model_uri: str, name: str, *, alias: str | None = None, tags: Mapping[str, str] | None = None
) -> RegisteredVersion:
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
