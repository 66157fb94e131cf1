"""Row statuses the doors report beyond a metric's own: the model under test's failures
(:func:`mark_model_failures`) and the warning for rows left unscored (:func:`warn_unscored`).
Applied by :func:`~mlflow_llm_eval.core.engine.score_planned`, for every door that scores a
table with it. No MLflow here.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.types import SCORED_STATUSES, Metric, MetricResult, Status

_logger = logging.getLogger(__name__)


def mark_model_failures(
    results: Mapping[str, Any], table: pd.DataFrame, output_name: str
) -> list[str]:
    """Rows where the model under test failed (``<output_name>/status`` not ``ok``): every
    metric that found the output missing says so, status ``model_failed`` with the model's
    status and reason (in place, in the per-metric results and the table's status/reason
    columns). Scores and aggregates do not change (those rows were unscored anyway); a metric
    that did not need the output keeps its own status. Returns the model's status/reason
    columns found (the package wrote them: not user data).

        >>> import pandas as pd
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
    status_column, reason_column = f"{output_name}/status", f"{output_name}/reason"
    if status_column not in table.columns:
        return []
    model_reasons = (
        table[reason_column].tolist() if reason_column in table.columns else [None] * len(table)
    )
    failed = {
        i: (s, model_reasons[i] or s)
        for i, s in enumerate(table[status_column].tolist())
        if s != Status.OK
    }
    for key, result in results.items():
        column = f"{key}/status"
        if not failed or column not in table.columns:
            continue
        reasons = (
            table[f"{key}/reason"].tolist()
            if f"{key}/reason" in table.columns
            else [None] * len(table)
        )
        statuses, changed = table[column].tolist(), False
        for i, (status, reason) in failed.items():
            # the output's own "missing" ("predictions is missing"), not another column's
            if statuses[i] == Status.MISSING and str(reasons[i] or "predictions").startswith(
                "predictions"
            ):
                statuses[i] = result.statuses[i] = Status.MODEL_FAILED.value
                reasons[i] = result.reasons[i] = (
                    f"the model under test failed on this row ({status_column} {status}): {reason}"
                )
                changed = True
        if changed:
            table[column] = pd.Series(statuses, index=table.index, dtype=object)
            table[f"{key}/reason"] = pd.Series(reasons, index=table.index, dtype=object)
    return [c for c in (status_column, reason_column) if c in table.columns]


def warn_unscored(results: Mapping[str, MetricResult], metrics: Sequence[Metric]) -> None:
    """One warning per metric that left rows unscored, with the count of each status."""
    for metric in metrics:
        counts = Counter(s for s in results[metric.key].statuses if s not in SCORED_STATUSES)
        if counts:
            _logger.warning(
                "llm_eval: %s left %d row(s) unscored: %s (see the '%s/status' and '/reason' "
                "columns of the eval_results_table)",
                metric.key,
                sum(counts.values()),
                dict(counts),
                metric.key,
            )
