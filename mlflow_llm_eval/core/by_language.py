"""Per-language aggregates: each metric's count, mean and interval over one language's rows.

An evaluation mixing languages hides a weak language behind a strong one; so when the rows hold
more than one language, every metric is also aggregated per language. Pure functions: the
doors decide the languages (:func:`row_codes`) and log the result.

    >>> from mlflow_llm_eval.core.types import MetricResult
    >>> result = MetricResult([1.0, 0.0, 1.0, float("nan")], ["ok", "ok", "ok", "empty"], [None] * 4)
    >>> table = by_language(["ko", "ja", "ko", "ja"], {"exact_match/v1": (result, "binary", None)})
    >>> table["exact_match/v1"]["ko"]["mean"], table["exact_match/v1"]["ja"]["count"]
    (1.0, 1)
    >>> sorted(language_metrics(table))[:3]
    ['exact_match/v1/lang_ja/count', 'exact_match/v1/lang_ja/mean', 'exact_match/v1/lang_ja/mean_ci_high']

Run-metric keys are ``<metric key>/lang_<code>/<aggregate>`` (MLflow keys allow letters, digits,
``_ - . / :`` and spaces, not ``=``), e.g. ``rougeL/v1/lang_ko/mean``.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from mlflow_llm_eval.core.aggregate import aggregate
from mlflow_llm_eval.core.language import row_languages
from mlflow_llm_eval.core.types import MetricResult

#: Aggregates given per language.
PER_LANGUAGE = ("count", "unscored", "mean", "mean_ci_low", "mean_ci_high")


def row_codes(
    texts: Sequence[Any],
    *,
    column: Sequence[Any] | None = None,
    override: str | None = None,
    fallback: Sequence[Any] | None = None,
) -> list[str]:
    """One language code per row: the ``column`` value, else ``override``, else detected from
    ``texts`` (or ``fallback``, e.g. the targets, where the text is not a string).

        >>> row_codes(["안녕하세요", "hello", None], fallback=[None, None, "你好"])
        ['ko', 'en', 'zh']
    """
    if fallback is not None:
        texts = [t if isinstance(t, str) and t.strip() else f for t, f in zip(texts, fallback)]
    return [
        lang.code for lang in row_languages(texts, override=override, column=column, refine=True)
    ]


def by_language(
    codes: Sequence[str], results: Mapping[str, tuple[MetricResult, str, Any]]
) -> dict[str, dict[str, dict[str, float]]]:
    """metric key -> language -> :data:`PER_LANGUAGE` aggregates; ``{}`` for one language (rows
    detected as ``und`` -- missing, empty, no letters -- do not make a second one).

    ``results`` maps each metric key to (its result, its value kind, its value range).
    """
    languages = sorted(set(codes))
    if len(set(languages) - {"und"}) < 2:  # rows of no language (None, "", "123") are no second
        return {}
    table: dict[str, dict[str, dict[str, float]]] = {}
    for key, (result, kind, value_range) in results.items():
        if len(result.scores) != len(codes):
            continue  # aggregate-only metrics have no rows to split
        per: dict[str, dict[str, float]] = {}
        for language in languages:
            scores = [s for s, c in zip(result.scores, codes) if c == language]
            values = aggregate(scores, ("mean",), kind, value_range)
            per[language] = {name: values[name] for name in PER_LANGUAGE}
        table[key] = per
    return table


def language_metrics(
    table: Mapping[str, Mapping[str, Mapping[str, float]]], prefix: str = ""
) -> dict[str, float]:
    """The run metrics of a :func:`by_language` table (NaN values left out)."""
    return {
        f"{prefix}{key}/lang_{language}/{name}": float(value)
        for key, per in table.items()
        for language, values in per.items()
        for name, value in values.items()
        if not math.isnan(value)
    }


# ---- rows scored one batch at a time (the MLflow 3 scorers) --------------------------------

#: id(scorer) -> [(language code, score), ...]; an entry goes when its scorer is collected.
_RECORDS: dict[int, list[tuple[str, float]]] = {}
_RECORDS_LOCK = threading.Lock()


def _forget(key: int) -> None:
    with _RECORDS_LOCK:
        _RECORDS.pop(key, None)


def record_rows(scorer: Any, rows: Sequence[Mapping[str, Any]], result: MetricResult) -> None:
    """Remember each scored row's language and score on ``scorer`` (called by the scorer as it
    scores a batch; thread-safe). The language: the row's ``language`` field, else the
    metric's ``language``, else detected from ``predictions`` (``targets`` if it is empty)."""
    given = [r.get("language") for r in rows]
    codes = row_codes(
        [r.get("predictions") for r in rows],
        column=given if any(g is not None for g in given) else None,
        override=getattr(scorer.metric, "language", None),
        fallback=[r.get("targets") for r in rows],
    )
    with _RECORDS_LOCK:
        found = _RECORDS.get(id(scorer))
        if found is None:
            found = _RECORDS[id(scorer)] = []
            weakref.finalize(scorer, _forget, id(scorer))
        found.extend(zip(codes, result.scores))


def scorer_language_table(scorer: Any) -> tuple[dict[str, Any], list[str]]:
    """The :func:`by_language` table of what ``scorer`` has scored so far, and the codes."""
    with _RECORDS_LOCK:
        records = list(_RECORDS.get(id(scorer), ()))
    codes = [c for c, _ in records]
    scores = [float(s) for _, s in records]
    metric = scorer.metric
    result = MetricResult(scores, ["ok"] * len(scores), [None] * len(scores))
    return by_language(codes, {metric.key: (result, metric.value_kind, metric.value_range)}), codes
