"""The doors' language settings and what they log about languages (issue 19).

``evaluator_config`` keys read here (and removed before the rest is validated):

- ``language``: one ISO code (``"ko"``, ``"ja"``, ``"zh-Hans"``) for every row, given to each
  metric that takes a language (``with_language``; a metric's own ``language=`` wins);
- ``language_column``: a column of per-row codes, mapped to the logical ``language`` column
  (same as ``col_mapping={"language": ...}``; a data column named ``language`` is used as is).

Logged per run: a tag ``llm_eval.signature.<metric key>`` per metric that has a signature
(tokenisation, sacrebleu style), and, when the rows hold more than one language, per-language
aggregates as run metrics ``<metric key>/lang_<code>/<aggregate>`` and the table
``llm_eval/by_language.json`` (:mod:`mlflow_llm_eval.core.by_language`).

One piece for every door: the classic door calls :func:`log_languages`; the Spark door computes
the per-language table with Spark (:mod:`mlflow_llm_eval.spark_adapter.languages`); the MLflow
3 scorers record each row's language as they score
(:func:`~mlflow_llm_eval.core.by_language.record_rows`), and :func:`log_scorer_languages` logs them
after ``mlflow.genai.evaluate``. All three log through :func:`log_signatures` and
:func:`log_language_table`, under the same keys.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.by_language import (
    by_language,
    language_metrics,
    row_codes,
    scorer_language_table,
)
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


def language_setup(
    metrics: Sequence[Metric], config: dict[str, Any] | None
) -> tuple[list[Metric], dict[str, Any], str | None]:
    """:func:`split_language_config`, then :func:`with_language`: (metrics, the rest of the
    config, the evaluation's language)."""
    rest, language = split_language_config(config)
    return with_language(list(metrics), language), rest, language


def with_language(metrics: list[Metric], language: str | None) -> list[Metric]:
    """Each metric that takes a language, set to ``language`` (unless it has its own)."""
    if language is None:
        return metrics
    return [m.with_language(language) if hasattr(m, "with_language") else m for m in metrics]


def log_signatures(run_id: str, metrics: Iterable[Metric], prefix: str = "") -> None:
    """A tag ``llm_eval.signature.<prefix><metric key>`` per metric that has a signature."""
    from mlflow import MlflowClient

    client = MlflowClient()
    for metric in metrics:
        signature = getattr(metric, "signature", None)
        if isinstance(signature, str):
            client.set_tag(run_id, f"{SIGNATURE_TAG}{prefix}{metric.key}", signature[:5000])


def log_language_table(
    run_id: str,
    table: Mapping[str, Mapping[str, Mapping[str, float]]],
    languages: Sequence[str],
    prefix: str = "",
) -> dict[str, float]:
    """Log a :func:`~mlflow_llm_eval.core.by_language.by_language` table: run metrics
    ``<prefix><key>/lang_<code>/<aggregate>`` and :data:`BY_LANGUAGE_FILE`; return the metrics."""
    if not table:
        return {}
    from mlflow import MlflowClient

    client = MlflowClient()
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
    client.log_dict(run_id, {"rows": rows, "languages": sorted(set(languages))}, BY_LANGUAGE_FILE)
    return values


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
    """The classic door: log signatures (tags) and per-language aggregates; return the run
    metrics logged."""
    log_signatures(run_id, metrics, prefix)

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
    return log_language_table(run_id, table, codes, prefix)


# ---- the MLflow 3 scorers -------------------------------------------------------------------


def log_scorer_languages(run_id: str, scorers: Iterable[Any], prefix: str = "") -> dict[str, float]:
    """After ``mlflow.genai.evaluate(..., scorers=scorers)``: log each of our scorers' metric
    signature and per-language aggregates to ``run_id``, as the classic door does (keys
    ``<metric key>/lang_<code>/<aggregate>``); return the run metrics logged.

        import mlflow, mlflow_llm_eval as le
        scorers = [le.scorers.rougeL(), le.scorers.chrf()]
        result = mlflow.genai.evaluate(data=rows, scorers=scorers)
        log_scorer_languages(result.run_id, scorers)
    """
    ours = [s for s in scorers if hasattr(s, "metric") and isinstance(s.metric, Metric)]
    log_signatures(run_id, [s.metric for s in ours], prefix)
    table: dict[str, Any] = {}
    codes: list[str] = []
    for scorer in ours:
        found, scorer_codes = scorer_language_table(scorer)
        table.update(found)
        codes += scorer_codes if found else []
    return log_language_table(run_id, table, codes, prefix)
