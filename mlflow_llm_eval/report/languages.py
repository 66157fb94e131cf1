"""The per-language section of the HTML reports: each metric's aggregates over one language's rows.

Reads the run metrics the doors log when an evaluation holds more than one language
(``<metric key>/lang_<code>/<aggregate>``, :mod:`mlflow_llm_eval.core.by_language`); no such
metric, no section. Each numeric cell carries its exact value and run-metric name, like the rest
of the report.

    >>> from mlflow_llm_eval.function_metrics.rouge import rougeL
    >>> values = {"rougeL/v1/lang_ko/mean": 0.5, "rougeL/v1/lang_ko/count": 2.0,
    ...           "rougeL/v1/lang_en/mean": 0.75, "rougeL/v1/lang_en/count": 1.0}
    >>> html = language_section([rougeL()], values)
    >>> 'data-key="rougeL/v1/lang_ko/mean" data-value="0.5"' in html, language_section([rougeL()], {})
    (True, '')
    >>> language_slices([rougeL()], values)["rougeL/v1"]["en"]["mean"]
    0.75
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlflow_llm_eval.core.by_language import PER_LANGUAGE
from mlflow_llm_eval.core.types import Metric
from mlflow_llm_eval.report.html import esc, num_cell, row, table

_HEADERS = {
    "mean": "mean",
    "mean_ci_low": "95% CI low",
    "mean_ci_high": "95% CI high",
    "count": "scored rows",
    "unscored": "unscored rows",
}
_SHOWN = ("mean", "mean_ci_low", "mean_ci_high", "count", "unscored")


def language_slices(
    metrics: Sequence[Metric], aggregates: Mapping[str, Any]
) -> dict[str, dict[str, dict[str, float]]]:
    """metric key -> language code -> aggregate -> value, from ``<key>/lang_<code>/<agg>``."""
    found: dict[str, dict[str, dict[str, float]]] = {}
    for metric in metrics:
        prefix = f"{metric.key}/lang_"
        for name, value in aggregates.items():
            if not name.startswith(prefix):
                continue
            code, _, aggregate = name[len(prefix) :].rpartition("/")
            if code and aggregate in PER_LANGUAGE:
                found.setdefault(metric.key, {}).setdefault(code, {})[aggregate] = value
    return found


def language_section(metrics: Sequence[Metric], aggregates: Mapping[str, Any]) -> str:
    """One table: a row per (metric, language) with its mean, interval and row counts."""
    slices = language_slices(metrics, aggregates)
    if not slices:
        return ""
    rows = []
    for key, per in slices.items():
        for code in sorted(per):
            cells = [f"<td>{esc(key)}</td>", f"<td>{esc(code)}</td>"]
            cells += [num_cell(f"{key}/lang_{code}/{name}", per[code].get(name)) for name in _SHOWN]
            rows.append(row(cells))
    headers = ["metric", "language", *(_HEADERS[name] for name in _SHOWN)]
    note = (
        "<p class='small muted'>Each metric over the rows of one language (the row's "
        "<code>language</code> column, the evaluation's <code>language</code>, or its detected "
        "language); run metrics <code>&lt;metric&gt;/lang_&lt;code&gt;/&lt;aggregate&gt;</code>."
        "</p>"
    )
    return "<h2>Per language</h2>" + note + table(headers, rows)


def language_comparison_section(models: Sequence[Any], metrics: Sequence[Metric]) -> str:
    """For a comparison: a row per (metric, language), one column per model's mean there."""
    per_model = [(m.name, language_slices(metrics, m.metrics)) for m in models]
    keys = [
        (metric.key, code)
        for metric in metrics
        for code in sorted({c for _, s in per_model for c in s.get(metric.key, {})})
    ]
    if not keys:
        return ""
    rows = []
    for key, code in keys:
        cells = [f"<td>{esc(key)}</td>", f"<td>{esc(code)}</td>"]
        cells += [
            num_cell(f"{key}/lang_{code}/mean", s.get(key, {}).get(code, {}).get("mean"))
            for _, s in per_model
        ]
        rows.append(row(cells))
    headers = ["metric", "language", *(f"{name}: mean" for name, _ in per_model)]
    return "<h2>Per language</h2>" + table(headers, rows)
