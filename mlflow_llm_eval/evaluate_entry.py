"""``le.evaluate``: one call for a pandas frame (the ``llm_eval`` evaluator through
``mlflow.evaluate``) and for a Spark DataFrame (scored in full on the cluster).

    >>> import mlflow_llm_eval as le
    >>> callable(le.evaluate)
    True

With a Spark DataFrame every row is scored on the executors (``mapInPandas``), the full
per-row table is written to ``results_table`` (a table name or a path), a sample of
``sample_rows`` rows is logged as ``eval_results_table.json`` and the aggregates, computed with
Spark SQL, are logged under the same names as the pandas path. ``model``: a logged pyfunc model
URI (run through ``mlflow.pyfunc.spark_udf``), an endpoint URI (``openai:/<model>``,
``endpoints:/<name>``) or a callable (run inside the partitions). ``answers_dir``: shared storage
for judge answers (resume and task retries; see
:mod:`mlflow_llm_eval.spark_adapter.answers`). ``judge_partitions``: tasks of the judge stage
(default: the session's parallelism), among which each judge's limits are split.
"""

from __future__ import annotations

import os
from typing import Any


def evaluate(
    data: Any,
    *,
    model: Any = None,
    targets: str | None = None,
    predictions: str | None = None,
    model_type: str | None = None,
    extra_metrics: list[Any] | None = None,
    evaluator_config: dict[str, Any] | None = None,
    results_table: str | None = None,
    results_format: str | None = None,
    sample_rows: int = 10_000,
    answers_dir: str | os.PathLike[str] | None = None,
    judge_partitions: int | None = None,
    credentials: Any = None,
    ship_credentials: bool = False,
) -> Any:
    """Evaluate ``data`` (pandas or Spark) and return an MLflow ``EvaluationResult``.

    On Spark, ``credentials`` (a callable run on each executor, returning e.g.
    ``{"OPENAI_API_KEY": ...}``) or the executors' environment provide the endpoint keys;
    ``ship_credentials=True`` sends the driver's instead (opt-in, warned). A run this call
    started ends FAILED (tag ``llm_eval.failure``) if the evaluation raises."""
    import mlflow
    from mlflow.models.evaluation import EvaluationResult
    from mlflow.models.evaluation.artifacts import JsonEvaluationArtifact

    from mlflow_llm_eval.mlflow_adapter.adapt import metrics_and_preset
    from mlflow_llm_eval.spark_adapter.evaluate import is_spark_dataframe

    if not isinstance(sample_rows, int) or sample_rows < 0:
        raise ValueError(f"sample_rows must be a non-negative int, got {sample_rows!r}")
    if not is_spark_dataframe(data):
        if credentials is not None or ship_credentials:
            raise ValueError(
                "credentials= and ship_credentials= are for Spark DataFrames (they "
                "say how executors get endpoint keys); a pandas frame is scored "
                "here, with this process's environment"
            )
        return _evaluate_pandas(
            data,
            model=model,
            targets=targets,
            predictions=predictions,
            model_type=model_type,
            extra_metrics=extra_metrics,
            evaluator_config=evaluator_config,
            results_table=results_table,
        )
    from mlflow_llm_eval.mlflow_adapter.logging import TABLE_NAME
    from mlflow_llm_eval.spark_adapter.evaluate import evaluate_spark, refuse_overwriting_the_source

    if results_table is not None:  # before describing the data for the run (that may run a job)
        refuse_overwriting_the_source(data, results_table)

    metrics, preset_keys = metrics_and_preset(model_type, extra_metrics, evaluator_config)
    active = mlflow.active_run()
    run = active or mlflow.start_run()
    try:
        dataset = _spark_dataset(data, targets)
        outcome = evaluate_spark(
            data,
            metrics,
            run_id=run.info.run_id,
            targets=targets,
            predictions=predictions,
            model=model,
            evaluator_config=evaluator_config,
            model_type=model_type,
            preset_keys=preset_keys,
            results_table=results_table,
            results_format=results_format,
            sample_rows=sample_rows,
            answers_dir=answers_dir,
            judge_partitions=judge_partitions,
            dataset=dataset,
            credentials=credentials,
            ship_credentials=ship_credentials,
        )
    except BaseException as exc:
        _record_failure(run.info.run_id, exc, end=active is None)
        raise
    if active is None:
        mlflow.end_run()
    return EvaluationResult(
        metrics=dict(outcome.metrics),
        artifacts={TABLE_NAME: JsonEvaluationArtifact(uri=outcome.table_uri)},
        run_id=run.info.run_id,
    )


