"""qa_*: FMEval's ``QAAccuracy`` scores, each the best over the acceptable answers.

Targets are split on ``target_output_delimiter`` (``<OR>`` by default) and every score is the
maximum over the pieces, as FMEval does. The names carry a ``qa_`` prefix so they do not clash
with MLflow's ``exact_match`` (which compares the raw strings):

=========================  ===========================  ==========================================
ours                       FMEval score                 definition
=========================  ===========================  ==========================================
qa_exact_match             exact_match_score            ``output.strip() == target.strip()``
qa_quasi_exact_match       quasi_exact_match_score      equal after QuAC normalisation
qa_f1                      f1_score                     F1 of the normalised word *sets*
qa_precision_over_words    precision_over_words         share of output words found in the target
qa_recall_over_words       recall_over_words            share of target words found in the output
=========================  ===========================  ==========================================

Word scores use nltk's set ``precision``/``recall``/``f_measure`` (as FMEval does) on the
stripped, normalised texts split on whitespace; an empty word set scores 0. When the output or
the target is not ASCII, the normalised texts are split into words by their language's
segmenter instead (:mod:`~mlflow_llm_eval.function_metrics.segment`: ``language=`` or the
detected script of both texts), so Chinese, Japanese, Korean and Thai answers have words:

    >>> round(qa_f1().score_batch({"predictions": ["東京です"], "targets": ["東京"]}).scores[0], 4)
    0.6667

    >>> rows = {"predictions": ["The Eiffel tower.", "Paris"],
    ...         "targets": ["eiffel tower", "France<OR>Paris"]}
    >>> qa_exact_match().score_batch(rows).scores
    [0.0, 1.0]
    >>> qa_quasi_exact_match().score_batch(rows).scores
    [1.0, 1.0]
    >>> qa_precision_over_words().score_batch(
    ...     {"predictions": ["a tall iron tower"], "targets": ["iron tower"]}).scores
    [0.6666666666666666]
"""

from __future__ import annotations

from collections.abc import Callable

from mlflow_llm_eval.core.language import detect, normalize_code
from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch, RowScore
from mlflow_llm_eval.fmeval._common import (
    DEFAULT_DELIMITER,
    normalize_quac,
    score_against_targets,
    validate_delimiter,
)


def exact_match_score(output: str, target: str) -> float:
    """FMEval's ``_exact_match_score``."""
    return float(output.strip() == target.strip())


def quasi_exact_match_score(output: str, target: str) -> float:
    """FMEval's ``_quasi_exact_match_score``."""
    return float(normalize_quac(output.strip()) == normalize_quac(target.strip()))


def word_sets(output: str, target: str, language: str | None = None) -> tuple[set[str], set[str]]:
    """The normalised word sets of output and target: FMEval's whitespace split on ASCII text,
    else the words of their language's segmenter (``language`` or detected)."""
    output, target = normalize_quac(output.strip()), normalize_quac(target.strip())
    if output.isascii() and target.isascii():
        return set(output.split()), set(target.split())
    from mlflow_llm_eval.function_metrics.segment import words

    code = language or detect(f"{output}\n{target}").code
    return set(words(output, code)), set(words(target, code))


def _word_score(kind: str) -> Callable[..., float]:
    def score(output: str, target: str, language: str | None = None) -> float:
        from nltk.metrics import scores  # lazy: nltk is slow to import

        test, reference = word_sets(output, target, language)
        value = getattr(scores, kind)(reference=reference, test=test)
        return 0.0 if value is None else float(value)

    score.__name__ = f"{kind}_over_words"
    score.__doc__ = f"nltk's set {kind} of the normalised words (FMEval's ``_{kind}``)."
    return score


#: name -> (FMEval score name, per-target function, description)
SCORES: dict[str, tuple[str, Callable[..., float], str]] = {  # word scores take a language
    "qa_exact_match": (
        "exact_match_score",
        exact_match_score,
        "1 if the stripped output equals a target, else 0",
    ),
    "qa_quasi_exact_match": (
        "quasi_exact_match_score",
        quasi_exact_match_score,
        "1 if the output equals a target after QuAC normalisation",
    ),
    "qa_f1": (
        "f1_score",
        _word_score("f_measure"),
        "F1 over the normalised word sets of output and target",
    ),
    "qa_precision_over_words": (
        "precision_over_words",
        _word_score("precision"),
        "fraction of the output's words found in the target",
    ),
    "qa_recall_over_words": (
        "recall_over_words",
        _word_score("recall"),
        "fraction of the target's words found in the output",
    ),
}


