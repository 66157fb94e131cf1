"""Door 2: every registered metric as an MLflow 3 scorer, for ``mlflow.genai.evaluate``.

``le.scorers.<metric name>(**options)`` builds the scorer of any name in
``le.available_metrics()`` (its options are the metric's): one generic wrapper
(:class:`MetricScorer`), not a class per metric.

    >>> import mlflow_llm_eval as le
    >>> le.scorers.rougeL().name, le.scorers.flesch_kincaid_grade_level().aggregations
    ('rougeL', ['mean', 'variance', 'p90'])

The only package that imports ``mlflow.genai``; ``import mlflow_llm_eval`` does not load it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from mlflow_llm_eval.core.registry import available_metrics
from mlflow_llm_eval.genai_adapter.batcher import DynamicBatcher
from mlflow_llm_eval.genai_adapter.registration import registrable
from mlflow_llm_eval.genai_adapter.scorer import MetricScorer, RateLimitError, make_scorer


def scorer_factory(metric_name: str) -> Callable[..., MetricScorer]:
    """``factory(**options)`` -> the scorer of the registered metric ``metric_name``."""

    def factory(**options: Any) -> MetricScorer:
        return make_scorer(metric_name, **options)

    factory.__name__ = factory.__qualname__ = metric_name
    factory.__doc__ = (
        f"MLflow 3 scorer of the '{metric_name}' metric; keyword options are "
        "the metric's, plus make_scorer's (name, aggregations, field_map, ...)."
    )
    return factory


@functools.cache
def _factory(name: str) -> Callable[..., MetricScorer]:
    return scorer_factory(name)


def __getattr__(name: str) -> Any:
    if not name.startswith("_") and name in available_metrics():
        return _factory(name)
    raise AttributeError(
        f"mlflow_llm_eval.scorers has no attribute {name!r}; scorers exist "
        f"for every name in available_metrics(): {available_metrics()}"
    )


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(available_metrics()))


__all__ = [
    "DynamicBatcher",
    "MetricScorer",
    "RateLimitError",
    "make_scorer",
    "registrable",
    "scorer_factory",
]
