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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.aggregate import aggregate
from mlflow_llm_eval.core.repeats import RepeatedError
from mlflow_llm_eval.core.types import OK, Metric, MetricResult, Status

_logger = logging.getLogger(__name__)

#: After this many single-row retries fail with the same error, the rest get that error unscored.
_SAME_ERROR_LIMIT = 3


class MissingColumnError(KeyError):
    """A metric needs a column the data does not have."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


@dataclass
class ScoredFrame:
    """The engine's output: the user's rows with score columns added, and the aggregates."""

    table: pd.DataFrame
    aggregates: dict[str, float]
    results: dict[str, MetricResult] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def resolve_columns(
    metric: Metric,
    frame_columns: Sequence[str],
    defaults: Mapping[str, str],
    col_mapping: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Map each logical column the metric needs (and optional ones present) to a frame column.

    Raises :class:`MissingColumnError` naming every missing column of the metric.
    """
    resolved, missing = _plan_columns(metric, frame_columns, defaults, col_mapping or {})
    if missing:
        raise MissingColumnError(_missing_message([(metric, missing)], frame_columns))
    return resolved


def _plan_columns(
    metric: Metric,
    frame_columns: Sequence[str],
    defaults: Mapping[str, str],
    col_mapping: Mapping[str, Any],
) -> tuple[dict[str, str], list[tuple[str, Any]]]:
    present = set(frame_columns)
    resolved: dict[str, str] = {}
    missing: list[tuple[str, Any]] = []
    for logical, required in [(c, True) for c in metric.requires] + [
        (c, False) for c in metric.optional
    ]:
        actual = col_mapping.get(logical, defaults.get(logical, logical))
        if isinstance(actual, str) and actual in present:
            resolved[logical] = actual
        elif required:
            missing.append((logical, actual))
    return resolved, missing


def _missing_message(
    problems: Sequence[tuple[Metric, list[tuple[str, Any]]]], frame_columns: Sequence[str]
) -> str:
    lines = []
    for metric, missing in problems:
        names = ", ".join(
            f"'{logical}'" + (f" (mapped to '{actual}')" if actual != logical else "")
            for logical, actual in missing
        )
        lines.append(f"metric '{metric.key}' needs column(s) {names}")
    first = problems[0][1][0][0]
    return (
        "; ".join(lines) + f", which are not in the data. Columns present: {list(frame_columns)}. "
        f"Map a column with evaluator_config={{'col_mapping': {{'{first}': '<your column>'}}}}."
    )


def plan_metrics(
    metrics: Sequence[Metric],
    frame_columns: Sequence[str],
    defaults: Mapping[str, str],
    col_mapping: Mapping[str, Any] | None = None,
) -> list[tuple[Metric, dict[str, str]]]:
    """Order the metrics (dependencies first) and resolve their columns, before any scoring.

    Every missing column of every metric is reported in one :class:`MissingColumnError`; a
    dependency on an unknown metric or a cycle is a ValueError naming them.
    """
    check_unique_keys(metrics)
    plans, problems = [], []
    for metric in order_by_dependencies(metrics):
        resolved, missing = _plan_columns(metric, frame_columns, defaults, col_mapping or {})
        if missing:
            problems.append((metric, missing))
        plans.append((metric, resolved))
    if problems:
        raise MissingColumnError(_missing_message(problems, frame_columns))
    return plans


def order_by_dependencies(metrics: Sequence[Metric]) -> list[Metric]:
    """The metrics in their given order, except that each comes after the metrics it reads."""
    by_name: dict[str, Metric] = {}
    for metric in metrics:
        by_name.setdefault(metric.name, metric)
        by_name[metric.key] = metric
    unknown = [(m.key, d) for m in metrics for d in m.dependencies if d not in by_name]
    if unknown:
        raise ValueError(
            "metric(s) read the results of metrics that are not computed: "
            + ", ".join(f"'{key}' reads '{dep}'" for key, dep in unknown)
            + f"; metrics computed: {[m.key for m in metrics]}"
        )
    ordered: list[Metric] = []
    state: dict[str, str] = {}

    def visit(metric: Metric, path: list[str]) -> None:
        if state.get(metric.key) == "done":
            return
        if state.get(metric.key) == "visiting":
            cycle = path[path.index(metric.key):] + [metric.key]
            raise ValueError(f"metrics depend on each other in a cycle: {' -> '.join(cycle)}")
        state[metric.key] = "visiting"
        for dep in metric.dependencies:
            visit(by_name[dep], path + [metric.key])
        state[metric.key] = "done"
        ordered.append(metric)

    for metric in metrics:
        visit(metric, [])
    return ordered


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
        _logger.warning("metric %s failed on the batch (%s); scoring row by row", metric.key,
                        _error_text(batch_exc))
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
        except Exception as exc:  # noqa: BLE001
            text = _error_text(exc)
            repeats.failed(text)
            per_row.append(MetricResult.all_failed(1, "error", text))
    return _concat(per_row, metric.averaged_aggregates)


