"""Evaluate a Spark DataFrame in full: plan on the driver, score on the executors, aggregate
with Spark SQL, log from the driver (see the package docstring).

Before any job: every metric's columns are resolved (a missing one raises
:class:`~mlflow_llm_eval.core.engine.MissingColumnError` naming it), budgets are split and the
plan is pickled. Then one job scores and writes the full results table, one job computes the
summaries, one small job reads the batch stats and one collects the logged sample.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlflow_llm_eval.chat.schemes import is_endpoint_uri
from mlflow_llm_eval.core.evaluator_config import EvaluatorConfig
from mlflow_llm_eval.core.model_failures import failure_columns, reason_column, status_column
from mlflow_llm_eval.core.plan import (
    LONG,
    EvaluationPlan,
    Step,
    build_plan,
    logical_defaults,
    outputs_column,
    text_input_column,
)
from mlflow_llm_eval.core.types import Metric
from mlflow_llm_eval.mlflow_adapter.linkage import MetricLink, model_id_of
from mlflow_llm_eval.spark_adapter import results as results_io
from mlflow_llm_eval.spark_adapter.aggregate import run_aggregates
from mlflow_llm_eval.spark_adapter.languages import language_setup, log_spark_languages
from mlflow_llm_eval.spark_adapter.overwrite import refuse_overwriting_the_source
from mlflow_llm_eval.spark_adapter.partition import STATS_COLUMN, PartitionPlan
from mlflow_llm_eval.spark_adapter.session import concurrent_tasks, endpoint_env
from mlflow_llm_eval.spark_adapter.ship import ceiling, dumps, request_options_of, split_budget

DEFAULT_JUDGE_PARTITIONS = 8


def is_spark_dataframe(data: Any) -> bool:
    """A classic or Spark Connect DataFrame (checked without importing pyspark)."""
    return type(data).__name__ == "DataFrame" and type(data).__module__.startswith("pyspark.sql")


@dataclass
class SparkEvaluation:
    metrics: dict[str, float]
    sample: Any  # pandas DataFrame
    location: str
    seconds: float
    #: The logged sample's artifact URI (``eval_results_table.json``, ``metric_prefix`` applied).
    table_uri: str = ""


def default_answers_dir() -> Path:
    root = os.environ.get("MLFLOW_LLM_EVAL_CACHE_DIR")
    base = (
        Path(root)
        if root
        else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlflow_llm_eval"
    )
    return base.expanduser() / "spark_answers"


def _is_judge(metric: Metric) -> bool:
    return request_options_of(metric) is not None


def _in_partition_model(model: Any) -> Any:
    """An endpoint model or a plain callable, run inside the partitions (None for a pyfunc URI)."""
    if model is None:
        return None
    if isinstance(model, str):
        if is_endpoint_uri(model):
            from mlflow_llm_eval.judge.endpoint_model import EndpointModel

            return EndpointModel.from_uri(model)
        return None
    if callable(model):
        return model
    raise TypeError(f"model must be a model URI, an endpoint URI or a callable, got {type(model)}")


def _identity(model: Any) -> Any:
    """What identifies an in-partition model across runs (no memory addresses)."""
    if model is None:
        return None
    client = getattr(model, "client", None)
    return [
        getattr(client, "identity", type(model).__qualname__),
        getattr(model, "prompt_template", None),
        getattr(model, "parameters", None),
    ]


def _reports_statuses(model: Any) -> bool:
    """An in-partition model that reports each row's status and reason (an endpoint model)."""
    from mlflow_llm_eval.judge.endpoint_model import EndpointModel

    return isinstance(model, EndpointModel)


def _model_columns(model_output: str | None, statuses: bool) -> list[str]:
    """The model's columns: its outputs, and its status and reason if it reports them."""
    if model_output is None:
        return []
    if not statuses:
        return [model_output]
    return [model_output, status_column(model_output), reason_column(model_output)]


