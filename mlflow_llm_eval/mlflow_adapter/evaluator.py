"""The ``llm_eval`` MLflow evaluator: dataset in -> scoring engine -> results logged to the run.

``can_evaluate`` is strict. We evaluate the LLM model types (question-answering,
text-summarization, text) and ``model_type=None`` (only ``extra_metrics``) when the user names
us (``evaluators="llm_eval"`` or in a list). When ``evaluators`` is omitted, MLflow asks every
installed evaluator; we decline then, for every model type, so installing this package never
changes what a plain ``mlflow.evaluate(...)`` computes. To run MLflow's default LLM evaluator
and ours together, pass ``evaluators=["default", "llm_eval"]``.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from mlflow.models.evaluation import EvaluationResult, ModelEvaluator
from mlflow.models.evaluation.artifacts import JsonEvaluationArtifact

from mlflow_llm_eval.core.engine import score_frame
from mlflow_llm_eval.core.registry import PRESETS, preset_metrics
from mlflow_llm_eval.core.types import OK, Metric
from mlflow_llm_eval.function_metrics.latency import LATENCY_COLUMN
from mlflow_llm_eval.mlflow_adapter.logging import TABLE_NAME, log_scored_frame
from mlflow_llm_eval.mlflow_adapter.predictions import MODEL_INPUTS, pick_input_column, predict
from mlflow_llm_eval.sample import as_metric

_logger = logging.getLogger(__name__)

LLM_MODEL_TYPES = frozenset(PRESETS)
#: MLflow's function that asks every registered evaluator when ``evaluators`` is omitted.
_AUTO_DISCOVERY = "resolve_evaluators_and_configs"


def _asked_by_auto_discovery() -> bool:
    frame = sys._getframe(1)
    for _ in range(4):
        if frame is None:
            return False
        # MLflow calls can_evaluate from there only when `evaluators` was omitted; a named
        # evaluator is asked later, from `_evaluate`.
        if frame.f_code.co_name == _AUTO_DISCOVERY and "mlflow" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


@dataclass
class EvaluatorConfig:
    """``evaluator_config`` for ``llm_eval``, validated before any row is scored."""

    col_mapping: dict[str, Any] = field(default_factory=dict)
    model_input: str = "dataframe"
    #: Judge name -> column of human labels (issue 13 hook: judge–human agreement).
    human_labels: dict[str, str] = field(default_factory=dict)
    KEYS = ("col_mapping", "model_input", "human_labels")

    @classmethod
    def from_dict(cls, config: dict[str, Any] | None) -> EvaluatorConfig:
        config = dict(config or {})
        unknown = sorted(set(config) - set(cls.KEYS))
        if unknown:
            raise ValueError(
                f"unknown llm_eval evaluator_config key(s) {unknown}; known keys: {list(cls.KEYS)}"
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
        return cls(col_mapping=dict(col_mapping), model_input=model_input,
                   human_labels=dict(human_labels))


def resolve_metrics(model_type: str | None, extra_metrics: list[Any] | None) -> list[Metric]:
    """The preset of ``model_type`` plus ``extra_metrics`` (ours, names, or MLflow's).

    An extra metric with the same ``<name>/<version>`` as a preset one replaces it (the user's
    configured instance wins, e.g. ``toxicity(model=...)``).
    """
    extras = [as_metric(m) for m in (extra_metrics or [])]
    extra_keys = {m.key for m in extras}
    metrics = [m for m in preset_metrics(model_type) if m.key not in extra_keys] + extras
    if not metrics:
        raise ValueError("no metrics to compute: give a model_type with a preset or extra_metrics")
    return metrics


class LLMEvaluator(ModelEvaluator):
    """MLflow evaluator plugin registered as ``llm_eval``."""

    name = "llm_eval"

    @classmethod
    def can_evaluate(cls, *, model_type, evaluator_config, **kwargs) -> bool:
        if _asked_by_auto_discovery():
            return False
        return model_type is None or model_type in LLM_MODEL_TYPES

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
        config = EvaluatorConfig.from_dict(evaluator_config)
        metrics = resolve_metrics(model_type, extra_metrics)
        frame, defaults = build_frame(dataset, model, predictions, config, metrics)
        scored = score_frame(frame, metrics, defaults=defaults, col_mapping=config.col_mapping)
        _warn_unscored(scored.results, metrics)
        metadata = [m.metadata() for m in metrics]
        table_uri = log_scored_frame(run_id, scored, metadata)
        artifacts = {TABLE_NAME: JsonEvaluationArtifact(uri=table_uri)}
        result_metrics = dict(scored.aggregates)
        result_metrics.update(_log_human_agreement(run_id, scored.table, config.human_labels, metrics))
        return EvaluationResult(metrics=result_metrics, artifacts=artifacts, run_id=run_id)


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
        features = pd.DataFrame(features)
    if len(features) == 0:
        raise ValueError("the evaluation data is empty: there are no rows to score")
    features = features.reset_index(drop=True)
    frame = features.copy()
    defaults: dict[str, str] = {}
    input_column = pick_input_column(list(frame.columns), config.col_mapping)
    if input_column is not None:
        defaults["inputs"] = input_column
    targets_name = getattr(dataset, "targets_name", None)
    if dataset.labels_data is not None:
        targets_name = targets_name or "targets"
        frame[targets_name] = list(dataset.labels_data)
        defaults["targets"] = targets_name
    wants_latency = any(m.name == "latency" for m in metrics)
    if model is None:
        name = getattr(dataset, "predictions_name", None) or "predictions"
        if dataset.predictions_data is not None:
            frame[name] = list(dataset.predictions_data)
            defaults["predictions"] = name
        if wants_latency and LATENCY_COLUMN not in frame.columns:
            raise ValueError(
                "the latency metric times the model's predict calls, but no model was given "
                "(static predictions); drop latency or pass a model"
            )
        return frame, defaults
    values, seconds = predict(
        model,
        features,
        input_column=input_column,
        model_input=config.model_input,
        predictions_column=predictions,
        time_each_row=wants_latency,
    )
    name = "predictions" if "predictions" not in frame.columns else "model_predictions"
    frame[name] = values
    defaults["predictions"] = name
    if seconds is not None:
        frame[LATENCY_COLUMN] = seconds
    return frame, defaults


def _warn_unscored(results: dict[str, Any], metrics: list[Metric]) -> None:
    for metric in metrics:
        counts = Counter(s for s in results[metric.key].statuses if s != OK and s != "truncated")
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
