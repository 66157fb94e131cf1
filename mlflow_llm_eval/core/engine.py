"""The scoring engine: a frame of rows and a list of metrics in, a per-row table and aggregates out.

No MLflow here: the adapter obtains predictions and logs; this module only scores.

    >>> import pandas as pd
    >>> from mlflow_llm_eval.function_metrics.exact_match import exact_match
    >>> frame = pd.DataFrame({"predictions": ["a", "b"], "targets": ["a", "c"]})
    >>> outcome = score_frame(frame, [exact_match()])
    >>> outcome.table["exact_match/v1/score"].tolist(), outcome.aggregates["exact_match/v1/mean"]
    ([1.0, 0.0], 0.5)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.aggregate import aggregate
from mlflow_llm_eval.core.merge import batch_part, merge_extra_aggregates, public
from mlflow_llm_eval.core.plan import (  # noqa: F401 - MissingColumnError, order_by_... re-exported
    EvaluationPlan,
    MissingColumnError,
    build_plan,
    check_unique_keys,
    missing_message,
    order_by_dependencies,
    plan_columns,
)
from mlflow_llm_eval.core.repeats import RepeatedError
from mlflow_llm_eval.core.model_failures import mark_model_failures
from mlflow_llm_eval.core.row_status import warn_unscored
from mlflow_llm_eval.core.types import OK, Metric, MetricResult, Status

_logger = logging.getLogger(__name__)

#: After this many single-row retries fail with the same error, the rest get that error unscored.
_SAME_ERROR_LIMIT = 3


@dataclass
class ScoredFrame:
    """The engine's output: the user's rows with score columns added, and the aggregates."""

    table: pd.DataFrame
    aggregates: dict[str, float]
    results: dict[str, MetricResult] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    #: The model's own status/reason columns (``outputs/status``): the package's, not the user's.
    model_columns: list[str] = field(default_factory=list)


def resolve_columns(
    metric: Metric,
    frame_columns: Sequence[str],
    defaults: Mapping[str, str],
    col_mapping: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Map each logical column the metric needs (and optional ones present) to a frame column.

    Raises :class:`MissingColumnError` naming every missing column of the metric.
    """
    resolved, missing = plan_columns(metric, frame_columns, defaults, col_mapping or {})
    if missing:
        raise MissingColumnError(missing_message([(metric, missing)], frame_columns))
    return resolved


def _rows_for(frame: pd.DataFrame, columns: Mapping[str, str]) -> dict[str, list[Any]]:
    return {logical: frame[actual].tolist() for logical, actual in columns.items()}


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def run_metric(metric: Metric, rows: Mapping[str, list[Any]], n_rows: int) -> MetricResult:
    """Score a batch; if the batch call raises, score row by row so one bad row stays one NaN."""
    try:
        result = metric.score_batch(rows)
        if len(result) != n_rows:
            raise RuntimeError(f"returned {len(result)} scores for {n_rows} rows")
        return result
    except Exception as batch_exc:  # noqa: BLE001 - any metric failure becomes per-row status
        _logger.warning(
            "metric %s failed on the batch (%s); scoring row by row",
            metric.key,
            _error_text(batch_exc),
        )
    per_row = []
    repeats = RepeatedError(_SAME_ERROR_LIMIT)
    for i in range(n_rows):
        if repeats.stopped is not None:
            per_row.append(MetricResult.all_failed(1, "error", repeats.stopped))
            continue
        try:
            single = metric.score_batch({k: [v[i]] for k, v in rows.items()})
            if len(single) != 1:
                raise RuntimeError(f"returned {len(single)} scores for 1 row")
            per_row.append(single)
            repeats.succeeded()
        except Exception as exc:  # noqa: BLE001 - one row's failure is that row's status
            text = _error_text(exc)
            repeats.failed(text)
            per_row.append(MetricResult.all_failed(1, "error", text))
    return _concat(per_row, metric)


def _concat(parts: Sequence[MetricResult], metric: Metric) -> MetricResult:
    """Join single-row results; extra aggregates merge as the metric declares (merge.py)."""
    has_just = any(p.justifications is not None for p in parts)
    return MetricResult(
        scores=[s for p in parts for s in p.scores],
        statuses=[s for p in parts for s in p.statuses],
        reasons=[r for p in parts for r in p.reasons],
        justifications=[j for p in parts for j in (p.justifications or [None] * len(p))]
        if has_just
        else None,
        extra_aggregates=merge_extra_aggregates(metric, [batch_part(p) for p in parts]),
    )


def metric_columns(metric: Metric, result: MetricResult) -> dict[str, list[Any]]:
    """The table columns of one metric: score, justification (if any), status, reason."""
    given = {
        "score": result.scores,
        "justification": result.justifications,
        "status": result.statuses,
        "reason": result.reasons,
    }
    shown = shown_suffixes(result.statuses, result.justifications is not None)
    return {
        metric.score_column if suffix == "score" else f"{metric.key}/{suffix}": list(
            given[suffix] or []
        )
        for suffix in shown
    }


def shown_suffixes(statuses: Sequence[str], has_justification: bool) -> list[str]:
    """Which of a metric's columns the table shows (the classic table, the Spark sample):
    none for a metric that gives only an aggregate (as in MLflow's table); else the score and
    status, the justification when one is set, the reason when a row is not ``ok``.

        >>> shown_suffixes(["ok", "missing"], False), shown_suffixes(["aggregate_only"], False)
        (['score', 'status', 'reason'], [])
    """
    if _aggregate_only(statuses):
        return []
    shown = ["score", *(["justification"] if has_justification else []), "status"]
    return shown + (["reason"] if any(s != OK for s in statuses) else [])