def _output_schema(schema: Any, plan: EvaluationPlan, model_columns: Sequence[str]) -> Any:
    """The input columns, the model's columns, the plan's layout (score: ``double``, or
    ``long`` for counting metrics; justification, status, reason: strings), the batch stats."""
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

    kinds = {LONG: LongType(), "double": DoubleType(), "string": StringType()}
    fields = list(schema.fields)
    fields += [StructField(name, StringType(), True) for name in model_columns]
    fields += [StructField(name, kinds[kind], True) for name, kind in plan.layout()]
    fields.append(StructField(STATS_COLUMN, StringType(), True))
    return StructType(fields)


def _judge_partitioning(
    namespace_root: Path, judges: Sequence[Any], requested: int | None, tasks: int | None
) -> int:
    """Partitions of the judge stage: as asked; else as the previous run of the same judges
    over the same columns (so its answers are found); else the session's parallelism. Never
    above the smallest concurrency ceiling, so the split budgets sum to at most the limit."""
    n = requested
    if n is None and namespace_root.is_dir():
        previous = sorted(
            int(p.name[1:]) for p in namespace_root.glob("n*") if p.name[1:].isdigit()
        )
        n = previous[-1] if previous else None
    n = n or tasks or DEFAULT_JUDGE_PARTITIONS
    ceilings = [c for c in (ceiling(j) for j in judges) if c is not None]
    return max(1, min([n, *ceilings]))


