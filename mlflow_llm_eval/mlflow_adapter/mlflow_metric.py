"""MLflow's own ``EvaluationMetric`` objects (``mlflow.metrics.make_metric``, builtin ones) as metrics.

MLflow calls ``eval_fn`` with arguments chosen by parameter name; we keep that contract for
compatibility, here only (MLflow 3.x ``default_evaluator._get_args_for_metrics``), in MLflow's
order of precedence:

- ``predictions`` (or the predictions column's name) -> the predictions Series;
- ``targets`` (or the targets column's name) -> the targets Series; without targets in the data
  the parameter's default is passed, and a parameter without a default is a missing column;
- ``metrics`` -> a dict ``{"<name>/<version>": MetricValue}`` of the metrics computed before
  this one (MLflow's builtin presets come first), built from our per-row results;
- a ``col_mapping`` value that is not a string -> that value itself;
- a column of the data or of the model's other outputs -> that column;
- an ``evaluator_config`` key -> its value;
- the name of another metric -> that metric's ``MetricValue`` (a derived metric, scored after it);
- else the parameter's default, else a missing column (named in the error).

An eval_fn with exactly two parameters not named (predictions, targets) is MLflow's legacy form
``eval_fn(eval_df, builtin_metrics)``: a frame with ``prediction``/``target`` and a dict of
aggregates.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.engine import aggregate_values, metric_aggregates
from mlflow_llm_eval.core.types import ROWS, Metric, MetricResult, RowBatch, RowScore, Status

_EMPTY = inspect.Parameter.empty


class MlflowMetric(Metric):
    """Wraps an MLflow ``EvaluationMetric``; its eval_fn scores the whole batch.

    MLflow's ``MetricValue`` fills ``mean``/``variance``/``p90`` from the scores (NaN if one
    is NaN): over several batches (Spark) our row aggregates of those names, over every row,
    stand for them (NaN if a batch's is).
    """

    aggregate_merges = {name: ROWS for name in ("mean", "variance", "p90", "median", "min", "max")}

    def __init__(self, metric: Any) -> None:
        self.mlflow_metric = metric
        self.name = metric.name
        self.version = metric.version or None  # MLflow keys a versionless metric `name/...`
        self.greater_is_better = bool(metric.greater_is_better)
        self.description = (metric.metric_details or "").strip().split("\n")[0][:200]
        self._parameters = list(inspect.signature(metric.eval_fn).parameters.values())
        names = [p.name for p in self._parameters]
        self._legacy = len(names) == 2 and names[0] != "predictions" and names[1] != "targets"
        # A genai metric's extra columns arrive as *args in grading_context_columns order.
        varargs = any(p.kind is p.VAR_POSITIONAL for p in self._parameters)
        self._context_columns = (
            tuple(
                (getattr(metric, "genai_metric_args", None) or {}).get("grading_context_columns")
                or ()
            )
            if varargs
            else ()
        )
        self._bound: dict[str, Any] = {}  # set by bind(): earlier results as MetricValue
        self._by_name: dict[str, Any] = {}
        self._aggregates: dict[str, float] = {}
        self._plan: list[tuple[str, Any]] = []
        self._apply_plan(self._make_plan(None))

    # -- planning: which argument each parameter receives -------------------------------------
    def resolve(
        self,
        *,
        columns: Sequence[str],
        predictions_names: Sequence[str] = (),
        targets_names: Sequence[str] = (),
        has_targets: bool = True,
        col_mapping: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        metric_names: Sequence[str] = (),
    ) -> MlflowMetric:
        """A copy planned against the evaluation's columns, config and other metrics."""
        planned = copy.copy(self)
        planned._apply_plan(
            self._make_plan(
                {
                    "columns": set(columns),
                    "predictions": {"predictions", *predictions_names},
                    "targets": {"targets", *targets_names},
                    "has_targets": has_targets,
                    "col_mapping": dict(col_mapping or {}),
                    "config": dict(config or {}),
                    "metrics": set(metric_names) - {self.name},
                }
            )
        )
        return planned

    def _make_plan(self, ctx: dict[str, Any] | None) -> list[tuple[str, Any]]:
        if self._legacy:
            return [("eval_df", None), ("aggregates", None)]
        plan = []
        for p in self._parameters:
            if p.kind is p.VAR_POSITIONAL:
                plan.append(("context", self._context_columns))
                continue
            if p.kind is p.VAR_KEYWORD:
                continue
            plan.append(self._plan_one(p, ctx))
        return plan

    @staticmethod
    def _plan_one(p: inspect.Parameter, ctx: dict[str, Any] | None) -> tuple[str, Any]:
        if ctx is None:  # no evaluation context (evaluate_sample): names are columns
            if p.name in ("predictions", "targets", "metrics"):
                return (p.name, None)
            return ("column", p.name) if p.default is _EMPTY else ("const", p.default)
        column = ctx["col_mapping"].get(p.name, p.name)
        if isinstance(column, str) and column in ctx["predictions"]:
            return ("predictions", None)
        if isinstance(column, str) and column in ctx["targets"]:
            if ctx["has_targets"]:
                return ("targets", None)
            return ("const", p.default) if p.default is not _EMPTY else ("missing", "targets")
        if column == "metrics":
            return ("metrics", None)
        if not isinstance(column, str):
            return ("const", column)
        if column in ctx["columns"]:
            return ("column", p.name)
        if column in ctx["config"]:
            return ("const", ctx["config"][column])
        if column in ctx["metrics"]:
            return ("metric", column)
        if p.default is not _EMPTY:
            return ("const", p.default)
        return ("missing", p.name)

    def _apply_plan(self, plan: list[tuple[str, Any]]) -> None:
        self._plan = plan
        requires: list[str] = ["predictions"]  # MLflow always has predictions to pass
        optional: list[str] = []
        for kind, value in plan:
            if kind == "eval_df":
                optional.append("targets")
            elif kind == "targets":
                requires.append("targets")
            elif kind in ("column", "missing"):
                requires.append(value)
            elif kind == "context":
                requires.extend(value)
        self.requires = tuple(dict.fromkeys(requires))
        self.optional = tuple(c for c in optional if c not in self.requires)
        self.dependencies = tuple(value for kind, value in plan if kind == "metric")

    def metric_parameters(self) -> list[str]:
        """The eval_fn's parameter names (evaluator_config keys MLflow would pass by name)."""
        return [p.name for p in self._parameters]

    # -- results of earlier metrics, as MLflow's MetricValue ----------------------------------
    def bind(self, earlier: Mapping[str, tuple[Metric, MetricResult]]) -> Metric:
        wants = {kind for kind, _ in self._plan}
        if not wants & {"metrics", "metric", "aggregates"}:
            return self
        bound = copy.copy(self)
        bound._bound = {key: metric_value(m, r) for key, (m, r) in earlier.items()}
        bound._by_name = {m.name: bound._bound[key] for key, (m, _) in earlier.items()}
        bound._aggregates = {
            k: v for m, r in earlier.values() for k, v in metric_aggregates(m, r).items()
        }
        return bound

    # -- scoring -------------------------------------------------------------------------------
    def score_batch(self, rows: RowBatch) -> MetricResult:
        n = len(rows["predictions"])
        value = self.mlflow_metric.eval_fn(*self._arguments(rows))
        if value is None:
            return MetricResult.all_failed(
                n, Status.ERROR, "the MLflow metric returned None (skipped)"
            )
        if isinstance(value, (int, float)) and not isinstance(value, bool):  # aggregate only
            return MetricResult(**_no_rows(n), extra_aggregates={self.name: float(value)})
        scores = list(value.scores) if value.scores is not None else None
        justifications = list(value.justifications) if value.justifications is not None else None
        if scores is None:
            result = MetricResult(**_no_rows(n))
        else:
            if len(scores) != n:
                raise ValueError(
                    f"MLflow metric {self.name} returned {len(scores)} scores for {n} rows"
                )
            result = MetricResult.from_rows(
                [
                    _row(s, justifications[i] if justifications else None)
                    for i, s in enumerate(scores)
                ]
            )
        result.extra_aggregates = {
            k: float(v) for k, v in (value.aggregate_results or {}).items() if _is_number(v)
        }
        return result

    def _arguments(self, rows: RowBatch) -> list[Any]:
        def series(logical: str, name: str) -> pd.Series:
            return pd.Series(list(rows[logical]), name=name)

        args: list[Any] = []
        for kind, value in self._plan:
            if kind == "predictions":
                args.append(series("predictions", "prediction"))
            elif kind == "targets":
                args.append(series("targets", "target"))
            elif kind == "column":
                args.append(series(value, value))
            elif kind == "context":
                args.extend(series(c, c) for c in value)
            elif kind == "const":
                args.append(value)
            elif kind == "metrics":
                args.append(copy.deepcopy(self._bound))
            elif kind == "metric":
                args.append(copy.deepcopy(self._by_name[value]))
            elif kind == "eval_df":
                frame = pd.DataFrame({"prediction": list(rows["predictions"])})
                if "targets" in rows:
                    frame["target"] = list(rows["targets"])
                args.append(frame)
            elif kind == "aggregates":
                args.append(dict(self._aggregates))
            else:  # "missing" never reaches here: the engine reports it before scoring
                raise KeyError(value)
        return args


def metric_value(metric: Metric, result: MetricResult) -> Any:
    """Our result of one metric as MLflow's ``MetricValue`` (scores, justifications, aggregates)."""
    from mlflow.metrics import MetricValue

    aggregates = aggregate_values(metric, result)
    if metric.headline_aggregation is not None:  # MLflow's bare key, by the metric's name
        aggregates[metric.name] = aggregates[metric.headline_aggregation]
    scores = None
    if any(s != Status.AGGREGATE_ONLY for s in result.statuses):
        scores = [
            int(s) if metric.integer_scores and not math.isnan(s) else s for s in result.scores
        ]
    justifications = list(result.justifications) if result.justifications is not None else None
    return MetricValue(scores=scores, justifications=justifications, aggregate_results=aggregates)


def _no_rows(n: int) -> dict[str, Any]:
    return {
        "scores": [math.nan] * n,
        "statuses": [Status.AGGREGATE_ONLY.value] * n,
        "reasons": ["the metric gives only an aggregate, no per-row score"] * n,
    }


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _row(score: Any, justification: Any) -> RowScore:
    j = None if justification is None else str(justification)
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return RowScore.unscored(Status.UNSCORED, "the MLflow metric gave no score for this row", j)
    if isinstance(score, bool) or not isinstance(score, Real):  # MLflow allows str scores
        return RowScore.unscored(
            Status.NOT_NUMBER, f"the MLflow metric gave {score!r}, not a number"[:2000], j
        )
    return RowScore.ok(float(score), j)
