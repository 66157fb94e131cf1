"""Metrics by name: the mechanism only. Core names no metric package: each metric package
registers its own modules (:func:`register_metric_modules`, in its ``__init__``), outside
packages register factories under the entry-point group ``mlflow_llm_eval.metrics``, and users
call :func:`register_metric`.

A registered module exports ``METRICS: dict[str, Callable[..., Metric]]`` (name -> factory); it
is imported on the first lookup, not when it is registered (heavy libraries stay unloaded).

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

#: Modules whose ``METRICS`` are known by name, in registration order (filled by the metric
#: packages themselves; see :func:`register_metric_modules`).
_metric_modules: list[str] = []

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


def register_metric_modules(*module_names: str) -> None:
    """Make each module's ``METRICS`` known by name; the modules are imported on first lookup.

    A metric package calls this in its ``__init__`` for its own modules, e.g.
    ``register_metric_modules(f"{__name__}.rouge")``.
    """
    for name in module_names:
        if name not in _metric_modules:
            _metric_modules.append(name)
    _builtin_factories.cache_clear()


def metric_modules() -> tuple[str, ...]:
    """The registered metric modules, in registration order."""
    return tuple(_metric_modules)


@functools.cache
def _builtin_factories() -> dict[str, Callable[..., Metric]]:
    factories: dict[str, Callable[..., Metric]] = {}
    for module_name in _metric_modules:
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
