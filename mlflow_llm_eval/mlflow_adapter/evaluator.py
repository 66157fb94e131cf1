"""The ``llm_eval`` MLflow evaluator: dataset in -> scoring engine -> results logged to the run.

``can_evaluate`` is strict. We evaluate the LLM model types (question-answering, retriever,
text-summarization, text) and ``model_type=None`` (only ``extra_metrics``) when the user names
us (``evaluators="llm_eval"`` or in a list). When ``evaluators`` is omitted, MLflow asks every
installed evaluator; we decline then (see :mod:`.discovery`), for every model type, so
installing this package never changes what a plain ``mlflow.evaluate(...)`` computes. To run
MLflow's default LLM evaluator and ours together, pass ``evaluators=["default", "llm_eval"]``.

The table follows MLflow's default evaluator: the model's outputs are the ``outputs`` column
(with targets: the ``predictions=`` name if given, as MLflow), targets keep their name
(``target`` for an array), a model's other output columns are kept for metrics that read them.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from mlflow.models.evaluation import EvaluationResult, ModelEvaluator
from mlflow.models.evaluation.artifacts import JsonEvaluationArtifact

from mlflow_llm_eval.core.engine import ScoredFrame, score_frame
from mlflow_llm_eval.core.registry import PRESETS, preset_metrics
from mlflow_llm_eval.core.types import SCORED_STATUSES, Metric
from mlflow_llm_eval.function_metrics.latency import LATENCY_COLUMN
from mlflow_llm_eval.mlflow_adapter.discovery import QuestionCounter
from mlflow_llm_eval.mlflow_adapter.logging import TABLE_FILE, TABLE_NAME, log_scored_frame, log_skipped
from mlflow_llm_eval.mlflow_adapter.mlflow_metric import MlflowMetric
from mlflow_llm_eval.mlflow_adapter.predictions import (
    MODEL_INPUTS,
    object_column,
    pick_input_column,
    predict,
)
from mlflow_llm_eval.sample import as_metric

_logger = logging.getLogger(__name__)

LLM_MODEL_TYPES = frozenset(PRESETS)


@dataclass
class EvaluatorConfig:
    """``evaluator_config`` for ``llm_eval``, validated before any row is scored.

    Besides our keys, a key named like a parameter of an MLflow ``make_metric`` eval_fn is
    passed to it, as MLflow's default evaluator does.
    """

    col_mapping: dict[str, Any] = field(default_factory=dict)
    model_input: str = "dataframe"
    metric_prefix: str = ""
    passed_to_metrics: dict[str, Any] = field(default_factory=dict)
    #: Judge name -> column of human labels (judge–human agreement).
    human_labels: dict[str, str] = field(default_factory=dict)
    KEYS = ("col_mapping", "model_input", "metric_prefix", "human_labels", "retriever_k")

    @classmethod
    def from_dict(
        cls, config: dict[str, Any] | None, metrics: list[Metric] | None = None
    ) -> EvaluatorConfig:
        config = dict(config or {})
        parameters = {p for m in metrics or [] if isinstance(m, MlflowMetric)
                      for p in m.metric_parameters()}
        unknown = sorted(set(config) - set(cls.KEYS) - parameters)
        if unknown:
            raise ValueError(
                f"unknown llm_eval evaluator_config key(s) {unknown}; known keys: {list(cls.KEYS)} "
                "(and parameters of your make_metric eval_fns)"
            )
        col_mapping = config.get("col_mapping") or {}
        if not isinstance(col_mapping, dict):
            raise ValueError(f"col_mapping must be a dict, got {type(col_mapping).__name__}")
        model_input = config.get("model_input", "dataframe")
        if model_input not in MODEL_INPUTS:
            raise ValueError(f"model_input must be one of {MODEL_INPUTS}, got {model_input!r}")
        human_labels = config.get("human_labels") or {}
        if not isinstance(human_labels, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in human_labels.items()):
            raise ValueError("human_labels must map judge names to column names, e.g. "
                             f"{{'answer_correctness': 'human_score'}}, got {human_labels!r}")
        prefix = config.get("metric_prefix") or ""
        if not isinstance(prefix, str):
            raise ValueError(f"metric_prefix must be a string, got {type(prefix).__name__}")
        passed = {k: v for k, v in config.items() if k in parameters}
        return cls(dict(col_mapping), model_input, prefix, passed, dict(human_labels))


def resolve_metrics(model_type: str | None, extra_metrics: list[Any] | None,
                    evaluator_config: dict[str, Any] | None = None) -> list[Metric]:
    """The preset of ``model_type`` plus ``extra_metrics`` (ours, names, or MLflow's).

    An extra metric with the same key as a preset one replaces it (the user's configured
    instance wins, e.g. ``toxicity(model=...)``). Preset metrics come first, as in MLflow.
    """
    return _metrics_and_preset(model_type, extra_metrics, evaluator_config)[0]


def _metrics_and_preset(
    model_type: str | None, extra_metrics: list[Any] | None, config: dict | None = None,
) -> tuple[list[Metric], set[str]]:
    extras = [as_metric(m) for m in (extra_metrics or [])]
    extra_keys = {m.key for m in extras}
    # MLflow's retriever preset takes k from evaluator_config["retriever_k"] (default 3).
    options = {"k": (config or {}).get("retriever_k", 3)} if model_type == "retriever" else {}
    preset = [m for m in preset_metrics(model_type, **options) if m.key not in extra_keys]
    if not preset + extras:
        raise ValueError("no metrics to compute: give a model_type with a preset or extra_metrics")
    return preset + extras, {m.key for m in preset}


class LLMEvaluator(ModelEvaluator):
    """MLflow evaluator plugin registered as ``llm_eval``."""

    name = "llm_eval"

    def __init__(self) -> None:
        self._questions = QuestionCounter()
        # MLflow asks the instance; an instance attribute shadows the classmethod below.
        self.can_evaluate = self._can_evaluate_this_call  # type: ignore[method-assign]

    @classmethod
    def can_evaluate(cls, *, model_type, evaluator_config, **kwargs) -> bool:
        """Whether the model type is one we evaluate (asked of the class: no discovery state)."""
        return model_type is None or model_type in LLM_MODEL_TYPES

    def _can_evaluate_this_call(self, *, model_type, evaluator_config, **kwargs) -> bool:
        named = self._questions.named()  # a second question = MLflow's auto-discovery
        return named and type(self).can_evaluate(model_type=model_type,
                                                 evaluator_config=evaluator_config)

    def evaluate(
        self,
        *,
        model_type,
        dataset,
        run_id,
        evaluator_config,
        model=None,
        extra_metrics=None,
        custom_artifacts=None,
        predictions=None,
        **kwargs,
    ) -> EvaluationResult:
        metrics, preset_keys = _metrics_and_preset(model_type, extra_metrics, evaluator_config)
        if custom_artifacts:
            _logger.warning("llm_eval does not compute custom_artifacts; MLflow's default "
                            "evaluator does: evaluators=['default', 'llm_eval']")
        config = EvaluatorConfig.from_dict(evaluator_config, metrics)
        frame, defaults = build_frame(dataset, model, predictions, config, metrics)
        metrics, skipped = drop_preset_metrics_without_targets(
            metrics, preset_keys, frame, defaults, config)
        metrics = [_planned(m, frame, defaults, config, metrics) for m in metrics]
        scored = score_frame(frame, metrics, defaults=defaults, col_mapping=config.col_mapping)
        _warn_unscored(scored.results, metrics)
        scored = with_prefix(scored, config.metric_prefix, frame.columns)
        metadata = [m.metadata() for m in metrics]
        table_uri = log_scored_frame(run_id, scored, metadata,
                                     table_file=f"{config.metric_prefix}{TABLE_FILE}")
        if skipped:
            log_skipped(run_id, skipped)
        artifacts = {TABLE_NAME: JsonEvaluationArtifact(uri=table_uri)}
        result_metrics = dict(scored.aggregates)
        result_metrics.update(_log_human_agreement(run_id, scored.table, config.human_labels, metrics))
        return EvaluationResult(metrics=result_metrics, artifacts=artifacts, run_id=run_id)


def _free_name(name: str, taken: Any) -> str:
    """``name``, or ``model_<name>`` if the user's data already has that column (never overwrite)."""
    while name in taken:
        name = f"model_{name}"
    return name


def build_frame(
    dataset: Any,
    model: Any,
    predictions: str | None,
    config: EvaluatorConfig,
    metrics: list[Metric],
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The rows to score: features, targets, predictions (and latency), with logical defaults."""
    features = dataset.features_data
    if not isinstance(features, pd.DataFrame):
        names = getattr(dataset, "feature_names", None)
        features = pd.DataFrame(features, columns=names)
    if len(features) == 0:
        raise ValueError("the evaluation data is empty: there are no rows to score")
    features = features.reset_index(drop=True)
    frame = features.copy()
    defaults: dict[str, str] = {}
    input_column = pick_input_column(list(frame.columns), config.col_mapping)
    if input_column is not None:
        defaults["inputs"] = input_column
    has_targets = dataset.labels_data is not None
    if has_targets:
        targets_name = getattr(dataset, "targets_name", None) or "target"
        frame[targets_name] = list(dataset.labels_data)
        defaults["targets"] = targets_name
    wants_latency = any(m.name == "latency" for m in metrics)
    if model is None:
        given = getattr(dataset, "predictions_name", None)
        if dataset.predictions_data is not None:
            name = _free_name((given if has_targets else None) or "outputs", frame.columns)
            frame[name] = object_column(dataset.predictions_data, len(frame))
            defaults["predictions"] = name
        if wants_latency and LATENCY_COLUMN not in frame.columns:
            raise ValueError(
                "the latency metric times the model's predict calls, but no model was given "
                "(static predictions); drop latency or pass a model"
            )
        return frame, defaults
    outputs, seconds = predict(
        model, features, input_column=input_column, model_input=config.model_input,
        predictions_column=predictions, time_each_row=wants_latency,
    )
    # MLflow names it after the model's single output column (retrieved_context) with targets.
    name = _free_name(((predictions or outputs.column) if has_targets else None) or "outputs",
                      frame.columns)
    frame[name] = outputs.predictions
    defaults["predictions"] = name
    for other, values in outputs.others.items():
        frame[_free_name(other, frame.columns)] = values
    if seconds is not None:
        frame[LATENCY_COLUMN] = seconds
    return frame, defaults


def _has_column(logical: str, frame: pd.DataFrame, defaults: dict[str, str],
                config: EvaluatorConfig) -> bool:
    actual = config.col_mapping.get(logical, defaults.get(logical, logical))
    return isinstance(actual, str) and actual in frame.columns


def drop_preset_metrics_without_targets(
    metrics: list[Metric], preset_keys: set[str], frame: pd.DataFrame,
    defaults: dict[str, str], config: EvaluatorConfig,
) -> tuple[list[Metric], list[dict[str, str]]]:
    """MLflow computes a preset without targets minus the metrics that need them: so do we,
    with a warning and a record in the run (never silently). Extra metrics are never dropped."""
    if _has_column("targets", frame, defaults, config):
        return metrics, []
    kept, skipped = [], []
    for metric in metrics:
        if metric.key in preset_keys and "targets" in metric.requires:
            skipped.append({"metric": metric.key, "reason": "needs targets; the data has none "
                            "(pass targets= to mlflow.evaluate to compute it)"})
        else:
            kept.append(metric)
    if skipped:
        _logger.warning("llm_eval: no targets, so these preset metrics are skipped: %s",
                        ", ".join(s["metric"] for s in skipped))
    return kept, skipped


def _planned(metric: Metric, frame: pd.DataFrame, defaults: dict[str, str],
             config: EvaluatorConfig, metrics: list[Metric]) -> Metric:
    if not isinstance(metric, MlflowMetric):
        return metric
    return metric.resolve(
        columns=list(frame.columns),
        predictions_names=[defaults["predictions"]] if "predictions" in defaults else [],
        targets_names=[defaults["targets"]] if "targets" in defaults else [],
        has_targets=_has_column("targets", frame, defaults, config),
        col_mapping=config.col_mapping, config=config.passed_to_metrics,
        metric_names=[m.name for m in metrics],
    )


def with_prefix(scored: ScoredFrame, prefix: str, input_columns: Any) -> ScoredFrame:
    """``metric_prefix`` as MLflow applies it: on run-metric keys and on metric table columns."""
    if not prefix:
        return scored
    kept = set(input_columns)
    table = scored.table.rename(columns={c: f"{prefix}{c}" for c in scored.table.columns
                                         if c not in kept})
    aggregates = {f"{prefix}{k}": v for k, v in scored.aggregates.items()}
    return ScoredFrame(table, aggregates, scored.results, scored.seconds)


def _warn_unscored(results: dict[str, Any], metrics: list[Metric]) -> None:
    for metric in metrics:
        counts = Counter(s for s in results[metric.key].statuses if s not in SCORED_STATUSES)
        if counts:
            _logger.warning(
                "llm_eval: %s left %d row(s) unscored: %s (see the '%s/status' and '/reason' "
                "columns of the eval_results_table)",
                metric.key, sum(counts.values()), dict(counts), metric.key,
            )


# --- issue 13 hook: judge–human agreement (computation in mlflow_llm_eval.agreement) ------------
AGREEMENT_FILE = "llm_eval/judge_agreement.json"


def _log_human_agreement(run_id: str, table: pd.DataFrame, human_labels: dict[str, str],
                         metrics: list[Metric]) -> dict[str, float]:
    """Log agreement per judge of ``human_labels`` (metrics + a JSON artifact); return the metrics."""
    if not human_labels:
        return {}
    from mlflow import MlflowClient

    from mlflow_llm_eval.agreement import agreement_metrics, agreements

    found = agreements(table, human_labels, metrics)
    values = {k: v for k, v in agreement_metrics(found).items() if v == v}  # NaN: not logged
    client = MlflowClient()
    if values:
        import time

        from mlflow.entities import Metric as MlflowMetricEntity

        now = int(time.time() * 1000)
        client.log_batch(run_id, metrics=[MlflowMetricEntity(k, float(v), now, 0) for k, v in values.items()])
    client.log_dict(run_id, {k: a.as_dict() for k, a in found.items()}, AGREEMENT_FILE)
    return values
