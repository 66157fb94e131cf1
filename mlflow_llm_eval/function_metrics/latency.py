"""latency: seconds the model took to answer each row, measured by the evaluator (MLflow's way).

When a metric named ``latency`` is requested and a model is called, the evaluator predicts row
by row, timing each call, and stores the seconds in a ``latency`` column; this metric scores
that column. With a static frame of predictions there is no model call to time: a ``latency``
column the user supplies is used as is, otherwise the evaluator raises a clear error.

    >>> latency().score_batch({"latency": [0.25, None, "x"]}).statuses
    ['ok', 'missing', 'not_number']
"""

from __future__ import annotations

import math
from numbers import Real

from mlflow_llm_eval.core.text import is_missing
from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch, RowScore

LATENCY_COLUMN = "latency"


class Latency(Metric):
    name = "latency"
    value_kind = "unbounded"
    version = "v1"
    greater_is_better = False
    requires = (LATENCY_COLUMN,)
    description = "seconds per row spent in the model's predict call (per-row timing)"

    def score_batch(self, rows: RowBatch) -> MetricResult:
        return MetricResult.from_rows([_seconds(v) for v in rows[LATENCY_COLUMN]])


def _seconds(value: object) -> RowScore:
    if is_missing(value):
        return RowScore.unscored("missing", "no latency was measured for this row")
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        return RowScore.unscored("not_number", f"latency {value!r} is not a finite number")
    return RowScore.ok(float(value))


def latency() -> Latency:
    """Per-row model latency in seconds (requires a model call, or a user ``latency`` column)."""
    return Latency()


METRICS = {"latency": latency}
