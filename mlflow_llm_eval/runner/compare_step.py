"""The comparison step of the multi-model runner, once every model's child run has ended.

:func:`compare` applies the selection rule (:func:`rule_text` says it in words), registers the
winner when the config has ``register:``, and logs to the parent run: the comparison table, the
paired comparisons, the winner/rule/registration tags, the ``compare: {pairwise: ...}`` step and
the HTML comparison report. :class:`RunContext` is what every step of a multi-model evaluation
reads (the config, the data, the experiment and the parent run); :mod:`.multi` builds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlflow_llm_eval.config.loader import LoadedConfig
from mlflow_llm_eval.config.schema import EvalConfig
from mlflow_llm_eval.report.comparison import comparison_frame, comparison_report
from mlflow_llm_eval.report.pairwise import pairwise_section
from mlflow_llm_eval.runner import pairwise_step, tracking
from mlflow_llm_eval.runner.comparisons import (
    PAIRED_FILE,
    comparison_run_metrics,
    comparisons_json,
    metric_for_key,
    paired_comparisons,
    reference_model,
    row_scores,
)
from mlflow_llm_eval.runner.data import EvalData
from mlflow_llm_eval.runner.results import ComparisonResult, ModelOutcome, Registration
from mlflow_llm_eval.select import Candidate, Selection, select_winner

TAG = tracking.TAG_PREFIX
COMPARISON_REPORT_FILE = "llm_eval/comparison.html"
COMPARISON_TABLE_FILE = "llm_eval/comparison_table.json"


@dataclass
class RunContext:
    """One multi-model evaluation: its loaded config and data, experiment and parent run."""

    loaded: LoadedConfig
    data: EvalData
    experiment_id: str
    parent_run_id: str
    pairwise: Any = None  # the compare.pairwise judge (runner/pairwise_step.py)

    @property
    def config(self) -> EvalConfig:
        return self.loaded.config


def rule_text(ctx: RunContext) -> str | None:
    """The selection rule in words (the ``select`` param, the ``rule`` tag), or None."""
    plan, select = ctx.loaded.metrics, ctx.config.select
    if select is None or plan.objective is None:
        return None
    parts = [str(plan.objective)]
    if select.require_significance is not None:
        parts.append(f"beating the runner-up at paired p < {select.require_significance:g}")
    parts += [f"subject to {c}" for c in select.constraints]
    if plan.tie_breakers:
        parts.append(
            "ties: " + ", then ".join(str(t) for t in plan.tie_breakers) + ", then model order"
        )
    return "; ".join(parts)


def _select(ctx: RunContext, outcomes: list[ModelOutcome]) -> Selection | None:
    plan, select = ctx.loaded.metrics, ctx.config.select
    if select is None or plan.objective is None:
        return None
    metric = metric_for_key(plan.metrics, plan.objective.key)
    key = metric.key if metric is not None else plan.objective.key
    candidates = [Candidate(o.name, o.metrics, o.failure, row_scores(o, key)) for o in outcomes]
    return select_winner(
        candidates,
        plan.objective,
        select.constraints,
        plan.tie_breakers,
        select.tolerance,
        select.require_significance,
        metric.value_kind if metric else "unbounded",
        metric.value_range if metric else None,
    )


def _register(
    ctx: RunContext, selection: Selection | None, outcomes: list[ModelOutcome]
) -> Registration | None:
    spec_cfg = ctx.config.registry
    if spec_cfg is None:
        return None
    if selection is None or selection.winner is None:
        return Registration(spec_cfg.name, note="no winner was chosen")
    spec = next(m for m in ctx.config.models if m.name == selection.winner)
    if not spec.registrable:
        return Registration(
            spec_cfg.name,
            note=(
                f"the winner '{spec.name}' is a {spec.kind} model ({spec.source}); only logged MLflow "
                "models (models:/ or runs:/ URIs) can be registered"
            ),
        )
    winner = next(o for o in outcomes if o.name == spec.name)
    tags = {
        f"{TAG}parent_run_id": ctx.parent_run_id,
        f"{TAG}eval_run_id": winner.run_id or "",
        f"{TAG}selection": selection.reason,
        **spec_cfg.tags,
    }
    try:
        version = tracking.register(str(spec.uri), spec_cfg.name, alias=spec_cfg.alias, tags=tags)
    except Exception as exc:  # noqa: BLE001 - the comparison stays valid; the note says why
        return Registration(
            spec_cfg.name,
            source=spec.uri,
            failed=True,
            note=tracking.redact(f"registration failed: {type(exc).__name__}: {exc}"),
        )
    return Registration(version.name, version.version, version.source)


def compare(ctx: RunContext, outcomes: list[ModelOutcome], register: bool) -> ComparisonResult:
    """Select, register, and log the comparison to the parent run (table, tags, report)."""
    cfg, plan = ctx.config, ctx.loaded.metrics
    selection = _select(ctx, outcomes)
    registration = _register(ctx, selection, outcomes) if register else None
    constraints = cfg.select.constraints if cfg.select else []
    paired = paired_comparisons(
        outcomes, plan.metrics, reference_model(outcomes, selection.winner if selection else None)
    )
    frame = comparison_frame(outcomes, plan.metrics, selection, plan.objective, constraints, paired)
    parent = ctx.parent_run_id
    tracking.log_table(parent, frame, COMPARISON_TABLE_FILE)
    if paired:
        tracking.log_metrics(parent, comparison_run_metrics(paired))
        tracking.log_dict(parent, comparisons_json(paired), PAIRED_FILE)
    tags: dict[str, Any] = {
        f"{TAG}failed_models": ",".join(o.name for o in outcomes if not o.ok) or None
    }
    if ctx.data.engine == "spark":
        from mlflow_llm_eval.runner.spark import PAIRED_NOTE, PAIRED_TAG

        tags[PAIRED_TAG] = PAIRED_NOTE
    if selection is not None:
        tags.update(
            {
                f"{TAG}winner": selection.winner,
                f"{TAG}selection_reason": selection.reason,
                f"{TAG}rule": rule_text(ctx),
            }
        )
        winner = next((o for o in outcomes if o.name == selection.winner), None)
        if winner is not None and winner.run_id:
            tracking.set_tags(winner.run_id, {f"{TAG}winner": "true"})
    if registration is not None:
        key = "registered_model" if registration.version else "registration"
        tags[f"{TAG}{key}"] = (
            f"{registration.name}/{registration.version}"
            if registration.version
            else registration.note
        )
    tracking.set_tags(parent, tags)
    pairwise = pairwise_step.run_step(
        ctx.pairwise, parent, list(cfg.dataset.inputs), outcomes, ctx.data.rows
    )
    if cfg.report.enabled:
        html = comparison_report(
            title=f"Model comparison: {cfg.experiment}",
            models=outcomes,
            metrics=plan.metrics,
            selection=selection,
            objective=plan.objective,
            constraints=constraints,
            rule=rule_text(ctx),
            comparisons=paired,
            registration=str(registration) if registration else None,
            details={
                "experiment": cfg.experiment,
                "parent run id": parent,
                "dataset": ctx.data.path,
                "dataset sha256": ctx.data.sha256,
                "rows": ctx.data.rows,
            },
            extra_sections=[pairwise_section(pairwise)],
        )
        tracking.log_text(parent, html, COMPARISON_REPORT_FILE)
    report_uri = (
        tracking.artifact_uri(parent, COMPARISON_REPORT_FILE) if cfg.report.enabled else None
    )
    return ComparisonResult(
        ctx.experiment_id,
        parent,
        outcomes,
        plan.metrics,
        frame,
        selection,
        rule_text(ctx),
        registration,
        tracking.tracking_uri(),
        report_uri,
        paired,
        pairwise,
    )
