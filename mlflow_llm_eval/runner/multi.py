"""Evaluate several models from one config: parallel child runs, a comparison, a chosen winner.

Flow: validate the config and the data (errors name the key and line, before any run) ->
create the parent run and one child run per model (params, dataset input) -> evaluate every
model in a bounded thread pool with the ``llm_eval`` evaluator, logging to its child run as
``mlflow.evaluate(..., evaluators="llm_eval")`` would (see ``tracking.evaluate`` for why not
through ``mlflow.evaluate`` itself) -> apply the selection rule -> optionally register the
winner -> log the comparison table and HTML reports. This module holds the parent run and each
model's child run; the comparison step (selection, registration, the comparison table, tags and
report) is in :mod:`mlflow_llm_eval.runner.compare_step`.

A model whose evaluation raises (model not loadable, endpoint key missing, predictions file
misaligned, ...) gets its child run marked FAILED with the reason in the ``llm_eval.failure``
tag; the other models finish and the comparison goes on without it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mlflow_llm_eval.config.loader import LoadedConfig, load_config
from mlflow_llm_eval.config.schema import EvalConfig, ModelSpec
from mlflow_llm_eval.function_metrics.latency import LATENCY_COLUMN
from mlflow_llm_eval.mlflow_adapter.logging import run_credentials
from mlflow_llm_eval.report.evaluation import evaluation_report
from mlflow_llm_eval.runner import pairwise_step, tracking
from mlflow_llm_eval.runner.compare_step import RunContext, compare, rule_text
from mlflow_llm_eval.runner.data import load_data, static_predictions, template_fields
from mlflow_llm_eval.runner.model_args import endpoint_model, evaluator_config, predictions_name
from mlflow_llm_eval.runner.results import ComparisonResult, ModelOutcome

_logger = logging.getLogger(__name__)
TAG = tracking.TAG_PREFIX
REPORT_FILE = "llm_eval/report.html"
CONFIG_FILE = "llm_eval/config.yaml"


def evaluate_models(
    config: str | Path | Mapping[str, Any] | EvalConfig | LoadedConfig,
    *,
    data: pd.DataFrame | None = None,
    base_dir: str | Path | None = None,
    max_workers: int | None = None,
    register: bool = True,
) -> ComparisonResult:
    """Evaluate every model of ``config`` (a YAML path, a dict or an ``EvalConfig``).

    ``data`` replaces ``dataset.path`` (a pandas or Spark DataFrame built in a notebook; see
    :mod:`mlflow_llm_eval.runner.spark` for the engine); ``max_workers``
    overrides the config's bound on models evaluated at once; ``register=False`` skips the
    registry even when the config has ``register:``. MLflow's current tracking URI is used.
    """
    loaded = load_config(config, base_dir=base_dir)
    cfg = loaded.config
    eval_data = load_data(loaded, data)
    pairwise = pairwise_step.build_judge(loaded)
    exp = tracking.experiment_id(cfg.experiment)
    parent = tracking.create_run(
        exp, cfg.run_name or f"compare-{len(cfg.models)}-models", {f"{TAG}role": "comparison"}
    )
    ctx = RunContext(loaded, eval_data, exp, parent, pairwise)
    try:
        tracking.log_params(parent, _parent_params(ctx))
        tracking.log_text(parent, _config_text(loaded), CONFIG_FILE)
        started = [_start_model(ctx, spec) for spec in cfg.models]
        tracking.log_datasets(
            parent, [kw["data"] for _, kw in started if kw is not None and kw["data"] is not None]
        )
        workers = max(1, min(max_workers or cfg.max_workers, len(cfg.models)))
        tracking.import_spark_modules_once()
        with ThreadPoolExecutor(workers, thread_name_prefix="llm-eval-model") as pool:
            outcomes = list(
                pool.map(
                    lambda item: _evaluate_model(ctx, item[0], *item[1]), zip(cfg.models, started)
                )
            )
        result = compare(ctx, outcomes, register)
    except BaseException as exc:
        tracking.fail_run(parent, tracking.redact(f"{type(exc).__name__}: {exc}"))
        raise
    tracking.end_run(parent, "FINISHED")
    return result


def _plain(value: Any) -> Any:
    """Config data as YAML-safe values (paths as text, callables as ``module:name``)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if callable(value):
        return f"{getattr(value, '__module__', '?')}:{getattr(value, '__qualname__', type(value).__name__)}"
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _config_text(loaded: LoadedConfig) -> str:
    """The config as logged to the parent run: the YAML file as written, or the dict as YAML.

    It holds no secret: the loader refuses secrets in the config.
    """
    path = Path(loaded.source.name)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    dumped = loaded.config.model_dump(mode="python", by_alias=True, exclude_none=True)
    return yaml.safe_dump(_plain(dumped), sort_keys=False)


