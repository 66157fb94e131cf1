"""A metric that cannot run here (missing optional dependency, model not loadable) says so per row.

It never disappears silently: every row gets NaN with status ``unavailable`` and the reason, and
the evaluator warns once.

    >>> m = UnavailableMetric("toxicity", "install mlflow-llm-eval[toxicity]")
    >>> r = m.score_batch({"predictions": ["a"]})
    >>> r.statuses, r.reasons
    (['unavailable'], ['install mlflow-llm-eval[toxicity]'])
"""

from __future__ import annotations

from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch


class UnavailableMetric(Metric):
    """Stands in for a metric that cannot be computed in this environment."""

    def __init__(self, name: str, reason: str, version: str = "v1") -> None:
        self.name, self.reason, self.version = name, reason, version
        self.description = f"unavailable: {reason}"

    def score_batch(self, rows: RowBatch) -> MetricResult:
        n = len(next(iter(rows.values()))) if rows else 0
        return MetricResult.all_failed(n, "unavailable", self.reason)
