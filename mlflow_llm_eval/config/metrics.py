"""Resolve a config's metrics and check every cross-reference, before any run is created.

The metric list is the ``model_type`` preset (MLflow's defaults for that type) followed by the
declared ``metrics:``; a declared metric replaces a preset one with the same key. LLM-judge
metrics receive the ``judge:`` options (``model`` at least); options written on the metric's
own entry win.

Default tie-breakers (when ``select.tie_breakers`` is not given): the mean of every other
metric, in list order, each in its own direction (``greater_is_better``); then model order.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlflow_llm_eval.config.pyref import load_callable
from mlflow_llm_eval.config.schema import EvalConfig
from mlflow_llm_eval.config.source import Loc, format_loc
from mlflow_llm_eval.core.registry import PRESETS, get_metric
from mlflow_llm_eval.core.types import Metric
from mlflow_llm_eval.select import Objective, language_key

#: Aggregates every metric logs besides its declared aggregations.
COMMON_AGGREGATES = ("mean_ci_low", "mean_ci_high", "count", "unscored")


@dataclass
class MetricPlan:
    """The metrics to compute and the selection rule resolved against them."""

    metrics: list[Metric]
    #: (name, options) of each metric, to build fresh instances per model (no shared state).
    specs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    objective: Objective | None = None
    tie_breakers: list[Objective] = field(default_factory=list)
    callables: dict[str, Any] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [m.key for m in self.metrics]

    def fresh_metrics(self) -> list[Metric]:
        """New instances of the same metrics (each model's evaluation gets its own)."""
        return [get_metric(name, **options) for name, options in self.specs]


def is_judge(name: str) -> bool:
    """Whether ``name`` is an LLM-judge metric (it takes a judge ``model``)."""
    from mlflow_llm_eval.judge.pack import pack_names

    return name in pack_names()


def _build(
    cfg: EvalConfig, problems: list[tuple[Loc, str]]
) -> tuple[list[Metric], list[tuple[str, dict[str, Any]]]]:
    entries: list[tuple[str, dict[str, Any], Loc]] = [
        (name, {}, ("model_type",)) for name in PRESETS.get(cfg.model_type or "", ())
    ]
    entries += [(e.name, e.options, ("metrics", i)) for i, e in enumerate(cfg.metrics)]
    metrics: dict[str, Metric] = {}
    specs: dict[str, tuple[str, dict[str, Any]]] = {}
    declared: dict[str, Loc] = {}
    for name, own, loc in entries:
        options = _options(cfg, name, own)
        metric = _make(name, options, loc, problems)
        if metric is None:
            continue
        if metric.key in declared:
            problems.append(
                (
                    loc,
                    f"metric '{metric.key}' is already listed at {format_loc(declared[metric.key])}",
                )
            )
            continue
        if loc[0] == "metrics":
            declared[metric.key] = loc
        metrics[metric.key] = metric  # a declared metric replaces the preset's, in place
        specs[metric.key] = (name, options)
    if not metrics and not problems:
        problems.append((("metrics",), "no metrics: list some under metrics: or set a model_type"))
    return list(metrics.values()), list(specs.values())


def _options(cfg: EvalConfig, name: str, own: dict[str, Any]) -> dict[str, Any]:
    if cfg.judge is not None and is_judge(name):
        return {**cfg.judge.options, **own}
    return dict(own)


def _make(
    name: str, options: dict[str, Any], loc: Loc, problems: list[tuple[Loc, str]]
) -> Metric | None:
    try:
        return get_metric(name, **options)
    except KeyError as exc:
        problems.append((loc, str(exc.args[0]) if exc.args else str(exc)))
    except (TypeError, ValueError) as exc:
        hint = (
            " (an LLM judge: set judge: {model: ...})"
            if is_judge(name) and "model" not in options
            else ""
        )
        problems.append((loc, f"metric '{name}': {exc}{hint}"))
    return None


def _check_key(key: str, metrics: list[Metric], loc: Loc, problems: list[tuple[Loc, str]]) -> None:
    by_key = {m.key: m for m in metrics}
    if key in by_key and by_key[key].headline_aggregation is not None:
        return
    prefix, _, aggregation = key.rpartition("/")
    metric = by_key.get(prefix)
    if metric is None:
        known = [f"{m.key}/{a}" for m in metrics for a in ("mean",)]
        hint = difflib.get_close_matches(key, known, n=1)
        problems.append(
            (
                loc,
                (
                    f"'{key}' is not a run metric of this config (metrics: {', '.join(by_key) or 'none'})"
                    + (
                        f"; did you mean '{hint[0]}'?"
                        if hint
                        else "; write '<name>/<version>/<aggregation>'"
                    )
                ),
            )
        )
        return
    known_aggs = list(metric.aggregations) + list(COMMON_AGGREGATES)
    close = difflib.get_close_matches(aggregation, known_aggs, n=1, cutoff=0.6)
    if aggregation not in known_aggs and close:
        problems.append(
            (loc, f"'{key}': unknown aggregation '{aggregation}'; did you mean '{close[0]}'?")
        )


def plan_metrics(cfg: EvalConfig, base_dir: Path) -> tuple[MetricPlan, list[tuple[Loc, str]]]:
    """Resolve metrics, callables and the selection rule; return the plan and the problems."""
    problems: list[tuple[Loc, str]] = []
    seen: dict[str, int] = {}
    for index, model in enumerate(cfg.models):
        if model.name in seen:
            problems.append(
                (
                    ("models", index, "name"),
                    f"model name '{model.name}' is already used by models[{seen[model.name]}]",
                )
            )
        seen.setdefault(model.name, index)
    callables: dict[str, Any] = {}
    for index, model in enumerate(cfg.models):
        if model.kind == "python":
            try:
                callables[model.name] = load_callable(model.python, base_dir)
            except (ImportError, AttributeError, TypeError, ValueError, SyntaxError) as exc:
                problems.append((("models", index, "python"), f"{type(exc).__name__}: {exc}"))
    metrics, specs = _build(cfg, problems)
    plan = MetricPlan(metrics, specs, callables=callables)
    if cfg.registry is not None and cfg.select is None:
        problems.append(
            (("register",), "register needs a select: rule to choose the model to register")
        )
    if cfg.select is None or not metrics:
        return plan, problems
    objective_key = "maximize" if cfg.select.maximize is not None else "minimize"
    plan.objective = cfg.select.objective
    _check_key(plan.objective.key, metrics, ("select", objective_key), problems)
    for index, constraint in enumerate(cfg.select.constraints):
        _check_key(constraint.key, metrics, ("select", "constraints", index), problems)
    if cfg.select.tie_breakers is not None:
        for index, spec in enumerate(cfg.select.tie_breakers):
            _check_key(spec.objective.key, metrics, ("select", "tie_breakers", index), problems)
        plan.tie_breakers = [spec.objective for spec in cfg.select.tie_breakers]
    else:
        plan.tie_breakers = [
            Objective(f"{m.key}/mean", "maximize" if m.greater_is_better else "minimize")
            for m in metrics
            if f"{m.key}/mean" != plan.objective.key and "mean" in m.aggregations
        ]
        language = cfg.select.language
        plan.tie_breakers = [
            Objective(language_key(o.key, language), o.direction) for o in plan.tie_breakers
        ]
    plan.objective = Objective(
        language_key(plan.objective.key, cfg.select.language), plan.objective.direction
    )
    return plan, problems
