"""The multi-model runner on Spark: the dataset as a Spark DataFrame, each model scored by the
Spark door, :func:`~mlflow_llm_eval.spark_adapter.evaluate.evaluate_spark` (the entry
``le.evaluate(data=sdf)`` uses), the runner's selection, registry and reports fed from the
driver-side aggregates. The runner sits above the doors: this module uses the Spark door, the
Spark door knows nothing of configs or the runner.

The engine (:func:`resolve_engine`): ``engine: spark`` or ``pandas`` as written; ``auto`` (the
default) is spark when the dataset is a Spark source (``dataset.table``, ``format: delta``, a
storage URI such as ``s3://...``, or a Spark DataFrame passed as ``data=``) and a SparkSession is
active, pandas for files otherwise. A Spark source without a session, or with ``engine: pandas``,
is a config error naming the key, before any run.

On Spark each model's full per-row table goes to ``spark.results`` (see
:func:`results_location`) and stays there: the runner gets the aggregates (computed by Spark SQL)
and the logged sample only, so the steps that need every row of every model on the driver
(``select.require_significance``, ``compare.pairwise``, ``human_labels``) are refused at
validation and the paired comparisons are not computed (the parent run's tag says so).

    >>> from mlflow_llm_eval.config.schema import SparkSpec
    >>> results_location(SparkSpec(results="main.eval.scores"), "gpt-4o.mini")
    'main.eval.scores_gpt_4o_mini'
    >>> results_location(SparkSpec(results="/Volumes/main/eval/scores"), "base")
    '/Volumes/main/eval/scores/base'
    >>> results_location(SparkSpec(results="/tmp/{model}/table"), "base")
    '/tmp/base/table'
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Sequence
from typing import Any

from mlflow_llm_eval.config.loader import LoadedConfig
from mlflow_llm_eval.config.schema import PREDICTIONS_COLUMN, ModelSpec, SparkSpec
from mlflow_llm_eval.mlflow_adapter.locations import is_path
from mlflow_llm_eval.runner.model_args import endpoint_model, evaluator_config, predictions_name
from mlflow_llm_eval.spark_adapter.evaluate import is_spark_dataframe

#: Config keys whose step needs every row of every model on the driver.
DRIVER_ROW_STEPS = {
    ("select", "require_significance"): "compares per-row scores of two models",
    ("compare", "pairwise"): "judges every pair of the models' answers",
    ("human_labels",): "compares every judge score with its human label",
}
PAIRED_TAG = "llm_eval.paired_comparisons"
PAIRED_NOTE = "not computed on Spark: the per-row scores stay in each model's results table"
_KEY = "__llm_eval_key"


def active_session() -> Any:
    """The active SparkSession (classic or Connect), or None; never imports pyspark itself."""
    if "pyspark" not in sys.modules:
        return None
    try:
        from pyspark.sql import SparkSession

        return SparkSession.getActiveSession()
    except Exception:  # noqa: BLE001 - a broken or stopped session is no session
        return None


def _source_key(loaded: LoadedConfig) -> tuple[Any, ...]:
    ds = loaded.config.dataset
    if ds.table is not None:
        return ("dataset", "table")
    return ("dataset", "format") if ds.format == "delta" else ("dataset", "path")


def resolve_engine(loaded: LoadedConfig, data: Any = None) -> str:
    """``pandas`` or ``spark`` for this config (see the module docstring); raises ConfigError."""
    cfg = loaded.config
    spark_source = is_spark_dataframe(data) or (data is None and cfg.dataset.spark_source)
    if cfg.engine == "spark":
        return "spark"
    if cfg.engine == "pandas":
        if spark_source:
            where = ("engine",) if data is not None else _source_key(loaded)
            raise loaded.error(
                where,
                "this dataset is read by Spark: set engine: spark "
                "(or auto, with an active SparkSession)",
            )
        return "pandas"
    if spark_source and active_session() is None and not is_spark_dataframe(data):
        raise loaded.error(
            _source_key(loaded),
            "a Spark dataset needs an active SparkSession: "
            "run in a Spark notebook or job, or set "
            "engine: spark to start one",
        )
    return "spark" if spark_source else "pandas"


def session_for(data: Any) -> Any:
    """``data``'s session, the active one, or a new one (``engine: spark`` from the CLI)."""
    if is_spark_dataframe(data):
        return data.sparkSession
    found = active_session()
    if found is not None:
        return found
    from mlflow_llm_eval.spark_adapter.session import local_session

    return local_session("local[*]")