def evaluate_spark(
    data: Any,
    metrics: Sequence[Metric],
    *,
    run_id: str,
    targets: str | None = None,
    predictions: str | None = None,
    model: Any = None,
    evaluator_config: dict[str, Any] | None = None,
    model_type: str | None = None,
    preset_keys: frozenset[str] = frozenset(),
    results_table: str | None = None,
    results_format: str | None = None,
    sample_rows: int = results_io.DEFAULT_SAMPLE_ROWS,
    answers_dir: str | os.PathLike[str] | None = None,
    judge_partitions: int | None = None,
    dataset: Any = None,
    credentials: Callable[[], Mapping[str, str]] | None = None,
    ship_credentials: bool = False,
) -> SparkEvaluation:
    """Score every row of ``data``, write the results, log the sample and metrics to ``run_id``
    (each metric linked to ``model``'s LoggedModel and to ``dataset``, an MLflow dataset of
    ``data``, as :mod:`mlflow_llm_eval.mlflow_adapter.linkage` describes).

    ``evaluator_config``: every key the classic door takes (``col_mapping``, ``metric_prefix``,
    ``human_labels``, ``model_input``, make_metric parameters); ``model_type`` and
    ``preset_keys``: the preset (its metrics needing targets are skipped without targets).

    Executors resolve the endpoint credentials themselves (see :mod:`.ship`): ``credentials``,
    a callable run on each executor returning e.g. ``{"OPENAI_API_KEY": ...}``, else their
    environment. ``ship_credentials=True`` sends the driver's keys instead (a warning says so).
    """
    from pyspark.sql import functions as F

    from mlflow_llm_eval.mlflow_adapter.logging import run_credentials

    started = time.perf_counter()
    given = dict(evaluator_config or {})
    metrics, given, language = language_setup(metrics, given)  # issue 19
    config = EvaluatorConfig.from_dict(given, metrics)
    col_mapping = config.col_mapping
    columns = list(data.columns)
    for label, name in (("targets", targets), ("predictions", None if model else predictions)):
        if name is not None and name not in columns:
            raise ValueError(f"{label}='{name}' is not a column of the data; columns: {columns}")
    if results_table is not None:
        refuse_overwriting_the_source(data, results_table)
    if ship_credentials:
        warnings.warn(
            "ship_credentials=True (spark.ship_driver_keys in a config): the driver's API keys (OPENAI_API_KEY, "
            "AZURE_OPENAI_API_KEY, DATABRICKS_TOKEN, secret headers) are pickled into "
            "the task plan and set in every executor's environment; prefer "
            "executor-side credentials (credentials=<callable> or a cluster secret)",
            UserWarning,
            stacklevel=3,
        )
    ours = {name for name, _ in EvaluationPlan([Step(m, {}) for m in metrics], config).layout()}
    stale = [c for c in columns if c == STATS_COLUMN or c in ours]
    if stale:  # re-scoring a results table: its old score columns are replaced
        data = data.drop(*stale)
        columns = [c for c in columns if c not in stale]
    features = [c for c in columns if c not in (targets, predictions)]
    in_partition = _in_partition_model(model)
    text = None if model is None else text_input_column(features, col_mapping, config.model_input)
    model_output = None
    prediction_column = predictions
    if model is None and predictions is not None and targets is None:
        prediction_column = outputs_column(None, False, features)  # the pandas path's name
        if prediction_column != predictions:
            data = data.withColumnRenamed(predictions, prediction_column)
            columns = [prediction_column if c == predictions else c for c in columns]
    if model is not None:
        prediction_column = outputs_column(
            predictions, targets is not None, [*features, *filter(None, [targets])]
        )
        if in_partition is None:  # a logged pyfunc model: MLflow's own Spark UDF
            import mlflow.pyfunc

            spark_udf = mlflow.pyfunc.spark_udf(
                data.sparkSession, model, result_type="string", env_manager="local"
            )
            data = data.withColumn(
                prediction_column, spark_udf(F.col(f"`{text}`") if text else F.struct(*features))
            )
        else:
            model_output = prediction_column
    defaults = logical_defaults(
        features, col_mapping, targets=targets, predictions=prediction_column
    )
    available = columns + [c for c in (prediction_column,) if c and c not in columns]
    plan = build_plan(
        metrics,
        columns=available,
        defaults=defaults,
        evaluator_config=config,
        model_type=model_type,
        preset_keys=preset_keys,
    )
    metrics = plan.metrics
    judges = [m for m in metrics if _is_judge(m)]
    callers = judges + ([in_partition] if in_partition is not None else [])
    shipped = list(metrics)
    store = None
    if callers:
        key_columns = sorted(
            {
                c
                for s in plan.steps
                if _is_judge(s.metric)
                for c in s.columns.values()
                if c != model_output
            }
            | (set(features) if model_output else set())
        )
        namespace = hashlib.sha256(
            json.dumps(
                [[m.metadata() for m in judges], key_columns, _identity(in_partition)],
                sort_keys=True,
                default=str,
            ).encode()
        ).hexdigest()[:16]
        root = Path(answers_dir).expanduser() if answers_dir else default_answers_dir()
        tasks = concurrent_tasks(data.sparkSession)
        n = _judge_partitioning(root / namespace, callers, judge_partitions, tasks)
        share = min(n, tasks) if tasks else n
        shipped = [split_budget(m, share) if _is_judge(m) else m for m in metrics]
        if in_partition is not None:
            in_partition = split_budget(in_partition, share)
        store = str(root / namespace / f"n{n}")
        data = data.repartition(n, F.to_json(F.struct(*key_columns)))
    statuses = _reports_statuses(in_partition) and model_output is not None
    model_columns = _model_columns(model_output, statuses)
    clash = [c for c in model_columns[1:] if c in data.columns]
    if clash:
        raise ValueError(
            f"the data has a column {clash[0]!r}, where the endpoint model's per-row status "
            "goes: rename or drop it"
        )
    schema = _output_schema(data.schema, plan, model_columns)
    partition_plan = PartitionPlan(
        plan=replace(plan, steps=[Step(m, s.columns) for m, s in zip(shipped, plan.steps)]),
        output_columns=[f.name for f in schema.fields],
        endpoint_model=in_partition,
        model_inputs=features,
        model_output=model_output,
        text_input=text,
        answers_dir=store,
        env=_executor_env(ship_credentials) if callers else {},
        model_statuses=statuses,
    )
    blob = dumps(partition_plan, ship_credentials=ship_credentials, credentials=credentials)

    def score(batches: Any) -> Any:
        from mlflow_llm_eval.spark_adapter.partition import score_partition

        return score_partition(blob, batches)

    scored = data.mapInPandas(score, schema)
    location = results_table or _default_location(run_id)
    written = results_io.write(scored, location, results_format)
    aggregates = run_aggregates(written, plan)
    sample = results_io.sample(written, sample_rows, plan)
    if statuses and model_output is not None:  # the classic layout: a reason if a row failed
        found = failure_columns(
            model_output,
            sample[status_column(model_output)].tolist(),
            sample[reason_column(model_output)].tolist(),
        )
        sample = sample.drop(columns=[c for c in model_columns[1:] if c not in found])
    seconds = time.perf_counter() - started
    user_columns = [*columns, *filter(None, [prediction_column])]
    table_uri, agreement = _log(
        run_id,
        plan,
        aggregates,
        sample,
        location,
        seconds,
        written,
        user_columns,
        run_credentials(plan.metrics, in_partition),
        MetricLink.of(dataset, model_id_of(model)),
    )
    aggregates.update(agreement)
    aggregates.update(log_spark_languages(run_id, written, plan, defaults, language))
    return SparkEvaluation(aggregates, sample, location, seconds, table_uri)