def _parent_params(ctx: RunContext) -> dict[str, Any]:
    cfg, plan = ctx.config, ctx.loaded.metrics
    return {
        "config_file": ctx.loaded.source.name,
        "dataset_path": ctx.data.path,
        "dataset_sha256": ctx.data.sha256,
        "dataset_rows": ctx.data.rows,
        "engine": ctx.data.engine,
        "models": ",".join(m.name for m in cfg.models),
        "metrics": ",".join(plan.keys),
        "select": rule_text(ctx),
        "judge_model": cfg.judge.model if cfg.judge else None,
    }


def _model_params(ctx: RunContext, spec: ModelSpec) -> dict[str, Any]:
    cfg = ctx.config
    params: dict[str, Any] = {
        "model_name": spec.name,
        "model_kind": spec.kind,
        "model_uri": spec.source,
        "prompt_template": spec.prompt_template,
        "dataset_path": ctx.data.path,
        "dataset_sha256": ctx.data.sha256,
        "dataset_rows": ctx.data.rows,
        "inputs": ",".join(cfg.dataset.inputs),
        "targets": cfg.dataset.targets,
        "judge_model": cfg.judge.model if cfg.judge else None,
    }
    params.update(
        {f"metric.{m.name}": m.version or "unversioned" for m in ctx.loaded.metrics.metrics}
    )
    params.update({f"param.{k}": v for k, v in spec.params.items()})
    return params


def _columns_for(ctx: RunContext, spec: ModelSpec) -> list[str]:
    """The dataset columns this model's evaluation needs, in a stable order."""
    ds = ctx.config.dataset
    wanted = list(ds.inputs)
    wanted += template_fields(spec.prompt_template) if spec.prompt_template else []
    wanted += list(ds.col_mapping.values()) + ([ds.targets] if ds.targets else [])
    wanted += list(ctx.config.human_labels.values())
    if spec.key:
        wanted.append(spec.key)
    return list(dict.fromkeys(wanted))


def _evaluate_kwargs(ctx: RunContext, spec: ModelSpec, metrics: list[Any]) -> dict[str, Any]:
    """What the evaluation of one model needs (this is where the model kinds differ)."""
    ds = ctx.config.dataset
    frame = ctx.data.frame[_columns_for(ctx, spec)].copy()
    config = evaluator_config(ctx.config)
    kwargs: dict[str, Any] = {"extra_metrics": metrics, "evaluator_config": config}
    predictions = None
    if spec.kind == "predictions":
        values, seconds = static_predictions(spec, ctx.data.frame)
        predictions = predictions_name(list(frame.columns))
        frame[predictions] = values
        if seconds is not None:
            frame[LATENCY_COLUMN] = pd.to_numeric(pd.Series(seconds), errors="coerce").tolist()
        elif any(m.name == LATENCY_COLUMN for m in metrics):
            frame[LATENCY_COLUMN] = [None] * len(frame)  # not measured: rows unscored, not a crash
    elif spec.kind == "uri":
        kwargs["model"], kwargs["predictions"] = spec.uri, spec.output_column
    elif spec.kind == "python":
        kwargs["model"] = ctx.loaded.metrics.callables[spec.name]
        kwargs["predictions"] = spec.output_column
    else:
        kwargs["model"] = endpoint_model(spec)
    name = Path(ctx.data.path).stem if ctx.data.path != "<DataFrame>" else "dataset"
    source = ctx.data.path if ctx.data.path != "<DataFrame>" else None
    kwargs["data"] = tracking.make_dataset(
        frame, targets=ds.targets, predictions=predictions, name=name, source=source
    )
    return kwargs


def _fail(outcome: ModelOutcome, exc: Exception) -> None:
    outcome.failure = tracking.redact(f"{type(exc).__name__}: {exc}")[:2000]
    _logger.warning("model %s failed: %s", outcome.name, outcome.failure)
    _logger.debug("model %s failed", outcome.name, exc_info=True)
    if outcome.run_id is not None:
        tracking.fail_run(outcome.run_id, outcome.failure)