def _check_steps(loaded: LoadedConfig) -> None:
    cfg = loaded.config
    given = {
        ("select", "require_significance"): cfg.select is not None
        and cfg.select.require_significance is not None,
        ("compare", "pairwise"): cfg.compare is not None and cfg.compare.pairwise is not None,
        ("human_labels",): bool(cfg.human_labels),
    }
    for key, why in DRIVER_ROW_STEPS.items():
        if given[key]:
            raise loaded.error(
                key,
                f"not available on Spark: it {why}, which would bring every "
                "row to the driver; drop it or set engine: pandas",
            )
    names = [m.name for m in loaded.metrics.metrics]
    for index, model in enumerate(cfg.models):
        if model.kind == "predictions" and model.key is None:
            raise loaded.error(
                ("models", index, "predictions"),
                "on Spark a predictions file "
                "is joined on a column: give key: <id column> (rows have no order)",
            )
        if model.output_column is not None and model.kind in ("uri", "python"):
            raise loaded.error(
                ("models", index, "output_column"),
                "not available on Spark: the model must return one answer per row",
            )
        if "latency" in names and not (model.kind == "predictions" and model.latency_column):
            raise loaded.error(
                ("metrics", names.index("latency")),
                f"latency on Spark needs "
                f"a latency_column (model '{model.name}' has none): rows are not "
                "timed one by one on the executors",
            )


def read_spark_frame(loaded: LoadedConfig, data: Any = None) -> tuple[Any, str]:
    """The dataset as a Spark DataFrame (``limit`` applied) and its source's name; the steps
    Spark cannot run and unreadable sources are ConfigErrors naming the key, before any job."""
    _check_steps(loaded)
    ds = loaded.config.dataset
    if is_spark_dataframe(data):
        frame, source = data, "<Spark DataFrame>"
    elif data is not None:
        frame, source = session_for(None).createDataFrame(data), "<DataFrame>"
    elif ds.table is None and ds.path is None:
        raise loaded.error(
            ("dataset",), "required key 'path' or 'table' is missing (or pass data= in Python)"
        )
    else:
        spark = session_for(None)
        where = ("dataset", "table") if ds.table is not None else ("dataset", "path")
        source = ds.table or str(ds.path)
        try:
            frame = (
                spark.table(ds.table)
                if ds.table is not None
                else _read(spark, str(ds.path), ds.file_format)
            )
            _ = frame.columns  # resolves the schema (a missing table or path fails here)
        except Exception as exc:  # noqa: BLE001 - any reader error is a config problem here
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise loaded.error(where, f"Spark cannot read {source}: {first}") from None
    if ds.limit is not None:
        frame = frame.limit(ds.limit)
    return frame, source


def frame_identity(frame: Any, source: str, limit: int | None) -> tuple[str, int]:
    """The rows counted (one job) and a SHA-256 of the source's name, schema and row count."""
    rows = frame.count()
    identity = json.dumps([source, frame.schema.simpleString(), rows, limit])
    return hashlib.sha256(identity.encode()).hexdigest(), rows


def _read(spark: Any, path: str, file_format: str) -> Any:
    reader = spark.read
    if file_format == "jsonl":
        return reader.json(path)
    if file_format == "csv":
        return reader.option("header", True).csv(path)
    return reader.format(file_format).load(path)


def results_location(spec: SparkSpec, model: str) -> str | None:
    """Where a model's full table goes (see :class:`~mlflow_llm_eval.config.schema.SparkSpec`)."""
    if spec.results is None:
        return None
    table = not is_path(spec.results)
    name = re.sub(r"[^A-Za-z0-9_]", "_", model) if table else model
    if "{model}" in spec.results:
        return spec.results.replace("{model}", name)
    return f"{spec.results}_{name}" if table else f"{spec.results.rstrip('/')}/{name}"


def _shipped(fn: Any) -> Any:
    """A config callable from a ``file.py`` (a private module executors cannot import): pickled
    by value."""
    module = sys.modules.get(getattr(fn, "__module__", "") or "")
    if module is not None and module.__name__.startswith("_llm_eval_models_"):
        from pyspark import cloudpickle

        cloudpickle.register_pickle_by_value(module)
    return fn


