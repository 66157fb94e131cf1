"""What the runner gives each model's evaluation, on pandas and on Spark alike: the
``evaluator_config`` of the config (``col_mapping``, the one input column as ``inputs``,
``human_labels``), the name of a predictions file's column and an endpoint model.

    >>> from types import SimpleNamespace
    >>> cfg = SimpleNamespace(human_labels={},
    ...     dataset=SimpleNamespace(col_mapping={}, inputs=["question"]))
    >>> evaluator_config(cfg), predictions_name(["question", "predictions"])
    ({'col_mapping': {'inputs': 'question'}}, 'model_predictions')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlflow_llm_eval.config.schema import EvalConfig, ModelSpec
from mlflow_llm_eval.core.plan import free_name


def evaluator_config(cfg: EvalConfig) -> dict[str, Any]:
    """The ``evaluator_config`` of every model's evaluation."""
    ds = cfg.dataset
    col_mapping = dict(ds.col_mapping)
    if len(ds.inputs) == 1:
        col_mapping.setdefault("inputs", ds.inputs[0])
    config: dict[str, Any] = {"col_mapping": col_mapping}
    if cfg.human_labels:
        config["human_labels"] = dict(cfg.human_labels)
    return config


def predictions_name(columns: Sequence[str]) -> str:
    """The column a predictions file's answers get (never a dataset column's name)."""
    return free_name("predictions", set(columns))


def endpoint_model(spec: ModelSpec) -> Any:
    """The endpoint model of an ``endpoint:`` model entry, with its request options."""
    from mlflow_llm_eval.judge.endpoint_model import EndpointModel

    return EndpointModel.from_uri(
        str(spec.endpoint),
        spec.prompt_template,
        spec.params,
        concurrency=spec.concurrency,
        **spec.request_options(),
    )
