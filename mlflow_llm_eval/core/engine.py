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
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.aggregate import aggregate
from mlflow_llm_eval.core.repeats import RepeatedError
from mlflow_llm_eval.core.types import OK, Metric, MetricResult

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
    """Map each logical column the metric needs (and optional ones present) to a frame column."""
    col_mapping = col_mapping or {}
    present = list(frame_columns)
    resolved: dict[str, str] = {}
    for logical, required in [(c, True) for c in metric.requires] + [
        (c, False) for c in metric.optional
    ]:
        actual = col_mapping.get(logical, defaults.get(logical, logical))
        if isinstance(actual, str) and actual in present:
            resolved[logical] = actual
        elif required:
            raise MissingColumnError(
                f"metric '{metric.key}' needs column '{logical}'"
                + (f" (mapped to '{actual}')" if actual != logical else "")
                + f", which is not in the data. Columns present: {present}. Map it with "
                f"evaluator_config={{'col_mapping': {{'{logical}': '<your column>'}}}}."
            )
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
    return _concat(per_row)


def _concat(parts: Sequence[MetricResult]) -> MetricResult:
    has_just = any(p.justifications is not None for p in parts)
    return MetricResult(
        scores=[s for p in parts for s in p.scores],
        statuses=[s for p in parts for s in p.statuses],
        reasons=[r for p in parts for r in p.reasons],
        justifications=[j for p in parts for j in (p.justifications or [None] * len(p))]
        if has_just
        else None,
    )


def metric_columns(metric: Metric, result: MetricResult) -> dict[str, list[Any]]:
    """The table columns of one metric: score, justification (if any), status, reason."""
    columns: dict[str, list[Any]] = {f"{metric.key}/score": list(result.scores)}
    if result.justifications is not None:
        columns[f"{metric.key}/justification"] = list(result.justifications)
    columns[f"{metric.key}/status"] = list(result.statuses)
    if any(s != OK for s in result.statuses):
        columns[f"{metric.key}/reason"] = list(result.reasons)
    return columns


def metric_aggregates(metric: Metric, result: MetricResult) -> dict[str, float]:
    """Run-metric names and values for one metric, e.g. ``rouge1/v1/mean``."""
    values = aggregate(result.scores, metric.aggregations)
    values.update(result.extra_aggregates)
    out = {f"{metric.key}/{name}": value for name, value in values.items()}
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
    _check_unique_keys(metrics)
    defaults = dict(defaults or {})
    plans = [
        (metric, resolve_columns(metric, list(frame.columns), defaults, col_mapping))
        for metric in metrics
    ]
    table = frame.copy()
    aggregates: dict[str, float] = {}
    results: dict[str, MetricResult] = {}
    seconds: dict[str, float] = {}
    for metric, columns in plans:
        started = time.perf_counter()
        result = run_metric(metric, _rows_for(frame, columns), len(frame))
        seconds[metric.key] = time.perf_counter() - started
        results[metric.key] = result
        for name, values in metric_columns(metric, result).items():
            dtype = float if name.endswith("/score") else object  # keep None as None
            table[name] = pd.Series(values, index=table.index, dtype=dtype)
        aggregates.update(metric_aggregates(metric, result))
    return ScoredFrame(table=table, aggregates=aggregates, results=results, seconds=seconds)


def _check_unique_keys(metrics: Sequence[Metric]) -> None:
    seen: dict[str, Metric] = {}
    for metric in metrics:
        if metric.key in seen:
            raise ValueError(
                f"two metrics share the key '{metric.key}' ({seen[metric.key]!r} and {metric!r}); "
                "give one another name or version"
            )
        seen[metric.key] = metric