def _concat(parts: Sequence[MetricResult], averaged: frozenset[str] = frozenset()) -> MetricResult:
    """Join single-row results; extra aggregates are summed, or (``averaged``) a mean over scored rows."""
    has_just = any(p.justifications is not None for p in parts)
    return MetricResult(
        scores=[s for p in parts for s in p.scores],
        statuses=[s for p in parts for s in p.statuses],
        reasons=[r for p in parts for r in p.reasons],
        justifications=[j for p in parts for j in (p.justifications or [None] * len(p))]
        if has_just
        else None,
        extra_aggregates=_combine_extra_aggregates(parts, averaged),
    )


def _combine_extra_aggregates(
    parts: Sequence[MetricResult], averaged: frozenset[str]
) -> dict[str, float]:
    combined: dict[str, float] = {}
    names = dict.fromkeys(name for p in parts for name in p.extra_aggregates)
    for name in names:
        if name in averaged:
            pairs = [
                (p.extra_aggregates[name], sum(1 for s in p.scores if not math.isnan(s)))
                for p in parts
                if name in p.extra_aggregates and not math.isnan(p.extra_aggregates[name])
            ]
            weight = sum(w for _, w in pairs)
            combined[name] = sum(v * w for v, w in pairs) / weight if weight else math.nan
        else:
            combined[name] = sum(p.extra_aggregates.get(name, 0) for p in parts)
    return combined


def metric_columns(metric: Metric, result: MetricResult) -> dict[str, list[Any]]:
    """The table columns of one metric: score, justification (if any), status, reason.

    A metric that gives only an aggregate has no columns (as in MLflow's table).
    """
    if _aggregate_only(result):
        return {}
    columns: dict[str, list[Any]] = {metric.score_column: list(result.scores)}
    if result.justifications is not None:
        columns[f"{metric.key}/justification"] = list(result.justifications)
    columns[f"{metric.key}/status"] = list(result.statuses)
    if any(s != OK for s in result.statuses):
        columns[f"{metric.key}/reason"] = list(result.reasons)
    return columns


def _aggregate_only(result: MetricResult) -> bool:
    return bool(result.statuses) and all(s == Status.AGGREGATE_ONLY for s in result.statuses)


def score_series(metric: Metric, scores: Sequence[float], index: pd.Index) -> pd.Series:
    """The score column: floats (NaN unscored), or ints when the metric counts (None unscored)."""
    if not metric.integer_scores:
        return pd.Series(scores, index=index, dtype=float)
    if all(not math.isnan(s) for s in scores):
        return pd.Series([int(s) for s in scores], index=index, dtype="int64")
    return pd.Series([None if math.isnan(s) else int(s) for s in scores], index=index, dtype=object)


def metric_aggregates(metric: Metric, result: MetricResult) -> dict[str, float]:
    """Run-metric names and values for one metric, e.g. ``rouge1/v1/mean``."""
    if _aggregate_only(result):
        values: dict[str, float] = dict(result.extra_aggregates)  # no per-row scores to aggregate
    else:
        values = aggregate(result.scores, metric.aggregations, metric.value_kind,
                           metric.value_range)
        values.update(result.extra_aggregates)
    return named_aggregates(metric, values)


def named_aggregates(metric: Metric, values: Mapping[str, float]) -> dict[str, float]:
    """``{"mean": ..}`` -> ``{"<name>/<version>/mean": ..}``, plus the headline bare key.

    An aggregate named after the metric itself is logged under the bare key, as MLflow does
    (``exact_match/v1``). The pandas and Spark paths both name aggregates here.
    """
    out = {}
    for name, value in values.items():
        out[metric.key if name == metric.name else f"{metric.key}/{name}"] = value
    if metric.headline_aggregation is not None:
        out[metric.key] = values[metric.headline_aggregation]
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
    plans = plan_metrics(metrics, list(frame.columns), dict(defaults or {}), col_mapping)
    added: dict[str, pd.Series] = {}
    aggregates: dict[str, float] = {}
    results: dict[str, MetricResult] = {}
    seconds: dict[str, float] = {}
    earlier: dict[str, tuple[Metric, MetricResult]] = {}
    for metric, columns in plans:
        started = time.perf_counter()
        result = run_metric(metric.bind(earlier), _rows_for(frame, columns), len(frame))
        seconds[metric.key] = time.perf_counter() - started
        results[metric.key] = result
        earlier[metric.key] = (metric, result)
        for name, values in metric_columns(metric, result).items():
            if name == metric.score_column:
                added[name] = score_series(metric, values, frame.index)
            else:  # object keeps None as None
                added[name] = pd.Series(values, index=frame.index, dtype=object)
        aggregates.update(metric_aggregates(metric, result))
    # one concat, not one insert per column (a frame of many metrics stays unfragmented)
    table = pd.concat([frame.drop(columns=[c for c in added if c in frame.columns]),
                       pd.DataFrame(added, index=frame.index)], axis=1)
    return ScoredFrame(table=table, aggregates=aggregates, results=results, seconds=seconds)


def check_unique_keys(metrics: Sequence[Metric]) -> None:
    """Two metrics with one key would overwrite each other's columns: a ValueError naming both."""
    seen: dict[str, Metric] = {}
    for metric in metrics:
        if metric.key in seen:
            raise ValueError(
                f"two metrics share the key '{metric.key}' ({seen[metric.key]!r} and {metric!r}); "
                "give one another name or version"
            )
        seen[metric.key] = metric
