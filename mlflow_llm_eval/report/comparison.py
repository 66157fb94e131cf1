"""The comparison of several models: one table (logged to the parent run) and its HTML report.

:func:`comparison_frame` builds the models x aggregates table (mean and 95% interval of every
metric, plus the selection's keys); :func:`comparison_report` renders the same frame with the
decision, the charts and the failures. Both take any objects with the attributes of
:class:`ModelSummary` (the runner's outcomes).

    >>> from mlflow_llm_eval.function_metrics.exact_match import exact_match
    >>> m = [ModelSummary("a", "python", "m:f", None, None, {"exact_match/v1/mean": 0.5})]
    >>> f = comparison_frame(m, [exact_match()])
    >>> f.loc[0, "model"], f.loc[0, "status"], float(f.loc[0, "exact_match/v1/mean"])
    ('a', 'ok', 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from mlflow_llm_eval.core.types import Metric
from mlflow_llm_eval.report.html import (
    details_list,
    esc,
    fmt,
    image,
    num_cell,
    page,
    row,
    table,
    text_cell,
)
from mlflow_llm_eval.report.languages import language_comparison_section
from mlflow_llm_eval.report.plots import means_png
from mlflow_llm_eval.select import Constraint, Objective, Selection

INTERVAL = ("mean", "mean_ci_low", "mean_ci_high")


class ModelLike(Protocol):
    name: str
    kind: str
    source: str
    run_id: str | None
    failure: str | None

    @property
    def metrics(self) -> Mapping[str, float]: ...  # read only: a dict[str, float] fits too


@dataclass
class ModelSummary:
    """The minimum the comparison needs about one model."""

    name: str
    kind: str
    source: str
    run_id: str | None
    failure: str | None
    metrics: Mapping[str, float]


def comparison_keys(
    metrics: Sequence[Metric],
    objective: Objective | None = None,
    constraints: Sequence[Constraint] = (),
) -> list[str]:
    """Run-metric columns of the comparison: each metric's mean and interval, then rule keys."""
    keys = [f"{m.key}/{a}" for m in metrics if "mean" in m.aggregations for a in INTERVAL]
    keys += [
        f"{m.key}/{m.headline_aggregation}"
        for m in metrics
        if m.headline_aggregation and "mean" not in m.aggregations
    ]
    for key in ([objective.key] if objective else []) + [c.key for c in constraints]:
        if key not in keys:
            keys.append(key)
    return keys


PAIRED_COLUMNS = ("paired/diff", "paired/diff_ci_low", "paired/diff_ci_high", "paired/p_holm")


def _objective_comparisons(
    comparisons: Sequence[Any], objective: Objective | None
) -> dict[str, Any]:
    """Model -> its comparison with the reference on the objective's metric (or the first metric)."""
    if not comparisons:
        return {}
    key = next(
        (c.metric for c in comparisons if objective and objective.key.startswith(f"{c.metric}/")),
        comparisons[0].metric,
    )
    return {c.model: c for c in comparisons if c.metric == key}


def comparison_frame(
    models: Sequence[ModelLike],
    metrics: Sequence[Metric],
    selection: Selection | None = None,
    objective: Objective | None = None,
    constraints: Sequence[Constraint] = (),
    comparisons: Sequence[Any] = (),
) -> pd.DataFrame:
    """One row per model (config order): status, rank, winner, eligibility and aggregates.

    With ``comparisons`` (:mod:`mlflow_llm_eval.runner.comparisons`), the ``paired/*`` columns
    hold the reference minus this model on the objective's metric, its interval and Holm p-value.
    """
    ranking = selection.ranking if selection else []
    paired = _objective_comparisons(comparisons, objective)
    records = []
    for model in models:
        record: dict[str, Any] = {
            "model": model.name,
            "kind": model.kind,
            "source": model.source,
            "status": "failed" if model.failure else "ok",
            "rank": ranking.index(model.name) + 1 if model.name in ranking else None,
            "winner": bool(selection and selection.winner == model.name),
            "not_eligible": (selection.rejected.get(model.name, "") if selection else ""),
            "run_id": model.run_id or "",
        }
        for key in comparison_keys(metrics, objective, constraints):
            value = model.metrics.get(key)
            record[key] = float(value) if value is not None else math.nan
        if paired:
            c = paired.get(model.name)
            record["paired_reference"] = next(iter(paired.values())).reference
            record["paired_metric"] = next(iter(paired.values())).metric
            values = (
                (c.result.mean_diff, c.result.ci_low, c.result.ci_high, c.p_holm)
                if c
                else (math.nan,) * 4
            )
            record.update(dict(zip(PAIRED_COLUMNS, values)))
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    frame["rank"] = frame["rank"].astype("Int64")
    return frame


def _decision(selection: Selection | None, rule: str | None, registration: str | None) -> str:
    parts = ["<h2>Decision</h2>"]
    if selection is None:
        parts.append("<p>No selection rule was configured.</p>")
    else:
        css = "good" if selection.winner else "bad"
        winner = esc(selection.winner) if selection.winner else "no winner"
        parts.append(f"<p class='{css}'><b>Winner: {winner}</b></p><p>{esc(selection.reason)}</p>")
        if rule:
            parts.append(f"<p class='small'>Rule: {esc(rule)}</p>")
    if registration:
        parts.append(f"<p class='small'>Registry: {esc(registration)}</p>")
    return "".join(parts)


