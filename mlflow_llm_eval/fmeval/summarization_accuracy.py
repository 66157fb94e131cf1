"""summarization_rouge and meteor: FMEval's ``SummarizationAccuracy`` ROUGE and METEOR.

``summarization_rouge`` is our :mod:`~mlflow_llm_eval.function_metrics.rouge` with FMEval's
defaults: ``rouge2`` F-measure with the Porter stemmer (``rouge_type`` may be ``rouge1``,
``rouge2`` or ``rougeL``, as FMEval allows). It has its own name so it never collides with
MLflow's ``rouge2`` (no stemmer) in the same run.

``meteor`` is nltk's ``single_meteor_score`` on nltk-tokenised texts, as FMEval calls it
(alpha 0.9, beta 3, gamma 0.5; matching stages: exact, Porter stem, WordNet synonyms). nltk's
WordNet and Punkt data are downloads, never made here:

- with the WordNet data present (``nltk.data.find("corpora/wordnet")``), the metric is named
  ``meteor`` and matches synonyms as FMEval does;
- without it, the metric is named ``meteor_exact_stem``: the same score with the synonym stage
  empty (exact and stem matches only), so runs made without WordNet never pass for ``meteor``.
  ``wordnet=True`` demands the data (error if missing), ``wordnet=False`` always gives
  ``meteor_exact_stem`` (reproducible across machines).

Tokens are ``nltk.word_tokenize``'s; without the Punkt data, sentences are split by nltk's
untrained Punkt (it does not know abbreviations) before the same Treebank word tokenizer;
``metadata()["options"]["sentence_splitter"]`` says which was used. A row whose prediction or
target is not ASCII is split by its language's segmenter instead
(:mod:`~mlflow_llm_eval.function_metrics.segment`; ``language=`` or the detected script), so
Chinese or Japanese text is not one single "word"; ``meteor.signature`` names the segmenters.
``summarization_rouge`` uses ROUGE's ``tokenizer="auto"`` (see its module).

    >>> m = meteor(wordnet=False)
    >>> one = lambda m, p, t: m.score_batch({"predictions": [p], "targets": [t]}).scores[0]
    >>> m.name, round(one(m, "the cat sat", "the cat sat"), 4)
    ('meteor_exact_stem', 0.9815)
    >>> round(one(m, "cats running", "cat runs"), 4)
    0.9375
    >>> one(summarization_rouge(), "cats are running", "cat is run")
    0.0
"""

from __future__ import annotations

import functools
from typing import Any

from mlflow_llm_eval.core.text import check_text
from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch, RowScore

FMEVAL_ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


class SummarizationRouge(Metric):
    """Our ROUGE with FMEval's defaults (rouge2, stemmer on), under its own name."""

    name = "summarization_rouge"
    value_kind = "bounded"
    version = "v1"
    greater_is_better = True
    requires = ("predictions", "targets")
    headline_aggregation = "mean"

    def __init__(self, *, rouge_type: str = "rouge2", use_stemmer_for_rouge: bool = True) -> None:
        if rouge_type not in FMEVAL_ROUGE_TYPES:
            raise ValueError(f"rouge_type must be one of {FMEVAL_ROUGE_TYPES}, got {rouge_type!r}")
        from mlflow_llm_eval.function_metrics.rouge import Rouge

        self.rouge = Rouge(rouge_type, use_stemmer=use_stemmer_for_rouge)
        stem = "with" if use_stemmer_for_rouge else "without"
        self.description = (
            f"{rouge_type} F-measure {stem} Porter stemming (FMEval SummarizationAccuracy rouge)"
        )

    def score_batch(self, rows: RowBatch) -> MetricResult:
        return self.rouge.score_batch(rows)

    def metadata(self) -> dict[str, Any]:
        return {**super().metadata(), "options": self.rouge.metadata().get("options", {})}


def wordnet_available() -> bool:
    """True when nltk finds its WordNet corpus (never downloads)."""
    import nltk

    for resource in ("corpora/wordnet", "corpora/wordnet.zip"):
        try:
            nltk.data.find(resource)
            return True
        except LookupError:
            continue
    return False


@functools.cache
def _sentence_splitter() -> tuple[str, Any]:
    import nltk

    try:
        nltk.data.find("tokenizers/punkt_tab/english")
        return "punkt", functools.partial(nltk.sent_tokenize, language="english")
    except LookupError:
        from nltk.tokenize.punkt import PunktSentenceTokenizer

        return "punkt_untrained", PunktSentenceTokenizer().tokenize


def word_tokenize(text: str) -> list[str]:
    """``nltk.word_tokenize``: sentences (Punkt), then the Treebank word tokenizer per sentence."""
    from nltk.tokenize import NLTKWordTokenizer

    tokenizer = NLTKWordTokenizer()
    return [
        token
        for sentence in _sentence_splitter()[1](text)
        for token in tokenizer.tokenize(sentence)
    ]


