"""chrf: sacrebleu's sentence chrF per row, and its corpus chrF over the column as an aggregate.

chrF compares character n-grams (1-6, F-beta with beta 2), so it needs no word segmentation and
means the same in every script: a good default for Korean, Japanese, Chinese or Thai. Per row,
the score equals ``sacrebleu.sentence_chrf(prediction, [target])`` (0-100; the column's
statistics are extracted once and reduced per row and for the corpus); ``word_order=2`` gives
chrF++. Corpus chrF pools the n-gram statistics of every row (not a mean): the extra aggregate
``chrf/v1/corpus``. ``metric.signature`` is sacrebleu's.

    >>> m = chrf()
    >>> r = m.score_batch({"predictions": ["我爱北京天安门", "the cat"], "targets": ["我爱北京", "the cat"]})
    >>> [round(s, 2) for s in r.scores], m.signature.split("|")[1:4]
    ([79.07, 100.0], ['case:mixed', 'eff:yes', 'nc:6'])
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from mlflow_llm_eval.core.text import DEFAULT_MAX_CHARS, score_text_rows
from mlflow_llm_eval.core.types import (
    COUNTS_PREFIX,
    FROM_COUNTS,
    REQUEST_ACCOUNTING,
    SUM,
    Metric,
    MetricResult,
    RowBatch,
    RowScore,
)
from mlflow_llm_eval.function_metrics.bleu import corpus_counts, corpus_score, segment_statistics


class Chrf(Metric):
    """sacrebleu sentence chrF per row (0-100); corpus chrF as the ``corpus`` aggregate."""

    name = "chrf"
    version = "v1"
    greater_is_better = True
    value_kind = "bounded"
    value_range = (0.0, 100.0)
    requires = ("predictions", "targets")
    averaged_aggregates: frozenset[str] = frozenset()
    #: the corpus score over several batches: recomputed from the summed statistics (as bleu)
    aggregate_merges = {**REQUEST_ACCOUNTING, f"{COUNTS_PREFIX}*": SUM, "corpus": FROM_COUNTS}
    description = "sacrebleu sentence chrF (0-100): character n-gram F-score against the target"

    def __init__(
        self,
        *,
        char_order: int = 6,
        word_order: int = 0,
        beta: int = 2,
        lowercase: bool = False,
        whitespace: bool = False,
        max_chars: int | None = DEFAULT_MAX_CHARS,
    ) -> None:
        for name, value in (("char_order", char_order), ("word_order", word_order), ("beta", beta)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        self.options: dict[str, Any] = {
            "char_order": char_order,
            "word_order": word_order,
            "beta": beta,
            "lowercase": bool(lowercase),
            "whitespace": bool(whitespace),
        }
        self.max_chars = max_chars
        if word_order:
            self.description = "sacrebleu sentence chrF++ (0-100) against the target"

    @functools.cached_property
    def _chrf(self) -> Any:
        from sacrebleu.metrics import CHRF

        return CHRF(**self.options)

    @property
    def signature(self) -> str:
        """sacrebleu's chrF signature (as ``CHRF.get_signature()`` prints it after scoring)."""
        from importlib.metadata import version

        o = self.options
        return (
            f"nrefs:1|case:{'lc' if o['lowercase'] else 'mixed'}|eff:yes|nc:{o['char_order']}|"
            f"nw:{o['word_order']}|space:{'yes' if o['whitespace'] else 'no'}|"
            f"version:{version('sacrebleu')}"
        )

    def score_batch(self, rows: RowBatch) -> MetricResult:
        stats: list[Any] = []

        def score_valid(valid: list[tuple[str, ...]]) -> list[RowScore]:
            stats.extend(
                segment_statistics(self._chrf, [p for p, _ in valid], [t for _, t in valid])
            )
            return [RowScore.ok(self._chrf._aggregate_and_compute([s]).score) for s in stats]

        result = score_text_rows(
            [("predictions", rows["predictions"]), ("targets", rows["targets"])],
            score_valid,
            max_chars=self.max_chars,
        )
        result.extra_aggregates.update(corpus_counts(stats))
        result.extra_aggregates.update(self.aggregates_from_counts(result.extra_aggregates))
        return result

    def aggregates_from_counts(self, counts: Mapping[str, float]) -> dict[str, float]:
        """Corpus chrF from summed segment statistics."""
        return {"corpus": corpus_score(self._chrf, counts)}

    def metadata(self) -> dict[str, Any]:
        return {**super().metadata(), "signature": self.signature, "options": dict(self.options)}


def chrf(
    *,
    char_order: int = 6,
    word_order: int = 0,
    beta: int = 2,
    lowercase: bool = False,
    whitespace: bool = False,
) -> Chrf:
    """sacrebleu chrF per row and over the corpus (``word_order=2``: chrF++)."""
    return Chrf(
        char_order=char_order,
        word_order=word_order,
        beta=beta,
        lowercase=lowercase,
        whitespace=whitespace,
    )


METRICS = {"chrf": chrf}
