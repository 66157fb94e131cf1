"""``evaluator_config``, validated once before any row is scored, the same on every door.

:class:`EvaluatorConfig` holds our keys (``col_mapping``, ``model_input``, ``metric_prefix``,
``human_labels``, ``retriever_k``) and the keys passed on to MLflow ``make_metric`` eval_fns;
an unknown key is an error naming it. :func:`retriever_k` reads the retriever preset's ``k``.
The evaluation plan (:mod:`mlflow_llm_eval.core.plan`) carries the validated config.

    >>> config = EvaluatorConfig.from_dict({"col_mapping": {"targets": "gold"},
    ...                                     "metric_prefix": "dev_"})
    >>> config.col_mapping, config.metric_prefix, config.model_input
    ({'targets': 'gold'}, 'dev_', 'dataframe')
    >>> retriever_k({"retriever_k": 5}), retriever_k(None)
    (5, 3)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlflow_llm_eval.core.types import Metric

MODEL_INPUTS = ("dataframe", "text")


@dataclass
class EvaluatorConfig:
    """``evaluator_config``, validated before any row is scored (the same on every door).

    Besides our keys, a key named like a parameter of an MLflow ``make_metric`` eval_fn (a
    metric with ``metric_parameters()``) is passed to it, as MLflow's default evaluator does.
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
        cls, config: Mapping[str, Any] | None, metrics: Sequence[Metric] | None = None
    ) -> EvaluatorConfig:
        config = dict(config or {})
        parameters = {p for m in metrics or () for p in _parameters_of(m)}
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
            isinstance(k, str) and isinstance(v, str) for k, v in human_labels.items()
        ):
            raise ValueError(
                "human_labels must map judge names to column names, e.g. "
                f"{{'answer_correctness': 'human_score'}}, got {human_labels!r}"
            )
        prefix = config.get("metric_prefix") or ""
        if not isinstance(prefix, str):
            raise ValueError(f"metric_prefix must be a string, got {type(prefix).__name__}")
        retriever_k(config)
        passed = {k: v for k, v in config.items() if k in parameters}
        return cls(dict(col_mapping), model_input, prefix, passed, dict(human_labels))


def retriever_k(config: Mapping[str, Any] | None) -> int:
    """``retriever_k`` (MLflow's key for the retriever preset's k): a positive int, default 3."""
    k = (config or {}).get("retriever_k", 3)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"retriever_k must be a positive integer, got {k!r}")
    return k


def _parameters_of(metric: Metric) -> list[str]:
    names = getattr(metric, "metric_parameters", None)
    return list(names()) if callable(names) else []
