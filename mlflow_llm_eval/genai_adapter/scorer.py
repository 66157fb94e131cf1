"""One generic MLflow 3 scorer for every registered metric, built from its declared metadata.

``make_scorer("rougeL")`` (or ``le.scorers.rougeL()``) wraps the metric in a
:class:`MetricScorer`: MLflow calls it once per row from its worker threads; concurrent calls
are collected by a :class:`~.batcher.DynamicBatcher` and scored with ONE
``metric.score_batch`` call (a judge's engine over all of them, one padded forward pass for a
model), so the numbers are those of the classic path on the same rows.

Each row gives one ``Feedback``: ``value`` = the score, ``rationale`` = the judge's
justification, ``source`` = ``LLM_JUDGE`` with the judge model URI for judges, ``CODE`` with
``<name>/<version>`` otherwise; ``metadata`` carries ``llm_eval.status`` (and
``llm_eval.reason``). A row we cannot score is a Feedback with ``error`` set (error code = our
status in capitals, message = our reason), never an exception, with one exception: a judge row
still ``rate_limited`` after our engine's retries raises an error MLflow recognises as a 429
(``on_rate_limit="raise"``, the default), because MLflow's harness retries those
(``MLFLOW_GENAI_EVAL_MAX_RETRIES``, default 3, with backoff, and slows its scorer rate limiter);
``on_rate_limit="feedback"`` returns the error Feedback instead.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from mlflow.entities import AssessmentError, AssessmentSource, AssessmentSourceType, Feedback
from mlflow.genai.scorers import Scorer
from pydantic import PrivateAttr

from mlflow_llm_eval.core.by_language import record_rows
from mlflow_llm_eval.core.engine import score_rows
from mlflow_llm_eval.core.merge import batch_part, merge_extra_aggregates, public
from mlflow_llm_eval.core.plan import EvaluationPlan, Step, build_plan
from mlflow_llm_eval.core.registry import get_metric
from mlflow_llm_eval.core.types import Metric, RowScore
from mlflow_llm_eval.genai_adapter.batcher import DynamicBatcher
from mlflow_llm_eval.genai_adapter.fields import resolve_row, validate_field_map
from mlflow_llm_eval.genai_adapter.trace_fields import default_field_map, with_passage_spans

#: Aggregations MLflow computes for a scorer (``mlflow.genai.scorers.base._AggregationType``).
MLFLOW_AGGREGATIONS = ("min", "max", "mean", "median", "variance", "p90")
RATE_LIMIT_POLICIES = ("raise", "feedback")
#: Batches of a judge that may run at once (each one engine run over its rows).
JUDGE_IN_FLIGHT = 8
STATUS_KEY, REASON_KEY, METRIC_KEY = "llm_eval.status", "llm_eval.reason", "llm_eval.metric"


class RateLimitError(Exception):
    """A judge row still rate-limited after our engine's retries (HTTP 429).

    The class name and ``status_code`` are what MLflow's ``is_rate_limit_error`` checks, so its
    harness retries the row (and backs its scorer rate limiter off).
    """

    status_code = 429


def _json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


class MetricScorer(Scorer):
    """An MLflow 3 scorer that runs one of our metrics (see the module docstring).

    Build it with :func:`make_scorer`. ``accounting`` merges the metric's extra aggregates over
    the batches as the metric declares (:func:`~mlflow_llm_eval.core.merge.merge_extra_aggregates`:
    a judge's ``judge_requests`` summed, toxicity's ``ratio`` weighted by scored rows, ...);
    ``batch_stats`` says how the calls were batched.
    """

    #: The wrapped metric's declared metadata (name, version, requires, ...), for the record
    #: and for MLflow's scorer digest.
    llm_eval_metric: dict[str, Any] = {}

    _metric: Metric = PrivateAttr()
    _columns: tuple[str, ...] = PrivateAttr()
    _field_map: dict[str, str] = PrivateAttr()
    _batcher: DynamicBatcher = PrivateAttr()
    _on_rate_limit: str = PrivateAttr()
    _source: AssessmentSource = PrivateAttr()
    _parts: list[tuple[dict[str, float], int]] = PrivateAttr()
    _lock: threading.Lock = PrivateAttr()

    def _configure(
        self,
        metric: Metric,
        *,
        field_map: Mapping[str, str] | None,
        batch_size: int,
        batch_window: float,
        max_in_flight: int | None,
        on_rate_limit: str,
    ) -> MetricScorer:
        if on_rate_limit not in RATE_LIMIT_POLICIES:
            raise ValueError(
                f"on_rate_limit must be one of {RATE_LIMIT_POLICIES}, got {on_rate_limit!r}"
            )
        judge_model = metric.metadata().get("judge_model")
        if max_in_flight is None:  # requests overlap; a model's forward passes queue up
            max_in_flight = JUDGE_IN_FLIGHT if judge_model else 1
        EvaluationPlan([Step(metric, {})]).refuse(
            "an MLflow 3 scorer",
            {
                f"derived metric '{metric.key}' (it reads {list(metric.dependencies)})": bool(
                    metric.dependencies
                )
            },
        )
        self._metric = metric
        self._columns = tuple(dict.fromkeys(metric.requires + metric.optional))
        # agent metrics read the trace (RETRIEVER ids) unless the user maps the fields
        self._field_map = validate_field_map({**default_field_map(metric), **(field_map or {})})
        self._batcher = DynamicBatcher(
            self._score_rows, max_batch=batch_size, window=batch_window, max_in_flight=max_in_flight
        )
        self._on_rate_limit = on_rate_limit
        self._source = (
            AssessmentSource(AssessmentSourceType.LLM_JUDGE, str(judge_model))
            if judge_model
            else AssessmentSource(AssessmentSourceType.CODE, metric.key)
        )
        self._parts = []
        self._lock = threading.Lock()
        return self

    @property
    def metric(self) -> Metric:
        """The wrapped metric."""
        return self._metric

    @property
    def accounting(self) -> dict[str, float]:
        with self._lock:
            parts = list(self._parts)
        return public(merge_extra_aggregates(self._metric, parts))

    @property
    def batch_stats(self):
        return self._batcher.stats

    def _score_rows(self, rows: list[dict[str, Any]]) -> list[RowScore]:
        """The batch function: one ``score_batch`` per set of fields the rows give (row by row
        if it raises). An optional field a row lacks is absent for that row, whatever its
        batch-mates give, so a row's result never depends on how the calls were batched."""
        required = set(self._metric.requires)
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, r in enumerate(rows):
            given = tuple(c for c in self._columns if c in required or r[c] is not None)
            groups.setdefault(given, []).append(i)
        out: list[RowScore | None] = [None] * len(rows)
        for present, indices in groups.items():
            plan = build_plan([self._metric], columns=present)  # the plan every door scores with

            def column(c: str, ix: list[int] = indices) -> list[Any]:
                return [rows[i][c] for i in ix]

            result = score_rows(plan, column, len(indices))[self._metric.key]
            record_rows(self, [rows[i] for i in indices], result)  # per-language aggregates
            with self._lock:
                self._parts.append(batch_part(result))
            for j, i in enumerate(indices):
                out[i] = result.row(j)
        return out  # type: ignore[return-value]

    def __call__(
        self,
        *,
        inputs: Any = None,
        outputs: Any = None,
        expectations: dict[str, Any] | None = None,
        trace: Any = None,
    ) -> Feedback:
        row = resolve_row(
            self._columns,
            inputs=inputs,
            outputs=outputs,
            expectations=expectations,
            trace=trace,
            field_map=self._field_map,
        )
        row = with_passage_spans(self._metric, row, trace, self._field_map)  # claims -> spans
        score: RowScore = self._batcher.submit(row)
        return self._feedback(score)

    def _feedback(self, score: RowScore) -> Feedback:
        metadata = {METRIC_KEY: self._metric.key, STATUS_KEY: score.status}
        if score.scored:
            if score.reason:
                metadata[REASON_KEY] = score.reason
            extra = getattr(self._metric, "feedback_metadata", None)  # e.g. claim -> span ids
            metadata.update(extra(score) if extra is not None else {})
            return Feedback(
                name=self.name,
                value=score.value,
                rationale=score.justification,
                source=self._source,
                metadata=metadata,
            )
        reason = score.reason or score.status
        if score.status == "rate_limited" and self._on_rate_limit == "raise":
            raise RateLimitError(f"{self._metric.key}: rate_limited (HTTP 429): {reason}")
        metadata[REASON_KEY] = reason
        return Feedback(
            name=self.name,
            value=None,
            rationale=score.justification,
            source=self._source,
            error=AssessmentError(error_code=score.status.upper(), error_message=reason),
            metadata=metadata,
        )


