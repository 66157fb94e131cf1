"""Executor side: every Arrow batch of a partition scored by the core engine.

The driver pickles a :class:`PartitionPlan` (the evaluation plan of
:mod:`mlflow_llm_eval.core.plan`, its metrics' budgets already split, and the endpoint model if
any); :func:`score_partition` unpickles it once per task and runs
:func:`~mlflow_llm_eval.core.engine.score_rows` on each batch (the classic path's loop:
dependency order, derived metrics bound to the batch's earlier results), so a bad row is one
NaN with a status, as on one machine. Models (toxicity, BERTScore) come from the per-process model
cache of :mod:`mlflow_llm_eval.hf.loading`: loaded once per Python worker (Spark reuses
workers), on the executor's GPU when it has one.

Output per metric: the plan's layout (:meth:`~mlflow_llm_eval.core.plan.EvaluationPlan.layout`:
score, justification, status, reason, ``metric_prefix`` applied), and :data:`STATS_COLUMN`: on the last row of each batch,
a JSON object ``{metric key: {"scored": n, "summary": <the batch's partial summary>,
"extras": {<extra aggregate>: value}, "aggregate_only": bool}}`` (:func:`~mlflow_llm_eval.core.summary.partial_summary`: moments and
value counts; judge requests, tokens, toxicity ratio inputs), null on the other rows. It is how accounting reaches the
driver without accumulators (which Spark Connect lacks).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.engine import metric_columns, score_rows
from mlflow_llm_eval.core.model_failures import mark_failed_rows, reason_column, status_column
from mlflow_llm_eval.core.plan import SUFFIXES, EvaluationPlan  # noqa: F401 - SUFFIXES re-exported
from mlflow_llm_eval.core.summary import partial_summary
from mlflow_llm_eval.core.text import encodable_text
from mlflow_llm_eval.core.types import Metric, MetricResult

STATS_COLUMN = "llm_eval/batch_stats"


@dataclass
class PartitionPlan:
    plan: EvaluationPlan
    output_columns: list[str]
    endpoint_model: Any = None
    model_inputs: list[str] = field(default_factory=list)
    model_output: str | None = None
    #: model_input="text": the model gets this column's values, not the feature frame
    text_input: str | None = None
    answers_dir: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    #: The endpoint model reports each row's status and reason: written as
    #: ``<model_output>/status`` and ``/reason``, and the metrics' rows it failed are marked
    #: ``model_failed`` (:mod:`mlflow_llm_eval.core.model_failures`, as on the classic door).
    model_statuses: bool = False


def _plain(value: Any) -> Any:
    """Arrow hands arrays as numpy arrays and structs as Rows: give metrics plain Python."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    if hasattr(value, "asDict"):
        return value.asDict(recursive=True)
    return value


def _with_shared_answers(plan: PartitionPlan, partition: int) -> list[Any]:
    """Give the judges and a deterministic endpoint model (temperature 0 and a seed, as on one
    machine) this partition's shared answer store; return the stores to close."""
    from mlflow_llm_eval.spark_adapter.answers import SharedAnswers
    from mlflow_llm_eval.spark_adapter.ship import request_options_of

    if plan.answers_dir is None:
        return []
    store = SharedAnswers(Path(plan.answers_dir), partition)
    users: list[Any] = [
        m
        for m in plan.plan.metrics
        if request_options_of(m) is not None and getattr(m, "cache", None) is not False
    ]
    model = plan.endpoint_model
    if model is not None and _caches_answers(model):
        users.append(model)
    for user in users:
        user.cache = store
    return [store] if users else []


def _caches_answers(model: Any) -> bool:
    """An endpoint model whose answers may be reused (see ``judge.endpoint_model``)."""
    from mlflow_llm_eval.judge.endpoint_model import EndpointModel, deterministic

    return (
        isinstance(model, EndpointModel)
        and model.cache not in (False, None)
        and deterministic(model.parameters)
    )


def score_partition(blob: bytes, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The ``mapInPandas`` function: unpickle the plan once, score each batch."""
    from pyspark import TaskContext

    from mlflow_llm_eval.spark_adapter.ship import loads

    plan: PartitionPlan = loads(blob)
    for name, value in plan.env.items():
        os.environ.setdefault(name, value)
    context = TaskContext.get()
    stores = _with_shared_answers(plan, context.partitionId() if context else 0)
    try:
        for frame in batches:
            if len(frame):
                yield score_batch(plan, frame)
    finally:
        for store in stores:
            store.close()


def score_batch(plan: PartitionPlan, frame: pd.DataFrame) -> pd.DataFrame:
    """Score one batch; returns the batch's columns plus the metric and stats columns."""
    frame = frame.reset_index(drop=True)
    out = frame.copy()
    if plan.endpoint_model is not None:
        given = (
            frame[plan.text_input].tolist()
            if plan.text_input is not None
            else frame[plan.model_inputs]
        )
        answers = _answer(plan.endpoint_model, given)
        out[plan.model_output] = pd.Series(list(answers), index=out.index, dtype=object)
    stats: dict[str, dict[str, Any]] = {}
    results = score_rows(plan.plan, lambda c: [_plain(v) for v in out[c].tolist()], len(out))
    if plan.model_statuses and plan.model_output is not None:
        statuses = [str(s) for s in getattr(answers, "statuses", ["ok"] * len(out))]
        reasons = list(getattr(answers, "reasons", [None] * len(out)))
        mark_failed_rows(results, plan.model_output, statuses, reasons)
        out[status_column(plan.model_output)] = _text(statuses)
        out[reason_column(plan.model_output)] = _text(reasons)
    added: dict[str, pd.Series] = {}
    for metric in plan.plan.metrics:
        result = results[metric.key]
        for suffix, values in _columns(metric, result).items():
            added[plan.plan.column(metric, suffix)] = values
        summary = partial_summary(result.scores)
        stats[metric.key] = {
            "scored": summary["count"],
            "summary": summary,
            "extras": {k: float(v) for k, v in result.extra_aggregates.items()},
            "aggregate_only": not metric_columns(metric, result),
        }
    added[STATS_COLUMN] = pd.Series([None] * (len(out) - 1) + [json.dumps(stats)], dtype=object)
    out = pd.concat(
        [
            out.drop(columns=[c for c in added if c in out.columns]),
            pd.DataFrame(added, index=out.index),
        ],
        axis=1,
    )  # one concat, unfragmented
    return out[plan.output_columns]


def _answer(model: Any, given: Any) -> Any:
    """The model's answers for one batch; an endpoint model keeps a batch whose rows all
    failed for a passing reason (see ``EndpointModel.answer``), as rows marked."""
    from mlflow_llm_eval.judge.endpoint_model import EndpointModel

    if isinstance(model, EndpointModel):
        return model.answer(given, batch_of_many=True)
    return model(given)


def _text(values: list[Any]) -> pd.Series:
    """Strings Arrow can encode (a judge's answer may hold a lone surrogate: escaped)."""
    return pd.Series([None if v is None else encodable_text(str(v)) for v in values], dtype=object)


def _columns(metric: Metric, result: MetricResult) -> dict[str, pd.Series]:
    justifications = result.justifications or [None] * len(result)
    scores = pd.Series(result.scores, dtype=float)
    return {
        # a counting metric's column holds ints (null where unscored), as on the pandas path
        "score": scores.round().astype("Int64") if metric.integer_scores else scores,
        "justification": _text(justifications),
        "status": _text(result.statuses),
        "reason": _text(result.reasons),
    }