def _start_model(ctx: RunContext, spec: ModelSpec) -> tuple[ModelOutcome, dict[str, Any] | None]:
    """Create the child run and everything the evaluation needs (main thread); never raises."""
    outcome = ModelOutcome(spec.name, spec.kind, spec.source, None, None)
    try:
        outcome.run_id = tracking.create_run(
            ctx.experiment_id,
            spec.name,
            {f"{TAG}role": "model", f"{TAG}model": spec.name, f"{TAG}kind": spec.kind},
            parent_run_id=ctx.parent_run_id,
        )
        tracking.log_params(outcome.run_id, _model_params(ctx, spec))
        metrics = ctx.loaded.metrics.fresh_metrics()
        if ctx.data.engine == "spark":
            from mlflow_llm_eval.runner import spark as on_spark

            kwargs = on_spark.model_kwargs(
                ctx.loaded, ctx.data, spec, metrics, _columns_for(ctx, spec), ctx.data.path
            )
        else:
            kwargs = _evaluate_kwargs(ctx, spec, metrics)
        tracking.log_datasets(outcome.run_id, [d for d in [kwargs["data"]] if d is not None])
        return outcome, kwargs
    except Exception as exc:  # noqa: BLE001 - one model failing must not stop the others
        _fail(outcome, exc)
        return outcome, None


def _evaluate_model(
    ctx: RunContext, spec: ModelSpec, outcome: ModelOutcome, kwargs: dict[str, Any] | None
) -> ModelOutcome:
    """Evaluate one model in its child run (in a worker thread); never raises."""
    if kwargs is None or outcome.run_id is None:
        return outcome
    started = time.perf_counter()
    try:
        if ctx.data.engine == "spark":
            from mlflow_llm_eval.runner import spark as on_spark

            evaluation = on_spark.evaluate(outcome.run_id, **kwargs)
        else:
            evaluation = tracking.evaluate(outcome.run_id, **kwargs)
        outcome.metrics, outcome.table = evaluation.metrics, evaluation.table
        outcome.results_location = evaluation.location
        metrics = kwargs.get("extra_metrics") or kwargs["metrics"]
        credentials = run_credentials(metrics, kwargs.get("model"))  # the run's exact keys
        _log_model_report(ctx, spec, outcome, metrics, evaluation.sample, credentials)
        tracking.end_run(outcome.run_id, "FINISHED")
    except Exception as exc:  # noqa: BLE001 - one model failing must not stop the others
        _fail(outcome, exc)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _log_model_report(
    ctx: RunContext,
    spec: ModelSpec,
    outcome: ModelOutcome,
    metrics: list[Any],
    sample: pd.DataFrame | None = None,
    credentials: list[str] | None = None,
) -> None:
    """The model's HTML report (on Spark: the aggregates over every row, the distributions and
    worst rows of the logged sample)."""
    report = ctx.config.report
    table = outcome.table if outcome.table is not None else sample
    if not report.enabled or table is None or outcome.run_id is None:
        return
    where = (
        {
            "results table": outcome.results_location,
            "rows shown": f"a sample of {len(table)} of {ctx.data.rows}",
        }
        if outcome.table is None
        else {}
    )
    try:
        html = evaluation_report(
            title=f"{spec.name}: {ctx.config.experiment}",
            table=table,
            aggregates=outcome.metrics,
            metrics=metrics,
            details={
                "model": spec.name,
                "kind": spec.kind,
                "source": spec.source,
                "dataset": ctx.data.path,
                "dataset sha256": ctx.data.sha256,
                "run id": outcome.run_id,
                "parent run id": ctx.parent_run_id,
                **where,
            },
            columns={"inputs": ctx.config.dataset.inputs, "targets": ctx.config.dataset.targets},
            worst_rows=report.worst_rows,
            bins=report.bins,
            human_labels=ctx.config.human_labels,
            credentials=credentials,
        )
        tracking.log_text(outcome.run_id, html, REPORT_FILE)
    except Exception as exc:  # a report problem must not fail the evaluation
        _logger.warning("report for %s not written: %s", spec.name, exc, exc_info=True)
        tracking.set_tags(outcome.run_id, {f"{TAG}report_error": f"{type(exc).__name__}: {exc}"})