def _aggregate_only(statuses: Sequence[str]) -> bool:
    return bool(statuses) and all(s == Status.AGGREGATE_ONLY for s in statuses)


def score_series(metric: Metric, scores: Sequence[float], index: pd.Index) -> pd.Series:
    """The score column: floats (NaN unscored), or ints when the metric counts (None unscored)."""
    if not metric.integer_scores:
        return pd.Series(scores, index=index, dtype=float)
    if all(not math.isnan(s) for s in scores):
        return pd.Series([int(s) for s in scores], index=index, dtype="int64")
    return pd.Series([None if math.isnan(s) else int(s) for s in scores], index=index, dtype=object)


def metric_aggregates(metric: Metric, result: MetricResult, prefix: str = "") -> dict[str, float]:
    """Run-metric names and values for one metric, e.g. ``rouge1/v1/mean``."""
    return named_aggregates(metric, aggregate_values(metric, result), prefix)


def aggregate_values(metric: Metric, result: MetricResult) -> dict[str, float]:
    """One metric's aggregates by their short names (``mean``, ``ratio``): see
    :func:`assemble_aggregates`."""
    row_values = None
    if not _aggregate_only(result.statuses):
        row_values = aggregate(
            result.scores, metric.aggregations, metric.value_kind, metric.value_range
        )
    return assemble_aggregates(row_values, result.extra_aggregates)


def assemble_aggregates(
    row_values: Mapping[str, float] | None, extras: Mapping[str, float]
) -> dict[str, float]:
    """The row aggregates (None: a metric that gives only an aggregate has none) updated with
    the logged extra aggregates (:func:`~mlflow_llm_eval.core.merge.public`). Every door's
    aggregates are assembled here: the classic one from the rows, Spark from merged summaries."""
    values = dict(row_values or {})
    values.update(public(extras))
    return values


def named_aggregates(
    metric: Metric, values: Mapping[str, float], prefix: str = ""
) -> dict[str, float]:
    """``{"mean": ..}`` -> ``{"<prefix><name>/<version>/mean": ..}``, plus the headline bare key.

    An aggregate named after the metric itself is logged under the bare key, as MLflow does
    (``exact_match/v1``). The pandas and Spark paths both name aggregates here.
    """
    out = {}
    for name, value in values.items():
        out[prefix + (metric.key if name == metric.name else f"{metric.key}/{name}")] = value
    if metric.headline_aggregation is not None:
        out[prefix + metric.key] = values[metric.headline_aggregation]
    return out


def score_frame(
    frame: pd.DataFrame,
    metrics: Sequence[Metric],
    *,
    defaults: Mapping[str, str] | None = None,
    col_mapping: Mapping[str, Any] | None = None,
) -> ScoredFrame:
    """Score every row of ``frame`` with every metric; columns are resolved before any scoring."""
    if len(frame) == 0:
        raise ValueError("the evaluation data is empty: there are no rows to score")
    plan = build_plan(
        metrics,
        columns=list(frame.columns),
        defaults=defaults,
        evaluator_config={"col_mapping": dict(col_mapping or {})},
    )
    return score_planned(plan, frame)


def score_rows(
    plan: EvaluationPlan,
    column: Callable[[str], list[Any]],
    n_rows: int,
    seconds: dict[str, float] | None = None,
) -> dict[str, MetricResult]:
    """Run the plan's metrics in order over one batch (``column(name)`` -> its values); each
    is bound to the results before it (derived metrics). The executor's and the classic path's
    scoring loop."""
    results: dict[str, MetricResult] = {}
    earlier: dict[str, tuple[Metric, MetricResult]] = {}
    for step in plan.steps:
        started = time.perf_counter()
        rows = {logical: column(actual) for logical, actual in step.columns.items()}
        result = run_metric(step.metric.bind(earlier), rows, n_rows)
        if seconds is not None:
            seconds[step.metric.key] = time.perf_counter() - started
        results[step.metric.key] = result
        earlier[step.metric.key] = (step.metric, result)
    return results


def score_planned(plan: EvaluationPlan, frame: pd.DataFrame) -> ScoredFrame:
    """The classic table: ``frame`` plus each metric's columns (``metric_prefix`` applied), and
    the aggregates, named by the plan."""
    if len(frame) == 0:
        raise ValueError("the evaluation data is empty: there are no rows to score")
    added: dict[str, pd.Series] = {}
    aggregates: dict[str, float] = {}
    seconds: dict[str, float] = {}
    results = score_rows(plan, lambda name: frame[name].tolist(), len(frame), seconds)
    for metric in plan.metrics:
        result = results[metric.key]
        for name, values in metric_columns(metric, result).items():
            if name == metric.score_column:
                added[plan.prefixed(name)] = score_series(metric, values, frame.index)
            else:  # object keeps None as None
                added[plan.prefixed(name)] = pd.Series(values, index=frame.index, dtype=object)
        aggregates.update(metric_aggregates(metric, result, plan.config.metric_prefix))
    # one concat, not one insert per column (a frame of many metrics stays unfragmented)
    table = pd.concat(
        [
            frame.drop(columns=[c for c in added if c in frame.columns]),
            pd.DataFrame(added, index=frame.index),
        ],
        axis=1,
    )
    model_columns = mark_model_failures(  # the model's failure, not "missing"
        {plan.prefixed(k): r for k, r in results.items()},
        table,
        plan.defaults.get("predictions", ""),
    )
    warn_unscored(results, plan.metrics)
    return ScoredFrame(table, aggregates, results, seconds, model_columns)