def make_scorer(
    metric: Metric | str,
    *,
    name: str | None = None,
    aggregations: list[str] | None = None,
    field_map: Mapping[str, str] | None = None,
    batch_size: int = 64,
    batch_window: float = 0.01,
    max_in_flight: int | None = None,
    on_rate_limit: str = "raise",
    description: str | None = None,
    **options: Any,
) -> MetricScorer:
    """An MLflow 3 scorer for ``metric`` (a registered name with its ``options``, or a metric).

    ``name``: the scorer/assessment name (default the metric's name; run metrics are
    ``<name>/<aggregation>``). ``aggregations``: MLflow's (default the metric's, among
    ``min max mean median variance p90``). ``field_map``: logical column -> path such as
    ``"expectations.reference"`` (see :mod:`.fields`). ``batch_size`` / ``batch_window``: the
    dynamic batcher's cap and wait in seconds; ``max_in_flight``: batches running at once
    (default 8 for a judge, 1 for other metrics, whose callers then queue into the next
    batch while one runs). ``on_rate_limit``: ``"raise"`` or
    ``"feedback"`` (module docstring).

        >>> s = make_scorer("rougeL")
        >>> s.name, s.aggregations, s.llm_eval_metric["version"]
        ('rougeL', ['mean', 'variance', 'p90'], 'v1')
        >>> s(outputs="the cat sat", expectations={"expected_response": "the cat sat down"}).value
        0.8571428571428571
    """
    if isinstance(metric, str):
        metric = get_metric(metric, **options)
    elif options:
        raise TypeError(f"options {sorted(options)} apply to a metric name, not to {metric!r}")
    if not isinstance(metric, Metric):
        raise TypeError(
            f"make_scorer needs one of our metrics or a registered name, got "
            f"{type(metric).__name__}"
        )
    if aggregations is None:
        aggregations = [a for a in metric.aggregations if a in MLFLOW_AGGREGATIONS] or ["mean"]
    unknown = [a for a in aggregations if a not in MLFLOW_AGGREGATIONS]
    if unknown:
        raise ValueError(f"aggregations {unknown} are not MLflow's; use {MLFLOW_AGGREGATIONS}")
    # a conversation judge: one call per MLflow session
    cls = SessionScorer if metric.requires == ("conversation",) else MetricScorer
    scorer = cls(
        name=name or metric.name,
        aggregations=list(aggregations),
        description=description or metric.description or None,
        llm_eval_metric=_json_safe(metric.metadata()),
    )
    return scorer._configure(
        metric,
        field_map=field_map,
        batch_size=batch_size,
        batch_window=batch_window,
        max_in_flight=max_in_flight,
        on_rate_limit=on_rate_limit,
    )


