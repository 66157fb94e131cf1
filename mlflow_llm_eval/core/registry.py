"""Metrics by name: the builtin modules, judges from the pack, and outside packages' entry points.

Each builtin module exports ``METRICS: dict[str, Callable[..., Metric]]`` (name -> factory).
Outside packages register factories under the entry-point group ``mlflow_llm_eval.metrics``.

    >>> get_metric("exact_match").key
    'exact_match/v1'
    >>> "rougeL" in available_metrics()
    True
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from mlflow_llm_eval.core.types import Metric

#: Modules that define builtin metrics. Add a module here to make its METRICS known by name.
BUILTIN_MODULES: tuple[str, ...] = (
    "mlflow_llm_eval.function_metrics.exact_match",
    "mlflow_llm_eval.function_metrics.rouge",
    "mlflow_llm_eval.function_metrics.readability",
    "mlflow_llm_eval.function_metrics.token_count",
    "mlflow_llm_eval.function_metrics.latency",
    "mlflow_llm_eval.judge.builtin",
    "mlflow_llm_eval.function_metrics.toxicity",
    "mlflow_llm_eval.fmeval.factual_knowledge",
    "mlflow_llm_eval.fmeval.qa_accuracy",
    "mlflow_llm_eval.fmeval.summarization_accuracy",
    "mlflow_llm_eval.fmeval.bertscore",
    "mlflow_llm_eval.fmeval.classification_accuracy",
    "mlflow_llm_eval.fmeval.semantic_robustness",
    "mlflow_llm_eval.function_metrics.retrieval",
    "mlflow_llm_eval.function_metrics.tool_calls",
    "mlflow_llm_eval.judge.claim_judges",
    "mlflow_llm_eval.judge.conversation",
)

ENTRY_POINT_GROUP = "mlflow_llm_eval.metrics"

#: MLflow's default LLM metrics per model type (its builtin defaults, in its order), by our names.
_TEXT = ("token_count", "toxicity", "flesch_kincaid_grade_level", "ari_grade_level")
PRESETS: dict[str, tuple[str, ...]] = {
    "question-answering": (*_TEXT, "exact_match"),
    "text-summarization": (*_TEXT, "rouge1", "rouge2", "rougeL", "rougeLsum"),
    "text": _TEXT,
    "retriever": ("precision_at_k", "recall_at_k", "ndcg_at_k"),  # each with k=retriever_k
}

_user_registry: dict[str, Callable[..., Metric]] = {}


def register_metric(name: str, factory: Callable[..., Metric]) -> None:
    """Make ``factory`` available by ``name`` (in presets, configs and ``get_metric``)."""
    _user_registry[name] = factory


@functools.cache
def _builtin_factories() -> dict[str, Callable[..., Metric]]:
    factories: dict[str, Callable[..., Metric]] = {}
    for module_name in BUILTIN_MODULES:
        module = importlib.import_module(module_name)
        factories.update(module.METRICS)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        factories.setdefault(entry_point.name, entry_point.load())
    return factories


def _all_factories() -> dict[str, Callable[..., Metric]]:
    return {**_builtin_factories(), **_user_registry}


def available_metrics() -> list[str]:
    """Names accepted by :func:`get_metric`, sorted."""
    return sorted(_all_factories())


def get_metric(name: str, **options: Any) -> Metric:
    """Build the metric registered as ``name`` with its options (validated by the factory)."""
    factories = _all_factories()
    if name not in factories:
        raise KeyError(f"unknown metric '{name}'; known metrics: {sorted(factories)}")
    return factories[name](**options)


def preset_metrics(model_type: str | None, **options: Any) -> list[Metric]:
    """The default metrics of an LLM model type; ``None`` -> none (only extra_metrics).

    ``options`` go to every metric of the preset (``k=`` for ``"retriever"``)."""
    if model_type is None:
        return []
    if model_type not in PRESETS:
        raise ValueError(
            f"model_type '{model_type}' has no llm_eval preset; use one of {sorted(PRESETS)} "
            "or model_type=None with extra_metrics"
        )
    return [get_metric(name, **options) for name in PRESETS[model_type]]
