"""The shapes every metric shares: a batch of rows in, one result per row out.

A metric is a small object with declared metadata and one pure batch function::

    >>> from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch
    >>> class Shouting(Metric):
    ...     name, version, greater_is_better, requires = "shouting", "v1", False, ("predictions",)
    ...     def score_batch(self, rows: RowBatch) -> MetricResult:
    ...         return MetricResult.from_rows(
    ...             [RowScore.ok(float(str(p).isupper())) for p in rows["predictions"]])
    >>> from mlflow_llm_eval.core.types import RowScore
    >>> Shouting().score_batch({"predictions": ["HI", "hi"]}).scores
    [1.0, 0.0]

Scores are floats; a row that could not be scored has ``NaN`` plus a status and a reason, and
aggregates skip it. Metrics never log and never import MLflow.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: A batch of rows, column-wise: logical column name -> one value per row.
#: Logical names are ``predictions``, ``targets``, ``inputs`` and any context column.
RowBatch = Mapping[str, Sequence[Any]]

OK = "ok"
#: Row statuses used across the package. Metrics may add their own (judges: rate_limited, ...).
STATUSES = {
    OK: "scored",
    "truncated": "scored after truncating the text to the model's maximum length",
    "missing": "the value is None or NaN",
    "not_text": "the value is not a string (number, dict, list, ...)",
    "empty": "the value is an empty or whitespace-only string",
    "invalid_unicode": "the text holds a lone surrogate or other un-encodable code point",
    "too_long": "the text exceeds the metric's max_chars",
    "error": "the metric raised on this row",
    "endpoint_unavailable": "not sent: the endpoint stopped answering (circuit breaker open); re-run to resume",
    "deadline_exceeded": "not answered before the run's deadline; re-run to resume",
}

DEFAULT_AGGREGATIONS: tuple[str, ...] = ("mean", "variance", "p90")


@dataclass(frozen=True)
class RowScore:
    """One row's result: a value (NaN when unscored), why, and how it went."""

    value: float
    status: str = OK
    reason: str | None = None
    justification: str | None = None

    @classmethod
    def ok(cls, value: float, justification: str | None = None) -> RowScore:
        return cls(float(value), OK, None, justification)

    @classmethod
    def unscored(cls, status: str, reason: str, justification: str | None = None) -> RowScore:
        return cls(math.nan, status, reason, justification)

    @property
    def scored(self) -> bool:
        return not math.isnan(self.value)


@dataclass
class MetricResult:
    """Per-row results of one metric over a batch, column-wise and in input order."""

    scores: list[float]
    statuses: list[str]
    reasons: list[str | None]
    justifications: list[str | None] | None = None
    #: Extra aggregates the metric computes itself (e.g. toxicity ``ratio``), name -> value.
    extra_aggregates: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.scores)
        lengths = {len(self.statuses), len(self.reasons)}
        if self.justifications is not None:
            lengths.add(len(self.justifications))
        if lengths != {n}:
            raise ValueError(f"MetricResult columns differ in length: scores={n}, others={lengths}")

    @classmethod
    def from_rows(
        cls, rows: Sequence[RowScore], extra_aggregates: dict[str, float] | None = None
    ) -> MetricResult:
        justifications = [r.justification for r in rows]
        return cls(
            scores=[r.value for r in rows],
            statuses=[r.status for r in rows],
            reasons=[r.reason for r in rows],
            justifications=justifications if any(j is not None for j in justifications) else None,
            extra_aggregates=dict(extra_aggregates or {}),
        )

    @classmethod
    def all_failed(cls, n: int, status: str, reason: str) -> MetricResult:
        return cls.from_rows([RowScore.unscored(status, reason)] * n)

    def row(self, i: int) -> RowScore:
        j = self.justifications[i] if self.justifications is not None else None
        return RowScore(self.scores[i], self.statuses[i], self.reasons[i], j)

    def __len__(self) -> int:
        return len(self.scores)


class Metric(ABC):
    """Base class of every metric: declared metadata plus a pure batch function.

    Subclasses set the class attributes (or instance attributes in ``__init__``, where
    configuration is validated) and implement :meth:`score_batch`.
    """

    #: Metric name, used in table columns and run metrics: ``<name>/<version>/...``.
    name: str
    version: str = "v1"
    greater_is_better: bool = True
    #: Logical columns the metric reads; ``col_mapping`` maps them to dataset columns.
    requires: tuple[str, ...] = ("predictions",)
    #: Columns used when present, never required (e.g. ``targets`` for a judge).
    optional: tuple[str, ...] = ()
    aggregations: tuple[str, ...] = DEFAULT_AGGREGATIONS
    #: If set, the aggregate also logged under the bare ``<name>/<version>`` key (MLflow style).
    headline_aggregation: str | None = None
    #: One line shown in README's metric table and in reports.
    description: str = ""

    @property
    def key(self) -> str:
        """``<name>/<version>``, the prefix of every column and run metric of this metric."""
        return f"{self.name}/{self.version}"

    @abstractmethod
    def score_batch(self, rows: RowBatch) -> MetricResult:
        """Score every row of ``rows``; never raise for one bad row (NaN + status instead)."""

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "greater_is_better": self.greater_is_better,
            "requires": list(self.requires),
            "optional": list(self.optional),
            "aggregations": list(self.aggregations),
            "description": self.description,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key={self.key!r})"
