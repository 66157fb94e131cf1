"""Bring your own metric: one small per-row function becomes a full metric.

    >>> import mlflow_llm_eval as le
    >>> @le.make_row_metric(name="mentions_paris", requires=("predictions",))
    ... def mentions_paris(prediction):
    ...     return float("paris" in prediction.lower())
    >>> le.evaluate_sample(mentions_paris, prediction="It is Paris.").value
    1.0

The function receives one value per required column, in ``requires`` order, and returns a float,
a ``(float, justification)`` pair, or a :class:`RowScore`. An exception or a ``None``/NaN result
on one row gives that row NaN with a status and the reason; the other rows are still scored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

from mlflow_llm_eval.core.aggregate import validate_aggregations
from mlflow_llm_eval.core.intervals import check_kind
from mlflow_llm_eval.core.types import (
    DEFAULT_AGGREGATIONS,
    Metric,
    MetricResult,
    RowBatch,
    RowScore,
    Status,
)

RowFunction = Callable[..., Any]


class RowMetric(Metric):
    """A metric built from a per-row function; see :func:`make_row_metric`."""

    def __init__(
        self,
        fn: RowFunction,
        *,
        name: str,
        version: str = "v1",
        greater_is_better: bool = True,
        requires: Sequence[str] = ("predictions",),
        aggregations: Sequence[str] = DEFAULT_AGGREGATIONS,
        description: str = "",
        value_kind: str = "unbounded",
        value_range: Sequence[float] | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"make_row_metric needs a callable, got {type(fn).__name__}")
        if not name or "/" in name:
            raise ValueError(f"metric name must be non-empty and contain no '/': {name!r}")
        if not requires:
            raise ValueError("requires must name at least one column")
        self.fn, self.name, self.version = fn, name, version
        self.greater_is_better = bool(greater_is_better)
        self.requires = tuple(requires)
        self.aggregations = validate_aggregations(aggregations)
        check_kind(value_kind, value_range)
        self.value_kind = value_kind
        self.value_range = (
            None if value_range is None else (float(value_range[0]), float(value_range[1]))
        )
        self.description = description or (fn.__doc__ or "").strip().split("\n")[0]

    def score_batch(self, rows: RowBatch) -> MetricResult:
        columns = [rows[c] for c in self.requires]
        return MetricResult.from_rows([self._score_one(values) for values in zip(*columns)])

    def _score_one(self, values: tuple[Any, ...]) -> RowScore:
        try:
            returned = self.fn(*values)
        except Exception as exc:  # noqa: BLE001 - the user's function failing on one row
            return RowScore.unscored(Status.ERROR, f"{type(exc).__name__}: {exc}"[:2000])
        return as_row_score(returned)


def as_row_score(returned: Any) -> RowScore:
    """Normalise what a user's function returned into a RowScore."""
    if isinstance(returned, RowScore):
        return returned
    justification = None
    if isinstance(returned, tuple) and len(returned) == 2:
        returned, justification = returned
        justification = None if justification is None else str(justification)
    if returned is None or (isinstance(returned, float) and math.isnan(returned)):
        return RowScore.unscored(Status.UNSCORED, "the metric returned no score", justification)
    if isinstance(returned, bool) or isinstance(returned, Real):
        return RowScore.ok(float(returned), justification)
    return RowScore.unscored(
        Status.NOT_NUMBER,
        f"the metric returned {type(returned).__name__}, not a number",
        justification,
    )


def make_row_metric(
    fn: RowFunction | None = None,
    *,
    name: str,
    version: str = "v1",
    greater_is_better: bool = True,
    requires: Sequence[str] = ("predictions",),
    aggregations: Sequence[str] = DEFAULT_AGGREGATIONS,
    description: str = "",
    value_kind: str = "unbounded",
    value_range: Sequence[float] | None = None,
) -> RowMetric | Callable[[RowFunction], RowMetric]:
    """Build a metric from a per-row function; usable directly or as a decorator.

    ``value_kind`` ("binary", "bounded", "ordinal" with ``value_range=(1, 5)``, or "unbounded")
    picks the interval of the mean (see :mod:`mlflow_llm_eval.core.intervals`).
    """

    def build(function: RowFunction) -> RowMetric:
        return RowMetric(
            function,
            name=name,
            version=version,
            greater_is_better=greater_is_better,
            requires=requires,
            aggregations=aggregations,
            description=description,
            value_kind=value_kind,
            value_range=value_range,
        )

    return build(fn) if fn is not None else build