class QAAccuracy(Metric):
    """One of FMEval's QA accuracy scores, maximised over the row's targets."""

    version = "v1"
    greater_is_better = True
    requires = ("predictions", "targets")
    headline_aggregation = "mean"

    def __init__(
        self,
        score: str,
        *,
        target_output_delimiter: str | None = DEFAULT_DELIMITER,
        language: str | None = None,
    ) -> None:
        if score not in SCORES:
            raise ValueError(f"unknown QA accuracy score {score!r}; choose from {sorted(SCORES)}")
        self.name = score
        self.value_kind = "binary" if score.endswith("exact_match") else "bounded"
        self.fmeval_name, self._fn, what = SCORES[score]
        self.delimiter = validate_delimiter(target_output_delimiter)
        self.language = normalize_code(language)
        self._words = score.endswith("words") or score == "qa_f1"
        self.description = (
            f"{what}; best over targets split on {self.delimiter!r} "
            f"(FMEval QAAccuracy {self.fmeval_name})"
        )

    def _score(self, output: str, targets: list[str]) -> RowScore:
        if self._words:
            return RowScore.ok(max(self._fn(output, t, self.language) for t in targets))
        return RowScore.ok(max(self._fn(output, target) for target in targets))

    def with_language(self, language: str) -> QAAccuracy:
        """This metric with ``language`` as its default for non-ASCII rows (kept if set)."""
        if self.language is not None or not self._words:
            return self
        copy = QAAccuracy.__new__(QAAccuracy)
        copy.__dict__.update(self.__dict__, language=normalize_code(language))
        return copy

    @property
    def signature(self) -> str | None:
        """The word split, sacrebleu style (``None`` for the exact-match scores)."""
        if not self._words:
            return None
        from mlflow_llm_eval.function_metrics.segment import tokenizer_signature

        lang = f"|lang:{self.language}" if self.language else ""
        return f"tok:ascii-whitespace+{tokenizer_signature()}|norm:quac+nfkc|case:lower{lang}"

    def score_batch(self, rows: RowBatch) -> MetricResult:
        return MetricResult.from_rows(
            score_against_targets(rows["predictions"], rows["targets"], self.delimiter, self._score)
        )


def qa_exact_match(*, target_output_delimiter: str | None = DEFAULT_DELIMITER) -> QAAccuracy:
    """FMEval ``exact_match_score``: stripped output equals a target."""
    return QAAccuracy("qa_exact_match", target_output_delimiter=target_output_delimiter)


def qa_quasi_exact_match(*, target_output_delimiter: str | None = DEFAULT_DELIMITER) -> QAAccuracy:
    """FMEval ``quasi_exact_match_score``: equal after QuAC normalisation."""
    return QAAccuracy("qa_quasi_exact_match", target_output_delimiter=target_output_delimiter)


def qa_f1(
    *, target_output_delimiter: str | None = DEFAULT_DELIMITER, language: str | None = None
) -> QAAccuracy:
    """FMEval ``f1_score``: F1 over normalised word sets."""
    return QAAccuracy("qa_f1", target_output_delimiter=target_output_delimiter, language=language)


def qa_precision_over_words(
    *, target_output_delimiter: str | None = DEFAULT_DELIMITER, language: str | None = None
) -> QAAccuracy:
    """FMEval ``precision_over_words``."""
    return QAAccuracy(
        "qa_precision_over_words",
        target_output_delimiter=target_output_delimiter,
        language=language,
    )


def qa_recall_over_words(
    *, target_output_delimiter: str | None = DEFAULT_DELIMITER, language: str | None = None
) -> QAAccuracy:
    """FMEval ``recall_over_words``."""
    return QAAccuracy(
        "qa_recall_over_words", target_output_delimiter=target_output_delimiter, language=language
    )


METRICS = {
    "qa_exact_match": qa_exact_match,
    "qa_quasi_exact_match": qa_quasi_exact_match,
    "qa_f1": qa_f1,
    "qa_precision_over_words": qa_precision_over_words,
    "qa_recall_over_words": qa_recall_over_words,
}
