"""A model under test that failed on a row keeps its reason (issue 17, part 4): one rule for
every door.

An endpoint model reports, per row, its status (``ok``, ``rate_limited``, ``timeout``,
``endpoint_unavailable``, ...) and reason. The table then carries them as
``<output>/status`` and ``<output>/reason`` (:func:`failure_columns`), and every metric that
found the output missing on a failed row says why, status ``model_failed`` with the model's
status and reason (:func:`mark_failed_rows`), not ``missing``. The classic door applies it to
the scored table (:func:`mark_model_failures`); the Spark door to each batch's results before
their columns are written (``spark_adapter.partition``). Scores and aggregates do not change
(those rows were unscored anyway); a metric that did not need the output keeps its own status.

    >>> from mlflow_llm_eval.core.types import MetricResult
    >>> result = MetricResult([1.0, float("nan")], ["ok", "missing"],
    ...                       [None, "predictions is missing (None/NaN)"])
    >>> mark_failed_rows({"m/v1": result}, "outputs", ["ok", "rate_limited"], [None, "HTTP 429"])
    {'m/v1': [1]}
    >>> result.statuses, result.reasons[1]
    (['ok', 'model_failed'], 'the model under test failed on this row (outputs/status rate_limited): HTTP 429')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.types import MetricResult, Status


def status_column(output: str) -> str:
    """The column of the model's per-row status, e.g. ``outputs/status``."""
    return f"{output}/status"


def reason_column(output: str) -> str:
    """The column of the model's per-row reason, e.g. ``outputs/reason``."""
    return f"{output}/reason"


def failure_columns(
    output: str, statuses: Sequence[str], reasons: Sequence[str | None] | None
) -> dict[str, list[Any]]:
    """The model's columns for the table: its status, and its reason when a row failed (as a
    metric's ``/reason`` column).

        >>> failure_columns("outputs", ["ok", "timeout"], [None, "no answer in 5 s"])
        {'outputs/status': ['ok', 'timeout'], 'outputs/reason': [None, 'no answer in 5 s']}
        >>> failure_columns("outputs", ["ok"], [None])
        {'outputs/status': ['ok']}
    """
    columns: dict[str, list[Any]] = {status_column(output): [str(s) for s in statuses]}
    if any(s != Status.OK for s in statuses):
        columns[reason_column(output)] = list(reasons or [None] * len(statuses))
    return columns


def _found_output_missing(status: str, reason: str | None) -> bool:
    """The metric's own "missing" for the output ("predictions is missing"), not another
    column's (a missing target stays ``missing``)."""
    return status == Status.MISSING and str(reason or "predictions").startswith("predictions")


def failed_reason(output: str, status: str, reason: str | None) -> str:
    """The reason a metric gives on a row the model failed.

    >>> failed_reason("outputs", "timeout", None)
    'the model under test failed on this row (outputs/status timeout): timeout'
    """
    return (
        f"the model under test failed on this row ({status_column(output)} {status}): "
        f"{reason or status}"
    )


def mark_failed_rows(
    results: Mapping[str, MetricResult],
    output: str,
    statuses: Sequence[str],
    reasons: Sequence[str | None] | None,
) -> dict[str, list[int]]:
    """Mark, in place, each result's rows the model failed on and the metric found the output
    missing: status ``model_failed``, the model's status and reason. Returns the rows changed per
    result key (keys without a change are left out)."""
    model_reasons = list(reasons) if reasons is not None else [None] * len(statuses)
    failed = [(i, str(s), model_reasons[i]) for i, s in enumerate(statuses) if s != Status.OK]
    changed: dict[str, list[int]] = {}
    for key, result in results.items():
        rows = [
            i
            for i, _, _ in failed
            if i < len(result.statuses)
            and _found_output_missing(result.statuses[i], result.reasons[i])
        ]
        for i, status, reason in failed:
            if i in rows:
                result.statuses[i] = Status.MODEL_FAILED.value
                result.reasons[i] = failed_reason(output, status, reason)
        if rows:
            changed[key] = rows
    return changed


def mark_model_failures(results: dict[str, Any], table: pd.DataFrame, output: str) -> list[str]:
    """The classic door's table: read the model's ``<output>/status`` and ``/reason`` columns,
    mark the results (:func:`mark_failed_rows`) and the table's ``<key>/status`` and
    ``<key>/reason`` columns alike. Returns the model's columns found (the package wrote them:
    not user data).

        >>> from mlflow_llm_eval.core.types import MetricResult
        >>> result = MetricResult([1.0, float("nan")], ["ok", "missing"],
        ...                       [None, "predictions is missing (None/NaN)"])
        >>> table = pd.DataFrame({"outputs": ["a", None], "outputs/status": ["ok", "rate_limited"],
        ...                       "outputs/reason": [None, "HTTP 429 after 3 attempts"],
        ...                       "m/v1/status": ["ok", "missing"],
        ...                       "m/v1/reason": [None, "predictions is missing (None/NaN)"]})
        >>> mark_model_failures({"m/v1": result}, table, "outputs")
        ['outputs/status', 'outputs/reason']
        >>> table["m/v1/status"].tolist(), table["m/v1/reason"].tolist()[1]
        (['ok', 'model_failed'], 'the model under test failed on this row (outputs/status rate_limited): HTTP 429 after 3 attempts')
    """
    status, reason = status_column(output), reason_column(output)
    if status not in table.columns:
        return []
    statuses = table[status].tolist()
    reasons = table[reason].tolist() if reason in table.columns else None
    for key, rows in mark_failed_rows(results, output, statuses, reasons).items():
        if f"{key}/status" not in table.columns:
            continue
        result = results[key]
        column_statuses = table[f"{key}/status"].tolist()
        column_reasons = (
            table[f"{key}/reason"].tolist()
            if f"{key}/reason" in table.columns
            else [None] * len(table)
        )
        for i in rows:
            column_statuses[i], column_reasons[i] = result.statuses[i], result.reasons[i]
        table[f"{key}/status"] = pd.Series(column_statuses, index=table.index, dtype=object)
        table[f"{key}/reason"] = pd.Series(column_reasons, index=table.index, dtype=object)
    return [c for c in (status, reason) if c in table.columns]