class _NoSynonyms:
    """Stands in for nltk's WordNet reader: no synsets, so METEOR matches exact and stems only."""

    def synsets(self, word: str, *args: Any, **kwargs: Any) -> list[Any]:
        return []


class Meteor(Metric):
    """nltk METEOR as FMEval computes it; named by whether WordNet synonyms were used."""

    version = "v1"
    value_kind = "bounded"
    greater_is_better = True
    requires = ("predictions", "targets")
    headline_aggregation = "mean"

    def __init__(
        self,
        *,
        wordnet: bool | None = None,
        alpha: float = 0.9,
        beta: float = 3.0,
        gamma: float = 0.5,
        language: str | None = None,
    ) -> None:
        from mlflow_llm_eval.core.language import normalize_code

        self.language = normalize_code(language)
        available = wordnet_available()
        if wordnet is True and not available:
            raise ValueError(
                "wordnet=True but nltk's WordNet data is not installed here: install it where "
                "there is network access (python -m nltk.downloader wordnet) or point NLTK_DATA "
                "at a copy; or use wordnet=None/False for meteor_exact_stem"
            )
        self.use_wordnet = available if wordnet is None else bool(wordnet)
        self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)
        self.name = "meteor" if self.use_wordnet else "meteor_exact_stem"
        stages = "exact, stem and WordNet synonym" if self.use_wordnet else "exact and stem"
        self.description = (
            f"METEOR with {stages} matches, nltk (FMEval SummarizationAccuracy "
            "meteor" + ("" if self.use_wordnet else "; no WordNet data: no synonyms") + ")"
        )

    def _score(self, prediction: str, target: str) -> float:
        from nltk.translate.meteor_score import single_meteor_score

        options: dict[str, Any] = {"alpha": self.alpha, "beta": self.beta, "gamma": self.gamma}
        if not self.use_wordnet:
            options["wordnet"] = _NoSynonyms()
        if prediction.isascii() and target.isascii():
            reference, hypothesis = word_tokenize(target), word_tokenize(prediction)
        else:
            from mlflow_llm_eval.core.language import detect
            from mlflow_llm_eval.function_metrics.segment import words

            code = self.language or detect(f"{prediction}\n{target}").code
            reference, hypothesis = words(target, code), words(prediction, code)
        return float(single_meteor_score(reference, hypothesis, **options))

    def with_language(self, language: str) -> Meteor:
        """This metric with ``language`` as its default for non-ASCII rows (kept if set)."""
        if self.language is not None:
            return self
        from mlflow_llm_eval.core.language import normalize_code

        copy = Meteor.__new__(Meteor)
        copy.__dict__.update(self.__dict__, language=normalize_code(language))
        return copy

    @property
    def signature(self) -> str:
        """The word split, sacrebleu style."""
        from mlflow_llm_eval.function_metrics.segment import tokenizer_signature

        lang = f"|lang:{self.language}" if self.language else ""
        return f"tok:ascii-nltk+{tokenizer_signature()}|norm:nfkc|case:lower{lang}"

    def score_batch(self, rows: RowBatch) -> MetricResult:
        results = []
        for prediction, target in zip(rows["predictions"], rows["targets"], strict=True):
            checked_p = check_text(prediction, column="predictions", allow_empty=True)
            checked_t = check_text(target, column="targets")
            bad = checked_p.unscored or checked_t.unscored
            results.append(bad or RowScore.ok(self._score(checked_p.text, checked_t.text)))  # type: ignore[arg-type]
        return MetricResult.from_rows(results)

    def metadata(self) -> dict[str, Any]:
        return {
            **super().metadata(),
            "options": {
                "wordnet": self.use_wordnet,
                "sentence_splitter": _sentence_splitter()[0],
                "alpha": self.alpha,
                "beta": self.beta,
                "gamma": self.gamma,
            },
            "language": self.language,
            "signature": self.signature,
        }


def summarization_rouge(
    *, rouge_type: str = "rouge2", use_stemmer_for_rouge: bool = True
) -> SummarizationRouge:
    """FMEval's summarization ROUGE: rouge2 with the Porter stemmer by default."""
    return SummarizationRouge(rouge_type=rouge_type, use_stemmer_for_rouge=use_stemmer_for_rouge)


def meteor(*, wordnet: bool | None = None, language: str | None = None) -> Meteor:
    """METEOR (nltk); ``meteor`` with WordNet data, else ``meteor_exact_stem``."""
    return Meteor(wordnet=wordnet, language=language)


def meteor_exact_stem(*, language: str | None = None) -> Meteor:
    """METEOR without synonyms (exact + stem matches), the same on every machine."""
    return Meteor(wordnet=False, language=language)


METRICS = {
    "summarization_rouge": summarization_rouge,
    "meteor": meteor,
    "meteor_exact_stem": meteor_exact_stem,
}
