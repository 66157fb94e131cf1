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
from typing import Any

import pandas as pd
from mlflow.models.evaluation import EvaluationResult, ModelEvaluator
from mlflow.models.evaluation.artifacts import JsonEvaluationArtifact

from mlflow_llm_eval.core.engine import score_planned
from mlflow_llm_eval.core.evaluator_config import EvaluatorConfig
from mlflow_llm_eval.core.plan import (
    EvaluationPlan,
    build_plan,
    free_name,
    logical_defaults,
    outputs_column,
    text_input_column,
)
from mlflow_llm_eval.core.registry import PRESETS
from mlflow_llm_eval.core.types import Metric
from mlflow_llm_eval.function_metrics.latency import LATENCY_COLUMN
from mlflow_llm_eval.mlflow_adapter.adapt import metrics_and_preset
from mlflow_llm_eval.mlflow_adapter.discovery import QuestionCounter
from mlflow_llm_eval.mlflow_adapter.linkage import MetricLink
from mlflow_llm_eval.mlflow_adapter.logging import (
    TABLE_FILE,
    TABLE_NAME,
    log_metrics,
    log_scored_frame,
    log_skipped,
    run_credentials,
)
from mlflow_llm_eval.mlflow_adapter.multilingual import (
    log_languages,
    split_language_config,
    with_language,
)
from mlflow_llm_eval.mlflow_adapter.predictions import object_column, predict

_logger = logging.getLogger(__name__)

LLM_MODEL_TYPES = frozenset(PRESETS)


def resolve_metrics(
    model_type: str | None,
    extra_metrics: list[Any] | None,
    evaluator_config: dict[str, Any] | None = None,
) -> list[Metric]:
    """The preset of ``model_type`` plus ``extra_metrics`` (ours, names, or MLflow's).

    An extra metric with the same key as a preset one replaces it (the user's configured
    instance wins, e.g. ``toxicity(model=...)``). Preset metrics come first, as in MLflow.
    """
    return metrics_and_preset(model_type, extra_metrics, evaluator_config)[0]


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
        return named and type(self).can_evaluate(
            model_type=model_type, evaluator_config=evaluator_config
        )

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
        metrics, preset_keys = metrics_and_preset(model_type, extra_metrics, evaluator_config)
        if custom_artifacts:
            _logger.warning(
                "llm_eval does not compute custom_artifacts; MLflow's default "
                "evaluator does: evaluators=['default', 'llm_eval']"
            )
        evaluator_config, language = split_language_config(evaluator_config)
        metrics = with_language(metrics, language)
        config = EvaluatorConfig.from_dict(evaluator_config, metrics)
        frame, defaults = build_frame(dataset, model, predictions, config, metrics)
        plan = build_plan(
            metrics,
            columns=list(frame.columns),
            defaults=defaults,
            evaluator_config=config,
            model_type=model_type,
            preset_keys=preset_keys,
        )
        scored = score_planned(plan, frame)
        metadata = [m.metadata() for m in plan.metrics]
        table_uri = log_scored_frame(
            run_id,
            scored,
            metadata,
            table_file=plan.prefixed(TABLE_FILE),
            link=MetricLink.of(dataset, kwargs.get("model_id")),
            user_columns=[c for c in frame.columns if c not in scored.model_columns],
            credentials=run_credentials(plan.metrics, model),
        )
        if plan.skipped:
            log_skipped(run_id, plan.skipped)
        artifacts = {TABLE_NAME: JsonEvaluationArtifact(uri=table_uri)}
        result_metrics = dict(scored.aggregates)
        result_metrics.update(
            log_languages(
                run_id,
                scored,
                plan.metrics,
                frame,
                defaults,
                config.col_mapping,
                language,
                config.metric_prefix,
            )
        )
        result_metrics.update(log_human_agreement(run_id, plan, scored.table))
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
        names = getattr(dataset, "feature_names", None)
        features = pd.DataFrame(features, columns=names)
    if len(features) == 0:
        raise ValueError("the evaluation data is empty: there are no rows to score")
    features = features.reset_index(drop=True)
    frame = features.copy()
    has_targets = dataset.labels_data is not None
    targets = (getattr(dataset, "targets_name", None) or "target") if has_targets else None
    if targets is not None:
        frame[targets] = list(dataset.labels_data)
    wants_latency = any(m.name == "latency" for m in metrics)
    output = None
    if model is None:
        given = getattr(dataset, "predictions_name", None)
        if dataset.predictions_data is not None:
            output = outputs_column(given, has_targets, frame.columns)
            frame[output] = object_column(dataset.predictions_data, len(frame))
        if wants_latency and LATENCY_COLUMN not in frame.columns:
            raise ValueError(
                "the latency metric times the model's predict calls, but no model was given "
                "(static predictions); drop latency or pass a model"
            )
    else:
        outputs, seconds = predict(
            model,
            features,
            text_column=text_input_column(features.columns, config.col_mapping, config.model_input),
            predictions_column=predictions,
            time_each_row=wants_latency,
        )
        # MLflow names it after the model's single output column (retrieved_context) with targets.
        output = outputs_column(predictions or outputs.column, has_targets, frame.columns)
        frame[output] = outputs.predictions
        for column, values in outputs.failure_columns(output).items():  # an endpoint's statuses
            frame[free_name(column, frame.columns)] = values
        for other, values in outputs.others.items():
            frame[free_name(other, frame.columns)] = values
        if seconds is not None:
            frame[LATENCY_COLUMN] = seconds
    defaults = logical_defaults(
        list(features.columns), config.col_mapping, targets=targets, predictions=output
    )
    return frame, defaults


# --- issue 13 hook: judge–human agreement (computation in mlflow_llm_eval.agreement) ------------
AGREEMENT_FILE = "llm_eval/judge_agreement.json"


def log_human_agreement(run_id: str, plan: EvaluationPlan, table: pd.DataFrame) -> dict[str, float]:
    """Log agreement per judge of ``human_labels`` (metrics + a JSON artifact); return the metrics.

    ``table`` holds each judge's score column (as the plan names it) and the label column:
    the classic table, or the two columns a Spark evaluation collects.
    """
    if not plan.config.human_labels:
        return {}
    from mlflow import MlflowClient

    from mlflow_llm_eval.agreement import agreement_metrics, judge_agreement

    found = {}
    for key, (metric, column) in plan.human_label_columns().items():
        scale = metric.value_range if metric.value_kind == "ordinal" else None
        found[key] = judge_agreement(table, plan.column(metric, "score"), column, labels=scale)
    values = {
        plan.prefixed(k): v for k, v in agreement_metrics(found).items() if v == v
    }  # NaN: not logged
    log_metrics(run_id, values)
    MlflowClient().log_dict(
        run_id, {k: a.as_dict() for k, a in found.items()}, plan.prefixed(AGREEMENT_FILE)
    )
    return values
