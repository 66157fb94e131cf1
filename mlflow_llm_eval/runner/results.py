"""What a multi-model evaluation returns: each model's outcome, the comparison and the decision.

>>> o = ModelOutcome("a", "python", "m:f", "run1", None, {"exact_match/v1/mean": 1.0})
>>> o.ok, ModelOutcome("b", "uri", "runs:/x/m", None, "boom", {}).ok
(True, False)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.types import Metric
from mlflow_llm_eval.select import Selection


@dataclass
class ModelOutcome:
    """One model's evaluation: its child run, its aggregates and per-row table, or why it failed."""

    name: str
    kind: str
    source: str
    run_id: str | None
    failure: str | None
    metrics: dict[str, float] = field(default_factory=dict)
    table: pd.DataFrame | None = None
    seconds: float = math.nan
    #: On Spark: where the full per-row table was written (``table`` is then None).
    results_location: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass
class Registration:
    """The winner in the Model Registry, or why it is not there."""

    name: str
    version: str | None = None
    source: str | None = None
    note: str | None = None
    #: True when registering raised an error (not when the winner cannot be registered).
    failed: bool = False

    def __str__(self) -> str:
        if self.version is not None:
            return f"registered {self.source} as '{self.name}' version {self.version}"
        return f"not registered as '{self.name}': {self.note}"


@dataclass
class ComparisonResult:
    """Returned by :func:`~mlflow_llm_eval.evaluate_models`; ``print()`` it for a summary."""

    experiment_id: str
    parent_run_id: str
    outcomes: list[ModelOutcome]
    metrics: list[Metric]
    table: pd.DataFrame
    selection: Selection | None = None
    rule: str | None = None
    registration: Registration | None = None
    tracking_uri: str = ""
    #: Artifact URI of the comparison HTML report (None when reports are off).
    report_uri: str | None = None
    #: Paired comparisons of the reference (winner) with every other model, per metric.
    comparisons: list[Any] = field(default_factory=list)
    #: The ``compare: {pairwise: ...}`` step's PairwiseResult (None without that step).
    pairwise: Any = None

    @property
    def winner(self) -> ModelOutcome | None:
        """The chosen model's outcome (``None``: no rule, or no eligible model)."""
        if self.selection is None or self.selection.winner is None:
            return None
        return next(o for o in self.outcomes if o.name == self.selection.winner)

    @property
    def failed(self) -> list[ModelOutcome]:
        return [o for o in self.outcomes if not o.ok]

    def outcome(self, name: str) -> ModelOutcome:
        return next(o for o in self.outcomes if o.name == name)

    def summary(self) -> str:
        """A plain-text table of models x metric means (with 95% CIs) and the decision."""
        lines = [comparison_text(self.table, self.metrics), ""]
        if self.selection is not None:
            lines.append(f"rule:   {self.rule}")
            lines.append(f"winner: {self.selection.winner or '(none)'}  ({self.selection.reason})")
            lines += [
                f"not eligible: {name}: {why}"
                for name, why in self.selection.rejected.items()
                if not self.outcome(name).failure
            ]
        if self.registration is not None:
            lines.append(f"registry: {self.registration}")
        if self.pairwise is not None:
            lines.append(self.pairwise.summary())
        for outcome in self.failed:
            lines.append(f"failed: {outcome.name}: {outcome.failure}")
        lines.append(
            f"parent run: {self.parent_run_id} (experiment {self.experiment_id}, "
            f"tracking {self.tracking_uri})"
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _cell(mean: Any, low: Any, high: Any) -> str:
    if mean is None or pd.isna(mean):
        return "-"
    if low is None or pd.isna(low):
        return f"{mean:.4g}"
    return f"{mean:.4g} [{low:.3g}, {high:.3g}]"


def _paired_cell(diff: Any, low: Any, high: Any, p: Any, is_reference: bool) -> str:
    if is_reference:
        return "(reference)"
    if diff is None or pd.isna(diff):
        return "-"
    return f"{_cell(diff, low, high)} p={p:.2g}"


def comparison_text(frame: pd.DataFrame, metrics: Sequence[Metric]) -> str:
    """The comparison table as aligned text: one row per model, ``mean [ci_low, ci_high]``."""
    columns: dict[str, list[str]] = {
        "model": [("* " if w else "  ") + str(m) for m, w in zip(frame["model"], frame["winner"])],
        "status": frame["status"].astype(str).tolist(),
        "rank": ["-" if pd.isna(r) else str(int(r)) for r in frame["rank"]],
    }
    for metric in metrics:
        k = metric.key
        if f"{k}/mean" in frame.columns:
            columns[f"{k}/mean"] = [
                _cell(*v)
                for v in zip(
                    frame[f"{k}/mean"], frame[f"{k}/mean_ci_low"], frame[f"{k}/mean_ci_high"]
                )
            ]
    if "paired/diff" in frame.columns:
        reference = frame["paired_reference"].dropna().iloc[0]
        columns[f"{reference} - model (paired, p Holm)"] = [
            _paired_cell(*v)
            for v in zip(
                frame["paired/diff"],
                frame["paired/diff_ci_low"],
                frame["paired/diff_ci_high"],
                frame["paired/p_holm"],
                frame["model"] == reference,
            )
        ]
    for extra in frame.columns:
        if extra.startswith("paired/"):
            continue
        if (
            "/" in extra
            and extra not in columns
            and not extra.endswith(("/mean_ci_low", "/mean_ci_high"))
        ):
            columns[extra] = [_cell(v, None, None) for v in frame[extra]]
    widths = {name: max(len(name), *(len(v) for v in values)) for name, values in columns.items()}
    header = "  ".join(name.ljust(widths[name]) for name in columns)
    rows = [
        "  ".join(columns[name][i].ljust(widths[name]) for name in columns)
        for i in range(len(frame))
    ]
    return "\n".join([header, "-" * len(header), *rows])