def _with_predictions(frame: Any, spec: ModelSpec, name: str) -> Any:
    """The dataset left-joined with the predictions file on ``spec.key`` (checked: no
    duplicate keys, a prediction for every row; two count jobs, no text to the driver)."""
    from pyspark.sql import functions as F

    from mlflow_llm_eval.function_metrics.latency import LATENCY_COLUMN

    key, column = str(spec.key), spec.output_column or PREDICTIONS_COLUMN
    path = str(spec.predictions)
    table = _read(
        frame.sparkSession,
        path,
        {".csv": "csv", ".parquet": "parquet"}.get(path[path.rfind(".") :].lower(), "jsonl"),
    )
    for needed in (key, column, spec.latency_column):
        if needed is not None and needed not in table.columns:
            raise ValueError(
                f"the predictions file has no column '{needed}'; columns: {table.columns}"
            )
    picked = [F.col(key).cast("string").alias(_KEY), F.col(column).cast("string").alias(name)]
    if spec.latency_column:
        picked.append(F.col(spec.latency_column).cast("double").alias(LATENCY_COLUMN))
    table = table.select(*picked)
    if table.groupBy(_KEY).count().where("count > 1").limit(1).count():
        raise ValueError(f"key column '{key}' of the predictions file has duplicate values")
    keyed = frame.withColumn(_KEY, F.col(key).cast("string"))
    missing = keyed.join(table, _KEY, "left_anti").count()
    if missing:
        raise ValueError(f"{missing} dataset row(s) have no prediction (key '{key}')")
    return keyed.join(table, _KEY, "left").drop(_KEY)


def model_kwargs(
    loaded: LoadedConfig,
    data: Any,
    spec: ModelSpec,
    metrics: list[Any],
    columns: Sequence[str],
    source: str,
) -> dict[str, Any]:
    """What :func:`evaluate` needs for one model (the model kinds differ here, as in
    ``runner.multi._evaluate_kwargs``); ``data`` is an MLflow dataset for the run's inputs."""
    cfg = loaded.config
    ds = cfg.dataset
    frame = data.frame.select(*columns)
    kwargs: dict[str, Any] = {
        "metrics": metrics,
        "evaluator_config": evaluator_config(cfg),
        "targets": ds.targets,
        "predictions": None,
        "model": None,
    }
    if spec.kind == "predictions":
        name = predictions_name(columns)
        kwargs["frame"], kwargs["predictions"] = _with_predictions(frame, spec, name), name
    else:
        kwargs["frame"] = frame
        if spec.kind == "uri":
            kwargs["model"] = spec.uri
        elif spec.kind == "python":
            kwargs["model"] = _shipped(loaded.metrics.callables[spec.name])
        else:
            kwargs["model"] = endpoint_model(spec)
    options = cfg.spark
    kwargs.update(
        results_table=results_location(options, spec.name),
        results_format=options.results_format,
        sample_rows=options.sample_rows,
        answers_dir=options.answers_dir,
        judge_partitions=options.judge_partitions,
        # how executors get endpoint keys: spark.key_provider / spark.ship_driver_keys
        credentials=_shipped(options.key_provider) if options.key_provider else None,
        ship_credentials=options.ship_driver_keys,
    )
    kwargs["data"] = _mlflow_dataset(frame, source, ds.targets)
    return kwargs


def _mlflow_dataset(frame: Any, source: str, targets: str | None) -> Any:
    """The run's dataset input (``mlflow.data.from_spark``: the plan's semantic hash, no job);
    None when MLflow cannot describe this DataFrame (the run then has no dataset input)."""
    try:
        import mlflow.data

        if source.startswith("<"):
            return mlflow.data.from_spark(frame, targets=targets, name="dataset")
        kind = "table_name" if not is_path(source) and "/" not in source else "path"
        return mlflow.data.from_spark(frame, targets=targets, **{kind: source})
    except Exception:  # noqa: BLE001 - a description, never a reason to fail the model
        return None


def evaluate(
    run_id: str, *, frame: Any, metrics: list[Any], data: Any = None, **options: Any
) -> Any:
    """Score one model on Spark into ``run_id``; a ``tracking.Evaluation`` with the aggregates,
    the logged sample and the full table's location (no per-row table on the driver)."""
    from mlflow_llm_eval.runner.tracking import Evaluation
    from mlflow_llm_eval.spark_adapter.evaluate import evaluate_spark

    outcome = evaluate_spark(frame, metrics, run_id=run_id, dataset=data, **options)
    return Evaluation(dict(outcome.metrics), None, sample=outcome.sample, location=outcome.location)