def _executor_env(ship_credentials: bool) -> dict[str, str]:
    """The driver's endpoint variables set on executors that lack them: base URLs, targets,
    API versions; the keys and ``DATABRICKS_TOKEN`` only with ``ship_credentials``."""
    from mlflow_llm_eval.redaction import is_secret_name

    return {k: v for k, v in endpoint_env().items() if ship_credentials or not is_secret_name(k)}


def _default_location(run_id: str) -> str:
    """Without ``results_table``: Parquet under the run's artifacts when they are local files."""
    from mlflow import MlflowClient
    from mlflow.utils.file_utils import local_file_uri_to_path

    uri = MlflowClient().get_run(run_id).info.artifact_uri
    if not uri.startswith("file:") and "://" in uri:
        raise ValueError(
            "results_table is required when the run's artifacts are not local files "
            f"({uri}): name a table (main.eval.scores) or a path every executor "
            "reaches (/Volumes/...)"
        )
    return str(Path(local_file_uri_to_path(uri)) / "llm_eval_results.parquet")


def _log(
    run_id: str,
    plan: EvaluationPlan,
    aggregates: dict[str, float],
    sample: Any,
    location: str,
    seconds: float,
    written: Any,
    user_columns: list[str],
    credentials: list[str],
    link: MetricLink | None = None,
) -> tuple[str, dict[str, float]]:
    """Log as the classic door does (the same helpers); return the table's URI and the
    human-agreement metrics."""
    from mlflow import MlflowClient

    from mlflow_llm_eval.core.engine import ScoredFrame
    from mlflow_llm_eval.mlflow_adapter.evaluator import log_human_agreement
    from mlflow_llm_eval.mlflow_adapter.logging import TABLE_FILE, log_scored_frame, log_skipped

    scored = ScoredFrame(table=sample, aggregates=aggregates, seconds={"spark_total": seconds})
    table_uri = log_scored_frame(
        run_id,
        scored,
        [m.metadata() for m in plan.metrics],
        table_file=plan.prefixed(TABLE_FILE),
        link=link,
        user_columns=user_columns,
        credentials=credentials,
    )
    if plan.skipped:
        log_skipped(run_id, plan.skipped)
    agreement = {}
    if plan.config.human_labels:  # two numeric columns per judge reach the driver
        columns = [f"`{c}`" for c in plan.agreement_columns()]
        agreement = log_human_agreement(run_id, plan, written.select(*columns).toPandas())
    client = MlflowClient()
    client.set_tag(run_id, results_io.LOCATION_TAG, location)
    client.set_tag(run_id, "llm_eval.engine", "spark")
    return table_uri, agreement
