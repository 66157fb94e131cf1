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
from enum import Enum
from typing import Any

from mlflow_llm_eval.core.intervals import ci_method

#: A batch of rows, column-wise: logical column name -> one value per row.
#: Logical names are ``predictions``, ``targets``, ``inputs`` and any context column.
RowBatch = Mapping[str, Sequence[Any]]


class Status(str, Enum):
    """Every row status the package writes to a ``<metric>/status`` column (one vocabulary).

    A member compares equal to its text (``Status.OK == "ok"``), so tables keep plain strings.
    docs/statuses.md's table lists the same members (a test checks it).
    """

    OK = "ok"
    TRUNCATED = "truncated"
    MISSING = "missing"
    NOT_TEXT = "not_text"
    EMPTY = "empty"
    INVALID_UNICODE = "invalid_unicode"
    TOO_LONG = "too_long"
    NOT_NUMBER = "not_number"
    MALFORMED = "malformed"
    ERROR = "error"
    UNSCORED = "unscored"
    UNAVAILABLE = "unavailable"
    AGGREGATE_ONLY = "aggregate_only"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"
    REQUEST_ERROR = "request_error"
    PARSE_ERROR = "parse_error"
    ENDPOINT_UNAVAILABLE = "endpoint_unavailable"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    MODEL_FAILED = "model_failed"
    UNSUPPORTED_LANGUAGE = "unsupported_language"

    def __str__(self) -> str:
        return self.value

    @property
    def meaning(self) -> str:
        return STATUSES[self.value]


OK = Status.OK.value
#: Status text -> what it means (docs/statuses.md's table holds the same rows).
STATUSES: dict[str, str] = {
    "ok": "scored",
    "truncated": "scored after truncating the text to the model's maximum length",
    "missing": "the value is None or NaN",
    "not_text": "the value is not a string (number, dict, list, ...)",
    "empty": "the value is an empty or whitespace-only string",
    "invalid_unicode": "the text holds a lone surrogate or other un-encodable code point",
    "too_long": "the text exceeds the metric's max_chars",
    "not_number": "the value (e.g. a latency, an MLflow metric's score) is not a number",
    "malformed": "the value lacks the expected structure (not a list of ids, a tool call without a name, arguments that are not JSON)",
    "error": "the metric raised on this row (the reason holds the error)",
    "unscored": "the metric returned no score (None/NaN) for this row",
    "unavailable": "the metric's model or data could not be loaded (offline, not installed)",
    "aggregate_only": "the metric gives only an aggregate, no per-row score",
    "rate_limited": "the judge endpoint kept answering 429 until the retries ran out",
    "timeout": "the judge endpoint did not answer in time",
    "server_error": "the judge endpoint answered 5xx or the connection failed",
    "request_error": "the judge endpoint refused the request (4xx other than 429)",
    "parse_error": "the judge's answer could not be parsed into a score on the scale",
    "endpoint_unavailable": "not sent: the endpoint stopped answering (circuit breaker open); re-run to resume",
    "deadline_exceeded": "not answered before the run's deadline; re-run to resume",
    "model_failed": "the model under test gave no output for this row (its status and reason are in the outputs/status and outputs/reason columns)",
    "unsupported_language": "the row's language is one the metric's formula or model does not "
    "cover (the reason names it)",
}
#: Statuses whose rows carry a score.
SCORED_STATUSES = frozenset({Status.OK.value, Status.TRUNCATED.value})

DEFAULT_AGGREGATIONS: tuple[str, ...] = ("mean", "variance", "p90")