def _spark_dataset(data: Any, targets: str | None) -> Any:
    """The run's evaluation input, as ``mlflow.evaluate`` logs one (``mlflow.data.from_spark``:
    the plan's semantic hash, no Spark job); its name and digest link the logged metrics. None
    when MLflow cannot describe this DataFrame."""
    import mlflow

    try:
        dataset = mlflow.data.from_spark(data, targets=targets, name="dataset")
        mlflow.log_input(dataset, context="evaluation")
        return dataset
    except Exception:  # noqa: BLE001 - a description, never a reason to fail the evaluation
        return None


def _evaluate_pandas(
    data: Any,
    *,
    model: Any,
    targets: str | None,
    predictions: str | None,
    model_type: str | None,
    extra_metrics: list[Any] | None,
    evaluator_config: dict[str, Any] | None,
    results_table: str | None,
) -> Any:
    """The classic path: ``mlflow.evaluate(..., evaluators="llm_eval")``; with
    ``results_table`` (a path) the full table is also written there as Parquet."""
    import mlflow

    from mlflow_llm_eval.chat.schemes import is_endpoint_uri
    from mlflow_llm_eval.mlflow_adapter.locations import LOCATION_TAG, is_path

    if results_table is not None and not is_path(results_table):
        raise ValueError(
            f"results_table={results_table!r} is a table name, which needs a Spark "
            "DataFrame; with a pandas frame pass a Parquet path"
        )
    if is_endpoint_uri(model):
        from mlflow_llm_eval.judge.endpoint_model import EndpointModel

        model = EndpointModel.from_uri(model)
    result = mlflow.evaluate(
        model=model,
        data=data,
        targets=targets,
        predictions=predictions,
        model_type=model_type,
        extra_metrics=extra_metrics,
        evaluators="llm_eval",
        evaluator_config=evaluator_config,
    )
    if results_table is not None:
        from mlflow_llm_eval.mlflow_adapter.logging import TABLE_NAME, loggable_table

        from mlflow_llm_eval.core.evaluator_config import EvaluatorConfig
        from mlflow_llm_eval.mlflow_adapter.evaluator import resolve_metrics

        path = os.path.expanduser(results_table)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        table = loggable_table(result.tables[TABLE_NAME])
        metrics = resolve_metrics(model_type, extra_metrics, evaluator_config)
        prefix = EvaluatorConfig.from_dict(evaluator_config, metrics).metric_prefix
        for metric in metrics:
            # the logged JSON reads back ints as floats when a row is unscored, and whole
            # floats as ints: the scores' own types again, as the Spark path writes them
            column = prefix + metric.score_column
            if column in table.columns and metric.integer_scores:
                table[column] = table[column].astype("Float64").round().astype("Int64")
            elif column in table.columns:
                table[column] = table[column].astype(float)
        table.to_parquet(path, index=False)
        # EvaluationResult.run_id is newer than MLflow 3.0: the run mlflow.evaluate used is the
        # active one, or the one it started and ended (the last active run)
        run = mlflow.active_run() or mlflow.last_active_run()
        run_id = getattr(result, "run_id", None) or (run.info.run_id if run else None)
        mlflow.MlflowClient().set_tag(run_id, LOCATION_TAG, results_table)
    return result


def _record_failure(run_id: str, exc: BaseException, *, end: bool) -> None:
    """Tag the run with the (redacted) error; end it FAILED (KILLED on Ctrl-C) if ``end``: a
    run this call started. A run the caller started is theirs to end (``with
    mlflow.start_run()`` ends it FAILED as the error passes)."""
    import contextlib

    import mlflow

    from mlflow_llm_eval.redaction import redact

    with contextlib.suppress(Exception):  # the evaluation's error is the one to raise
        reason = redact(f"{type(exc).__name__}: {exc}")
        mlflow.MlflowClient().set_tag(
            run_id, "llm_eval.failure", reason[:4985]
        )  # MLflow's tag limit
    if end:
        mlflow.end_run("KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
