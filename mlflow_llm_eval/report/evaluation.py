"""The HTML report of one evaluation: aggregates with intervals, distributions, worst rows.

Input is what the evaluation logged: the per-row table (``<name>/<version>/score``,
``/justification``, ``/status``, ``/reason`` columns) and the run metrics. Each numeric cell
carries its exact value in ``data-value`` and its run-metric name in ``data-key``.

Redaction as in the logged table (the same function,
:func:`~mlflow_llm_eval.mlflow_adapter.logging.redacted_table`): the user's cells (inputs,
predictions, targets) are shown as given except the exact ``credentials`` the run uses; the
package's text (reasons, justifications, run details) by the broad rules.

    >>> import pandas as pd
    >>> from mlflow_llm_eval.function_metrics.exact_match import exact_match
    >>> t = pd.DataFrame({"inputs": ["q1", "q2"], "predictions": ["a", "<b>"],
    ...                   "exact_match/v1/score": [1.0, 0.0], "exact_match/v1/status": ["ok", "ok"]})
    >>> page = evaluation_report(title="m", table=t, aggregates={"exact_match/v1/mean": 0.5},
    ...                          metrics=[exact_match()])
    >>> 'data-value="0.5"' in page, "&lt;b&gt;" in page, "<b>" in page
    (True, True, False)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.intervals import ci_method
from mlflow_llm_eval.core.types import OK, Metric
from mlflow_llm_eval.mlflow_adapter.logging import redacted_table, run_credentials, user_columns_of
from mlflow_llm_eval.report.html import details_list, esc, image, num_cell, page, row, text_cell
from mlflow_llm_eval.report.html import table as html_table
from mlflow_llm_eval.report.agreement import agreement_section
from mlflow_llm_eval.report.languages import language_section
from mlflow_llm_eval.report.plots import histogram_png

#: Aggregates shown as their own columns, in this order.
SHOWN = ("mean", "mean_ci_low", "mean_ci_high", "p90", "variance", "count", "unscored")
_TEXT_ROLES = ("inputs", "predictions", "targets")


def metric_aggregates(metric: Metric, aggregates: Mapping[str, float]) -> dict[str, float]:
    """The aggregates of one metric, by aggregation name (``mean``, ``p90``, ...)."""
    prefix = metric.key + "/"
    return {k[len(prefix) :]: v for k, v in aggregates.items() if k.startswith(prefix)}


def guess_columns(
    table_frame: pd.DataFrame, columns: Mapping[str, Any] | None
) -> dict[str, list[str]]:
    """Which table columns hold inputs, predictions and targets (given, or by usual names)."""
    given = dict(columns or {})
    present = list(table_frame.columns)
    found: dict[str, list[str]] = {}
    defaults = {
        "inputs": ["inputs"],
        "predictions": ["outputs", "model_outputs", "predictions", "model_predictions"],
        "targets": ["targets", "ground_truth"],
    }
    for role in _TEXT_ROLES:
        value = given.get(role, defaults[role])
        names = [value] if isinstance(value, str) else list(value)
        found[role] = [n for n in names if n in present][: (None if role == "inputs" else 1)]
    return found


def aggregate_section(metrics: Sequence[Metric], aggregates: Mapping[str, float]) -> str:
    headers = [
        "metric",
        "better",
        "mean",
        "95% CI low",
        "95% CI high",
        "p90",
        "variance",
        "scored rows",
        "unscored rows",
        "interval",
        "other aggregates",
        "description",
    ]
    rows = []
    for metric in metrics:
        values = metric_aggregates(metric, aggregates)
        others = ", ".join(
            f"{esc(k)}={esc(format(v, '.4g'))}" for k, v in values.items() if k not in SHOWN
        )
        cells = [
            f"<td>{esc(metric.key)}</td>",
            f"<td>{'higher' if metric.greater_is_better else 'lower'}</td>",
        ]
        cells += [num_cell(f"{metric.key}/{name}", values.get(name)) for name in SHOWN]
        kind = metric.value_kind + (f" {list(metric.value_range)}" if metric.value_range else "")
        cells += [
            f"<td class='small'>{esc(ci_method(metric.value_kind))} ({esc(kind)})</td>",
            f"<td class='small'>{others}</td>",
            f"<td class='small'>{esc(metric.description)}</td>",
        ]
        rows.append(row(cells))
    return "<h2>Aggregates</h2>" + html_table(headers, rows)


def status_section(metrics: Sequence[Metric], frame: pd.DataFrame) -> str:
    rows = []
    for metric in metrics:
        column = f"{metric.key}/status"
        if column not in frame.columns:
            continue
        counts = frame[column].fillna("missing").astype(str).value_counts()
        for status, count in counts.items():
            if status != OK:
                rows.append(
                    row(
                        [
                            f"<td>{esc(metric.key)}</td>",
                            f"<td>{esc(status)}</td>",
                            num_cell(f"{metric.key}/status/{status}", int(count)),
                        ]
                    )
                )
    if not rows:
        return "<h2>Row statuses</h2><p>Every row was scored by every metric.</p>"
    return "<h2>Row statuses</h2>" + html_table(["metric", "status", "rows"], rows)


def distribution_section(metrics: Sequence[Metric], frame: pd.DataFrame, bins: int) -> str:
    figures = []
    for metric in metrics:
        column = metric.score_column
        if column in frame.columns:
            scores = pd.to_numeric(frame[column], errors="coerce").tolist()
            figures.append(image(histogram_png(scores, metric.key, bins), f"{metric.key} scores"))
    figures = [f for f in figures if f]
    if not figures:
        return "<h2>Score distributions</h2><p class='muted'>No plots (no scored rows, or matplotlib is not installed).</p>"
    return "<h2>Score distributions</h2><div class='plots'>" + "".join(figures) + "</div>"


def _text_cells(frame_row: pd.Series, roles: Mapping[str, list[str]]) -> list[str]:
    cells = []
    for role in _TEXT_ROLES:
        names = roles.get(role) or []
        if not names:
            cells.append(text_cell(None))
        else:
            cells.append(
                text_cell(
                    "\n".join(
                        f"{n}: {frame_row[n]}" if len(names) > 1 else str(frame_row[n])
                        for n in names
                    ),
                    as_given=True,  # the user's cells (the run's credentials already replaced)
                )
            )
    return cells


def worst_section(
    metrics: Sequence[Metric], frame: pd.DataFrame, roles: Mapping[str, list[str]], n: int
) -> str:
    if n <= 0:
        return ""
    parts = ["<h2>Worst-scoring rows</h2>"]
    for metric in metrics:
        score_col = metric.score_column
        if score_col not in frame.columns:
            continue
        scores = pd.to_numeric(frame[score_col], errors="coerce")
        scored = scores[scores.notna()]
        worst = scored.sort_values(ascending=metric.greater_is_better, kind="stable").head(n)
        just_col = f"{metric.key}/justification"
        rows = []
        for index in worst.index:
            justification = frame.at[index, just_col] if just_col in frame.columns else None
            cells = [
                num_cell(f"{metric.key}/row", int(index)),
                num_cell(score_col, float(scores[index])),
            ]
            cells += _text_cells(frame.loc[index], roles) + [text_cell(justification)]
            rows.append(row(cells))
        parts.append(
            f"<h3>{esc(metric.key)} <span class='muted small'>"
            f"({'lowest' if metric.greater_is_better else 'highest'} scores first)</span></h3>"
        )
        parts.append(
            html_table(["row", "score", "input", "prediction", "target", "justification"], rows)
            if rows
            else "<p class='muted'>No scored rows.</p>"
        )
        parts.append(_unscored_rows(metric, frame, roles, n))
    return "".join(parts)


def _unscored_rows(
    metric: Metric, frame: pd.DataFrame, roles: Mapping[str, list[str]], n: int
) -> str:
    status_col, reason_col = f"{metric.key}/status", f"{metric.key}/reason"
    if status_col not in frame.columns:
        return ""
    bad = frame[frame[status_col].fillna("missing").astype(str) != OK].head(n)
    if bad.empty:
        return ""
    rows = []
    for index, frame_row in bad.iterrows():
        reason = frame_row[reason_col] if reason_col in frame.columns else None
        cells = [
            num_cell(f"{metric.key}/row", int(index)),
            f"<td>{esc(frame_row[status_col])}</td>",
            text_cell(reason),
        ] + _text_cells(frame_row, roles)[:2]
        rows.append(row(cells))
    return "<p class='small'>Unscored rows (first few):</p>" + html_table(
        ["row", "status", "reason", "input", "prediction"], rows
    )


def evaluation_report(
    *,
    title: str,
    table: pd.DataFrame,
    aggregates: Mapping[str, float],
    metrics: Sequence[Metric],
    details: Mapping[str, Any] | None = None,
    columns: Mapping[str, Any] | None = None,
    worst_rows: int = 5,
    bins: int = 20,
    human_labels: Mapping[str, str] | None = None,
    credentials: Iterable[str] | None = None,
) -> str:
    """A self-contained HTML page for one evaluation (see the module docstring).

    ``human_labels`` (judge name -> column of the table) adds the judge–human agreement section.
    ``credentials``: the exact credential values the run uses, replaced in user cells
    (:func:`~mlflow_llm_eval.mlflow_adapter.logging.run_credentials`; default: those of
    ``metrics``' judges, so pass the model's too when it calls an endpoint).
    """
    if credentials is None:
        credentials = run_credentials(metrics)
    frame = table.reset_index(drop=True)
    frame, _ = redacted_table(frame, user_columns_of(frame.columns), credentials)
    roles = guess_columns(frame, columns)
    summary = details_list([("rows", len(frame)), *(details or {}).items()])
    sections = [
        summary,
        aggregate_section(metrics, aggregates),
        language_section(metrics, aggregates),
        status_section(metrics, frame),
        distribution_section(metrics, frame, bins),
        agreement_section(metrics, frame, human_labels),
        worst_section(metrics, frame, roles, worst_rows),
    ]
    return page(title, sections)