#: How an extra aggregate merges across batches (see ``Metric.aggregate_merges``).
SUM, SCORED_MEAN, NOT_MERGEABLE = "sum", "scored_mean", "none"
#: An aggregate of the per-row scores (``mean``...): over several batches the door's own row
#: aggregate of that name, computed over every row, stands for it.
ROWS = "rows"
#: Recomputed by the metric (:meth:`Metric.aggregates_from_counts`) from its count aggregates,
#: named ``_counts/...`` (summed over batches, never logged): e.g. a balanced accuracy.
FROM_COUNTS, COUNTS_PREFIX = "from_counts", "_counts/"
#: Request accounting of any metric that calls an endpoint: counts, summed over batches.
REQUEST_ACCOUNTING: Mapping[str, str] = {
    name: SUM
    for name in (
        "judge_requests",
        "judge_retries",
        "judge_repairs",
        "judge_cache_hits",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
    )
}


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
        return cls(math.nan, str(status), reason, justification)

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
    #: ``None`` keys the metric by its bare name, as MLflow does for a versionless make_metric.
    version: str | None = "v1"
    greater_is_better: bool = True
    #: Logical columns the metric reads; ``col_mapping`` maps them to dataset columns.
    requires: tuple[str, ...] = ("predictions",)
    #: Columns used when present, never required (e.g. ``targets`` for a judge).
    optional: tuple[str, ...] = ()
    aggregations: tuple[str, ...] = DEFAULT_AGGREGATIONS
    #: If set, the aggregate also logged under the bare ``<name>/<version>`` key (MLflow style).
    headline_aggregation: str | None = None
    #: One line shown in the metric reference (docs, generated) and in reports.
    description: str = ""
    #: What the per-row values are; it picks the mean's interval (core/intervals.py):
    #: "binary" (0/1), "bounded" (in ``value_range``, default [0, 1]), "ordinal" (a judge
    #: scale, ``value_range`` = its ends) or "unbounded".
    value_kind: str = "unbounded"
    value_range: tuple[float, float] | None = None
    #: MLflow names a few metrics' score column by the bare key (``token_count``, ``latency``).
    bare_score_column: bool = False
    #: Scores are whole numbers (logged as ints, as MLflow logs token counts).
    integer_scores: bool = False
    #: Names of other metrics whose results this one reads (derived metrics): scored first.
    dependencies: tuple[str, ...] = ()
    #: How each extra aggregate merges when the rows are scored in several batches (Spark
    #: partitions, MLflow 3 scorer batches, the engine's row-by-row fallback): name (an
    #: ``fnmatch`` pattern) -> :data:`SUM`, :data:`SCORED_MEAN` (weighted by each batch's scored
    #: rows), ``"weighted_by:<name>"`` (weighted by a count aggregate of the same prefix),
    #: :data:`ROWS` (recomputed from every row's score by the row aggregates), or
    #: :data:`NOT_MERGEABLE` (exact within one batch only; left out with a warning otherwise).
    #: An undeclared name is not mergeable. Read by :mod:`mlflow_llm_eval.core.merge`.
    aggregate_merges: Mapping[str, str] = REQUEST_ACCOUNTING

    @property
    def key(self) -> str:
        """``<name>/<version>`` (or ``<name>`` without a version): prefix of its columns and metrics."""
        return f"{self.name}/{self.version}" if self.version else self.name

    @property
    def score_column(self) -> str:
        return self.key if self.bare_score_column else f"{self.key}/score"

    def bind(self, earlier: Mapping[str, tuple[Metric, MetricResult]]) -> Metric:
        """This metric ready to score, given the results of the metrics scored before it.

        ``earlier`` maps each earlier metric's key to (metric, result). Most metrics ignore it
        and return themselves; a derived metric returns a copy holding what it reads.
        """
        return self

    def aggregates_from_counts(self, counts: Mapping[str, float]) -> dict[str, float]:
        """The :data:`FROM_COUNTS` aggregates from the summed ``_counts/...`` aggregates."""
        raise NotImplementedError(f"{self.key} declares no aggregates computed from counts")

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
            "value_kind": self.value_kind,
            "value_range": list(self.value_range) if self.value_range is not None else None,
            "ci_method": ci_method(self.value_kind),
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key={self.key!r})"
