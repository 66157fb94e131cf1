"""Paired comparisons of the runner's models on the rows they were all scored on.

The reference is the winner (else the first model that did not fail); every other model that
did not fail is compared with it on every metric with a mean, from the per-row score columns
of the evaluation tables (:mod:`mlflow_llm_eval.core.paired`; Holm over the models, per metric).
Logged to the parent run as ``llm_eval/paired_comparisons.json`` and as run metrics
``paired/<reference>-vs-<model>/<name>/<version>/{diff,ci_low,ci_high,p_value,p_holm}``.

    >>> import pandas as pd
    >>> from types import SimpleNamespace as Outcome
    >>> from mlflow_llm_eval.function_metrics.exact_match import exact_match
    >>> runs = [Outcome(name=n, failure=None, table=pd.DataFrame({"exact_match/v1/score": s}))
    ...         for n, s in [("a", [1.0] * 12), ("b", [0.0] * 12)]]
    >>> [found] = paired_comparisons(runs, [exact_match()], reference_model(runs, winner=None))
    >>> found.reference, found.model, found.result.mean_diff, round(found.p_holm, 5)
    ('a', 'b', 1.0, 0.00049)
    >>> sorted(comparison_run_metrics([found]))[0]
    'paired/a-vs-b/exact_match/v1/ci_high'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlflow_llm_eval.core.paired import Comparison, compare_to_reference
from mlflow_llm_eval.core.types import Metric

PAIRED_FILE = "llm_eval/paired_comparisons.json"


def row_scores(outcome: Any, metric_key: str) -> list[float] | None:
    """The outcome's per-row scores of ``metric_key`` (``<name>/<version>``), or None."""
    table = getattr(outcome, "table", None)
    if table is None:
        return None
    # ``<key>/score``, or the bare key for metrics MLflow logs that way (token_count, latency)
    column = next((c for c in (f"{metric_key}/score", metric_key) if c in table.columns), None)
    if column is None:
        return None
    return [float(v) for v in table[column].tolist()]


def metric_for_key(metrics: Sequence[Metric], run_metric_key: str) -> Metric | None:
    """The metric whose aggregates include ``run_metric_key`` (``<name>/<version>/<agg>``)."""
    return next((m for m in metrics if run_metric_key.startswith(f"{m.key}/")), None)


def reference_model(outcomes: Sequence[Any], winner: str | None) -> str | None:
    ok = [o.name for o in outcomes if o.failure is None and getattr(o, "table", None) is not None]
    return winner if winner in ok else (ok[0] if ok else None)


def paired_comparisons(
    outcomes: Sequence[Any], metrics: Sequence[Metric], reference: str | None
) -> list[Comparison]:
    """``reference - model`` for every other scored model and every metric with a mean."""
    if reference is None:
        return []
    found: list[Comparison] = []
    for metric in metrics:
        if "mean" not in metric.aggregations:
            continue
        scores = {
            o.name: s
            for o in outcomes
            if o.failure is None and (s := row_scores(o, metric.key)) is not None
        }
        if reference not in scores or len(scores) < 2:
            continue
        found += compare_to_reference(
            scores, reference, metric.key, metric.value_kind, metric.value_range
        )
    return found


def comparison_run_metrics(comparisons: Sequence[Comparison]) -> dict[str, float]:
    """Parent-run metrics for the comparisons (NaN values are left out)."""
    out: dict[str, float] = {}
    for c in comparisons:
        prefix = f"paired/{c.reference}-vs-{c.model}/{c.metric}"
        values = {
            "diff": c.result.mean_diff,
            "ci_low": c.result.ci_low,
            "ci_high": c.result.ci_high,
            "p_value": c.result.p_value,
            "p_holm": c.p_holm,
        }
        out.update({f"{prefix}/{k}": float(v) for k, v in values.items() if v == v})
    return out


def comparisons_json(comparisons: Sequence[Comparison]) -> dict[str, Any]:
    return {
        "test": "sign-flip permutation test of the mean paired difference (two-sided)",
        "correction": "Holm, over the models compared with the reference, per metric",
        "difference": "reference - model, over the rows both scored",
        "comparisons": [c.as_dict() for c in comparisons],
    }
