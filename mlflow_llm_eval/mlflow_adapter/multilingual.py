"""The classic door's language settings and what it logs about languages (issue 19).

``evaluator_config`` keys read here (and removed before the rest is validated):

- ``language``: one ISO code (``"ko"``, ``"ja"``, ``"zh-Hans"``) for every row, given to each
  metric that takes a language (``with_language``; a metric's own ``language=`` wins);
- ``language_column``: a column of per-row codes, mapped to the logical ``language`` column
  (same as ``col_mapping={"language": ...}``; a data column named ``language`` is used as is).

Logged per run: a tag ``llm_eval.signature.<metric key>`` per metric that has a signature
(tokenisation, sacrebleu style), and, when the rows hold more than one language, per-language
aggregates as run metrics ``<metric key>/lang_<code>/<aggregate>`` and the table
``llm_eval/by_language.json`` (:mod:`mlflow_llm_eval.core.by_language`).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.by_language import by_language, language_metrics, row_codes
from mlflow_llm_eval.core.language import normalize_code
from mlflow_llm_eval.core.types import Metric

LANGUAGE_KEYS = ("language", "language_column")
SIGNATURE_TAG = "llm_eval.signature."
BY_LANGUAGE_FILE = "llm_eval/by_language.json"


def split_language_config(config: dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """``evaluator_config`` without our language keys (``language_column`` becomes a
    ``col_mapping`` entry), and the evaluation's language code (or None)."""
    config = dict(config or {})
    language = normalize_code(config.pop("language", None))
    column = config.pop("language_column", None)
    if column is not None:
        if not isinstance(column, str) or not column:
            raise ValueError(f"language_column must be a column name, got {column!r}")
        mapping = dict(config.get("col_mapping") or {})
        mapping.setdefault("language", column)
        config["col_mapping"] = mapping
    return config, language


def with_language(metrics: list[Metric], language: str | None) -> list[Metric]:
    """Each metric that takes a language, set to ``language`` (unless it has its own)."""
    if language is None:
        return metrics
    return [m.with_language(language) if hasattr(m, "with_language") else m for m in metrics]


def log_languages(
    run_id: str,
    scored: Any,
    metrics: list[Metric],
    frame: pd.DataFrame,
    defaults: dict[str, str],
    col_mapping: dict[str, Any],
    language: str | None,
    prefix: str = "",
) -> dict[str, float]:
    """Log signatures (tags) and per-language aggregates; return the run metrics logged."""
    from mlflow import MlflowClient

    client = MlflowClient()
    for metric in metrics:
        signature = getattr(metric, "signature", None)
        if isinstance(signature, str):
            client.set_tag(run_id, f"{SIGNATURE_TAG}{prefix}{metric.key}", signature[:5000])

    def column(logical: str) -> list[Any] | None:
        name = col_mapping.get(logical, defaults.get(logical, logical))
        return frame[name].tolist() if isinstance(name, str) and name in frame.columns else None

    texts = column("predictions")
    if texts is None:
        return {}
    codes = row_codes(
        texts, column=column("language"), override=language, fallback=column("targets")
    )
    table = by_language(
        codes,
        {
            m.key: (scored.results[m.key], m.value_kind, m.value_range)
            for m in metrics
            if m.key in scored.results
        },
    )
    if not table:
        return {}
    values = language_metrics(table, prefix)
    if values:
        import time

        from mlflow.entities import Metric as MlflowMetricEntity

        now = int(time.time() * 1000)
        entities = [MlflowMetricEntity(k, v, now, 0) for k, v in values.items()]
        for start in range(0, len(entities), 1000):
            client.log_batch(run_id, metrics=entities[start : start + 1000])
    rows = [
        {
            "metric": f"{prefix}{key}",
            "language": lang,
            **{k: (None if math.isnan(v) else v) for k, v in agg.items()},
        }
        for key, per in table.items()
        for lang, agg in per.items()
    ]
    client.log_dict(run_id, {"rows": rows, "languages": sorted(set(codes))}, BY_LANGUAGE_FILE)
    return values