def _table(
    frame: pd.DataFrame,
    metrics: Sequence[Metric],
    objective: Objective | None,
    constraints: Sequence[Constraint],
) -> str:
    mean_keys = [f"{m.key}/mean" for m in metrics if "mean" in m.aggregations]
    rule_keys = [
        k
        for k in ([objective.key] if objective else []) + [c.key for c in constraints]
        if k not in mean_keys
    ]
    headers = ["model", "kind", "status", "rank"] + mean_keys + rule_keys + ["not eligible because"]
    rows = []
    for record in frame.to_dict(orient="records"):
        model = str(record["model"])
        rank = record["rank"]
        cells = [
            f"<td>{esc(model)}{' <span class=tag>winner</span>' if record['winner'] else ''}</td>",
            f"<td>{esc(record['kind'])}</td>",
            f"<td>{esc(record['status'])}</td>",
            num_cell("rank", None if pd.isna(rank) else int(rank), attrs={"model": model}),
        ]
        for key in mean_keys:
            prefix = key.removesuffix("/mean")
            low, high = record.get(f"{prefix}/mean_ci_low"), record.get(f"{prefix}/mean_ci_high")
            note = "" if low is None or pd.isna(low) else f"[{low:.3g}, {high:.3g}]"
            cells.append(num_cell(key, record.get(key), note=note, attrs={"model": model}))
        cells += [num_cell(key, record.get(key), attrs={"model": model}) for key in rule_keys]
        cells.append(text_cell(record["not_eligible"] or None))
        css = "winner" if record["winner"] else ("failed" if record["status"] == "failed" else "")
        rows.append(row(cells, css))
    return (
        "<h2>Models</h2><p class='small muted'>Means with their 95% confidence intervals "
        "(Clopper–Pearson for 0/1 metrics, a seeded BCa bootstrap for the others).</p>"
        + table(headers, rows)
    )


def _charts(frame: pd.DataFrame, metrics: Sequence[Metric], winner: str | None) -> str:
    figures = []
    for metric in metrics:
        if "mean" not in metric.aggregations:
            continue
        k = metric.key
        figures.append(
            image(
                means_png(
                    frame["model"].tolist(),
                    frame[f"{k}/mean"].tolist(),
                    frame[f"{k}/mean_ci_low"].tolist(),
                    frame[f"{k}/mean_ci_high"].tolist(),
                    k,
                    highlight=winner,
                ),
                f"{k} by model",
            )
        )
    figures = [f for f in figures if f]
    return "<h2>Charts</h2><div class='plots'>" + "".join(figures) + "</div>" if figures else ""


def _paired(comparisons: Sequence[Any]) -> str:
    """The paired differences table (every metric) and one plot per metric."""
    if not comparisons:
        return ""
    reference = comparisons[0].reference
    rows = [
        row(
            [
                f"<td>{esc(c.metric)}</td>",
                f"<td>{esc(c.model)}</td>",
                num_cell("n", c.result.n),
                num_cell(
                    "diff",
                    c.result.mean_diff,
                    note=f"[{fmt(c.result.ci_low)}, {fmt(c.result.ci_high)}]",
                ),
                num_cell("p_value", c.result.p_value),
                num_cell("p_holm", c.p_holm),
            ]
        )
        for c in comparisons
    ]
    figures = []
    for metric in dict.fromkeys(c.metric for c in comparisons):
        mine = [c for c in comparisons if c.metric == metric]
        figures.append(
            image(
                means_png(
                    [c.model for c in mine],
                    [c.result.mean_diff for c in mine],
                    [c.result.ci_low for c in mine],
                    [c.result.ci_high for c in mine],
                    metric,
                    label=f"{reference} − model",
                ),
                f"{metric}: paired difference, {reference} − model",
            )
        )
    return (
        f"<h2>Paired differences ({esc(reference)} − each model)</h2>"
        "<p class='small muted'>Over the rows both models scored: the mean per-row difference "
        "with its 95% interval, the two-sided sign-flip permutation p-value and the Holm-"
        "adjusted one (over the models, per metric).</p>"
        + table(["metric", "model", "rows", "difference [95% CI]", "p", "p (Holm)"], rows)
        + "<div class='plots'>"
        + "".join(f for f in figures if f)
        + "</div>"
    )


def _failures(models: Sequence[ModelLike]) -> str:
    failed = [m for m in models if m.failure]
    if not failed:
        return ""
    rows = [row([f"<td>{esc(m.name)}</td>", text_cell(m.failure, 2000)]) for m in failed]
    return "<h2>Failed evaluations</h2>" + table(["model", "reason"], rows)


def comparison_report(
    *,
    title: str,
    models: Sequence[ModelLike],
    metrics: Sequence[Metric],
    selection: Selection | None = None,
    objective: Objective | None = None,
    constraints: Sequence[Constraint] = (),
    rule: str | None = None,
    registration: str | None = None,
    details: Mapping[str, Any] | None = None,
    comparisons: Sequence[Any] = (),
    extra_sections: Sequence[str] = (),
) -> str:
    """A self-contained HTML page comparing the models (see the module docstring);
    ``extra_sections``: HTML of comparison steps (e.g. the pairwise judge), after the charts."""
    frame = comparison_frame(models, metrics, selection, objective, constraints, comparisons)
    sections = [
        details_list(list((details or {}).items())),
        _decision(selection, rule, registration),
        _table(frame, metrics, objective, constraints),
        _charts(frame, metrics, selection.winner if selection else None),
        _paired(comparisons),
        language_comparison_section(models, metrics),
        *extra_sections,
        _failures(models),
    ]
    return page(title, sections)