# MLflow 3 sessions: the conversation judges as session-level scorers.
#
# ``le.scorers.goal_completion(model=...)`` (any metric reading only ``conversation``) is a
# :class:`SessionScorer`: MLflow's harness groups the evaluated traces by session
# (``mlflow.trace.session`` metadata) and calls it once per session with the session's traces. The
# conversation is MLflow's own reading of the session
# (``mlflow.genai.utils.trace_utils.resolve_conversation_from_session`` with tool calls: a user
# message per trace input, a tool message per TOOL span, an assistant message per output; an
# internal helper, through genai_adapter/compat.py, pinned by tests/compat), then judged like a ``conversation``
# cell. A call with ``conversation=`` outside a harness also works (a list of chat messages).


def conversation_of_session(session: Any) -> Any:
    """The chat messages of a session's traces (None when there is no session)."""
    if not session:
        return None
    from mlflow_llm_eval.genai_adapter.compat import conversation_of_session as of_session

    return of_session(list(session))


class SessionScorer(MetricScorer):
    """A :class:`MetricScorer` of a conversation metric, called once per MLflow session."""

    @property
    def is_session_level_scorer(self) -> bool:
        return True

    def __call__(  # type: ignore[override]  # MLflow passes what the signature names: session=
        self,
        *,
        session: Any = None,
        expectations: dict[str, Any] | None = None,
        conversation: Any = None,
    ) -> Feedback:
        row = {
            "conversation": conversation
            if conversation is not None
            else conversation_of_session(session)
        }
        score: RowScore = self._batcher.submit(row)
        return self._feedback(score)
