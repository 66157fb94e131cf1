"""rouge1, rouge2, rougeL, rougeLsum: the F-measure of ``rouge_score.rouge_scorer.RougeScorer``.

MLflow's builtin ROUGE metrics call Hugging Face ``evaluate``'s ``rouge``, which builds
``RougeScorer(rouge_types, use_stemmer=False)`` and reports ``score(target, prediction).fmeasure``
per row. With the defaults these metrics give the same numbers (tests compare them exactly with
rouge_score), computed many times faster, and need no download: one tokenisation of a batch serves
all four metrics, n-grams are counted with ``Counter``, rougeL's LCS length comes from rapidfuzz,
and rougeLsum's summary-level union-LCS is a bit-parallel LCS that backtracks exactly as
rouge_score does (so ties between several LCS resolve identically).

    >>> rows = {"predictions": ["the cat sat on the mat"], "targets": ["the cat is on the mat"]}
    >>> round(rouge1().score_batch(rows).scores[0], 4), round(rouge2().score_batch(rows).scores[0], 4)
    (0.8333, 0.6)

Tokenisation, ``tokenizer="auto"`` (default). A row whose prediction and target are both ASCII
is tokenised exactly as rouge_score does (same numbers as MLflow, bit for bit): the text is
lower-cased with ``str.lower``, tokens are the maximal runs of ``[a-z0-9]``. Any other row is
tokenised for its language (:mod:`~mlflow_llm_eval.core.language`: the row's ``language``
column if mapped, else the metric's ``language=``, else the dominant script of prediction and
target together) by :mod:`~mlflow_llm_eval.function_metrics.segment`: Korean morphemes
(MeCab-ko, else kiwipiepy), Japanese words (fugashi + unidic-lite), Chinese words (jieba),
Thai words (PyThaiNLP), Unicode words elsewhere (accents kept), NFKC-normalised and
lower-cased. Without a segmenter, that language falls back to characters, with a warning and
``<lang>-char`` in the signature. ``metric.signature`` names all this in sacrebleu's style
(logged with each run): numbers compare only between runs with the same signature.

    >>> score = lambda metric, p, t: metric.score_batch({"predictions": [p], "targets": [t]}).scores[0]
    >>> score(rouge1(), "我爱北京", "我爱北京"), score(rouge1(), "the cat", "the cat sat")
    (1.0, 0.8)
    >>> 0 < score(rougeL(), "서울에서 친구를 만났다", "서울에서 동생을 만났다") < 1
    True

``tokenizer="rouge_score"`` (the old default, also accepted as ``"default"``) applies
rouge_score's rule to every row: accents, CJK, Cyrillic, ... are separators (``"über"`` ->
``ber``, ``"café"`` -> ``caf``), Chinese, Japanese and Korean text has no tokens at all and a row
without tokens scores 0.0. ``use_stemmer=True`` applies nltk's Porter stemmer to tokens longer
than 3 characters, as rouge_score does (only to ASCII tokens of non-ASCII rows).

    >>> score(rouge1(tokenizer="rouge_score"), "我爱北京", "我爱上海")
    0.0

``tokenizer="unicode"`` (language-blind): NFKC and case folding; every Han or kana letter is one
token, otherwise a token is a maximal run of letters, combining marks and numbers. Chinese and
Japanese are scored per character, Korean per space-separated word (eojeol), Thai per phrase.

    >>> uni = dict(tokenizer="unicode")
    >>> score(rouge1(**uni), "我爱北京", "我爱上海"), score(rouge1(**uni), "über alles", "ber alles")
    (0.5, 0.5)

rougeLsum splits each text into sentences on ``"\\n"`` only, like rouge_score: put one sentence
per line. Without newlines it equals rougeL. ``sentence_splitter="punkt"`` splits with nltk's Punkt
algorithm instead, *untrained* (nltk's trained models need a download): it splits after ``.``,
``!``, ``?`` followed by whitespace and does not know abbreviations (``"Dr. Smith"`` is split), so
it differs from rouge_score's ``split_summaries=True`` (``nltk.sent_tokenize``) on such text.

Bad rows (None, NaN, numbers, dicts, lists, lone surrogates) get NaN with a status (see
``core/text.py``). An empty or whitespace-only prediction or target gets NaN with status
``empty`` (rouge_score would say 0.0). Lists of several references are not supported
(``not_text``).
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from rapidfuzz.distance import LCSseq

from mlflow_llm_eval.core.language import normalize_code
from mlflow_llm_eval.core.text import DEFAULT_MAX_CHARS, score_text_rows
from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch, RowScore
from mlflow_llm_eval.function_metrics import segment
from mlflow_llm_eval.function_metrics.rouge_lcs import summary_lcs_hits

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
TOKENIZERS = ("auto", "rouge_score", "unicode")
#: Older names still accepted: ``"default"`` was rouge_score's rule before ``"auto"``.
_TOKENIZER_ALIASES = {"default": "rouge_score"}
SENTENCE_SPLITTERS = ("newline", "punkt")

_ASCII_TOKEN = re.compile(r"[a-z0-9]+")
#: For ASCII text, the same tokens faster: ``text.translate(_ASCII_SPACES).split()`` (keeps "\n").
_ASCII_SPACES = str.maketrans(
    {c: " " for c in map(chr, range(128)) if c != "\n" and not _ASCII_TOKEN.match(c)}
)
_VALID_TOKEN = re.compile(r"^[a-z0-9]+$")  # rouge_score's final check, after stemming


class _Options(NamedTuple):
    tokenizer: str
    use_stemmer: bool
    sentence_splitter: str


class _Doc(NamedTuple):
    """One text as token ids: all tokens, and the tokens of each sentence (for rougeLsum)."""

    tokens: tuple[int, ...]
    sentences: tuple[tuple[int, ...], ...]


class _Vocabulary(dict[str, int]):
    """Token -> id, a new id for each new token."""

    def __missing__(self, token: str) -> int:
        self[token] = new = len(self)
        return new

    def ids(self, tokens: list[str]) -> tuple[int, ...]:
        return tuple(map(self.__getitem__, tokens))


# ---- tokenisation ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 16)
def _porter(word: str) -> str:
    """nltk's PorterStemmer (rouge_score's), memoised per word: stemming is the slow part."""
    return _stemmer().stem(word)


@functools.cache
def _stemmer() -> Any:
    from nltk.stem import porter

    return porter.PorterStemmer()


def _line_words(
    text: str,
    options: _Options,
    language: str | None = None,
    known: dict[tuple[str, str], list[str]] | None = None,
) -> list[list[str]]:
    """The tokens of each line of ``text``; lines without any token are left out (they change
    no score). rouge_score's rule when ``language`` is None (and the tokenizer is not
    ``unicode``), else the language's segmenter."""
    ascii_rule = options.tokenizer != "unicode" and language is None
    if options.tokenizer == "unicode":
        text = unicodedata.normalize("NFKC", text).casefold()
        lines = [segment.unicode_pattern().findall(line) for line in text.split("\n")]
    elif language is None:
        text = text.lower()
        if text.isascii():  # same tokens as the regular expression, faster
            lines = [line.split() for line in text.translate(_ASCII_SPACES).split("\n")]
        else:
            lines = [_ASCII_TOKEN.findall(line) for line in text.split("\n")]
    elif known is not None:
        lines = [known[line, language] for line in text.split("\n")]
    else:
        lines = [segment.words(line, language) for line in text.split("\n")]
    if options.use_stemmer:
        lines = [_stemmed(words, ascii_rule) for words in lines]
    return [words for words in lines if words]


def _stemmed(words: list[str], ascii_rule: bool) -> list[str]:
    """rouge_score's stemming: Porter on tokens longer than 3 characters (ASCII ones only
    outside rouge_score's rule), then its check that a token is still ``[a-z0-9]+``."""
    if ascii_rule:
        words = [_porter(w) if len(w) > 3 else w for w in words]
    else:
        words = [_porter(w) if len(w) > 3 and _VALID_TOKEN.match(w) else w for w in words]
    return [w for w in words if _VALID_TOKEN.match(w) or not w.isascii()]


def _sentence_words(
    text: str,
    options: _Options,
    language: str | None,
    known: dict[tuple[str, str], list[str]] | None = None,
) -> list[list[str]]:
    """The tokens of each sentence: lines, each split further by Punkt if asked."""
    if options.sentence_splitter == "newline":
        return _line_words(text, options, language, known)
    punkt = _punkt()
    return [
        words
        for line in text.split("\n")
        for sentence in punkt.tokenize(line)
        for words in _line_words(sentence, options, language)
    ]


@functools.cache
def _punkt() -> Any:
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    return PunktSentenceTokenizer()  # untrained: needs no data file


@functools.lru_cache(maxsize=4)
def _tokenized(
    rows: tuple[tuple[str, str, str | None], ...], options: _Options
) -> list[tuple[_Doc, _Doc]]:
    """Token ids of every (prediction, target, language) of a batch, one vocabulary for the batch.

    Cached on the batch itself, so rouge1, rouge2, rougeL and rougeLsum scoring the same rows
    (separate metrics, called one after the other) tokenise them once.
    """
    ids = _Vocabulary().ids
    docs: dict[tuple[str, str | None], _Doc] = {}
    known = (
        segment.segmented_lines(rows)
        if options.tokenizer == "auto" and options.sentence_splitter == "newline"
        else None
    )

    def doc(text: str, language: str | None) -> _Doc:
        found = docs.get((text, language))
        if found is None:
            # sentences never split a token, so the text's tokens are its sentences' tokens
            sentences = tuple(map(ids, _sentence_words(text, options, language, known)))
            found = _Doc(tuple(itertools.chain.from_iterable(sentences)), sentences)
            docs[text, language] = found
        return found

    return [(doc(p, lang), doc(t, lang)) for p, t, lang in rows]


# ---- scores (each returns rouge_score's F-measure for target vs prediction) -----------------


def _fmeasure(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _rouge_n(n: int, pred: _Doc, target: _Doc) -> float:
    def grams(tokens: tuple[int, ...]) -> Counter[Any]:
        return Counter(tokens) if n == 1 else Counter(zip(*(tokens[i:] for i in range(n))))

    pred_grams, target_grams = grams(pred.tokens), grams(target.tokens)
    overlap = 0
    get = pred_grams.get
    for gram, count in target_grams.items():
        other = get(gram)
        if other:
            overlap += count if count < other else other
    precision = overlap / max(len(pred.tokens) - n + 1, 1)
    recall = overlap / max(len(target.tokens) - n + 1, 1)
    return _fmeasure(precision, recall)


def _rouge_l(pred: _Doc, target: _Doc) -> float:
    return _lcs_fmeasure(pred.tokens, target.tokens)


def _lcs_fmeasure(pred: tuple[int, ...], target: tuple[int, ...]) -> float:
    if not pred or not target:
        return 0.0
    lcs = LCSseq.similarity(target, pred)
    return _fmeasure(lcs / len(pred), lcs / len(target))


def _rouge_lsum(pred: _Doc, target: _Doc) -> float:
    m = sum(map(len, target.sentences))
    n = sum(map(len, pred.sentences))
    if not m or not n:
        return 0.0
    if len(target.sentences) == 1 and len(pred.sentences) == 1:
        return _lcs_fmeasure(pred.sentences[0], target.sentences[0])  # hits = LCS length
    hits = summary_lcs_hits(target.sentences, pred.sentences)
    return _fmeasure(hits / n, hits / m)


_DESCRIPTIONS = {
    "rouge1": "F-measure of unigram overlap with the target (rouge_score's ROUGE-1)",
    "rouge2": "F-measure of bigram overlap with the target (rouge_score's ROUGE-2)",
    "rougeL": "F-measure of the longest common subsequence with the target (ROUGE-L)",
    "rougeLsum": "F-measure of the summary-level LCS, one sentence per line (ROUGE-Lsum)",
}
_SCORERS: dict[str, Callable[[_Doc, _Doc], float]] = {
    "rouge1": functools.partial(_rouge_n, 1),
    "rouge2": functools.partial(_rouge_n, 2),
    "rougeL": _rouge_l,
    "rougeLsum": _rouge_lsum,
}


# ---- metrics --------------------------------------------------------------------------------


class Rouge(Metric):
    """One ROUGE type: rouge_score's F-measure of the prediction against the target, per row.

    Options: ``use_stemmer`` (Porter, rouge_score's; default False as in MLflow), ``tokenizer``
    (``"auto"``, ``"rouge_score"`` or ``"unicode"``: see the module docstring), ``language``
    (an ISO code such as ``"ko"``: every non-ASCII row is segmented as that language; a mapped
    ``language`` column overrides it per row),
    ``sentence_splitter`` (rougeLsum only: ``"newline"`` as rouge_score, or ``"punkt"``),
    ``max_chars`` (longer texts are not scored: status ``too_long``).
    """

    version = "v1"
    greater_is_better = True
    value_kind = "bounded"  # an F-measure in [0, 1]
    requires = ("predictions", "targets")
    optional = ("language",)

    def __init__(
        self,
        rouge_type: str,
        *,
        use_stemmer: bool = False,
        tokenizer: Literal["auto", "rouge_score", "unicode"] = "auto",
        sentence_splitter: Literal["newline", "punkt"] = "newline",
        max_chars: int | None = DEFAULT_MAX_CHARS,
        language: str | None = None,
    ) -> None:
        tokenizer = _TOKENIZER_ALIASES.get(tokenizer, tokenizer)  # type: ignore[assignment]
        if rouge_type not in ROUGE_TYPES:
            raise ValueError(f"rouge_type must be one of {ROUGE_TYPES}, got {rouge_type!r}")
        if not isinstance(use_stemmer, bool):
            raise TypeError(f"use_stemmer must be True or False, got {use_stemmer!r}")
        if tokenizer not in TOKENIZERS:
            raise ValueError(f"tokenizer must be one of {TOKENIZERS}, got {tokenizer!r}")
        if sentence_splitter not in SENTENCE_SPLITTERS:
            raise ValueError(
                f"sentence_splitter must be one of {SENTENCE_SPLITTERS}, got {sentence_splitter!r}"
            )
        if sentence_splitter != "newline" and rouge_type != "rougeLsum":
            raise ValueError("sentence_splitter applies to rougeLsum only")
        if max_chars is not None and (not isinstance(max_chars, int) or max_chars <= 0):
            raise ValueError(f"max_chars must be a positive int or None, got {max_chars!r}")
        if use_stemmer or sentence_splitter == "punkt":
            _require("nltk", "use_stemmer=True and sentence_splitter='punkt'")
        if tokenizer != "rouge_score":
            _require("regex", f"tokenizer={tokenizer!r}")
        self.name = rouge_type
        self.options = _Options(tokenizer, use_stemmer, sentence_splitter)
        self.language = normalize_code(language)
        self.max_chars = max_chars
        self.description = _DESCRIPTIONS[rouge_type]

    def with_language(self, language: str) -> Rouge:
        """This metric with ``language`` as its default (kept if it already has one)."""
        if self.language is not None:
            return self
        copy = Rouge.__new__(Rouge)
        copy.__dict__.update(self.__dict__, language=normalize_code(language))
        return copy

    @property
    def signature(self) -> str:
        """What the numbers depend on, sacrebleu style: equal signatures, comparable numbers."""
        o = self.options
        if o.tokenizer == "rouge_score":
            parts = ["tok:rouge_score", "case:lower"]
        elif o.tokenizer == "unicode":
            parts = ["tok:unicode-words-cjk-char", "norm:nfkc", "case:fold"]
        else:
            parts = [
                f"tok:ascii-rouge_score+{segment.tokenizer_signature()}",
                "norm:nfkc",
                "case:lower",
            ]
        parts.append(f"stem:{'porter' if o.use_stemmer else 'no'}")
        if self.name == "rougeLsum":
            parts.append(f"split:{o.sentence_splitter}")
        if self.language:
            parts.append(f"lang:{self.language}")
        return "|".join(parts)

    def _languages(self, rows: RowBatch) -> list[str | None]:
        given = rows.get("language")
        n = len(rows["predictions"])
        if given is None:
            return [self.language] * n
        return [normalize_code(code) or self.language for code in given]

    def score_batch(self, rows: RowBatch) -> MetricResult:
        scorer = _SCORERS[self.name]
        auto = self.options.tokenizer == "auto"

        def score_valid(valid: list[tuple[Any, ...]]) -> list[RowScore]:
            keyed = tuple(
                (p, t, segment.row_language(p, t, lang) if auto else None) for p, t, lang in valid
            )
            return [
                RowScore.ok(scorer(pred, target))
                for pred, target in _tokenized(keyed, self.options)
            ]

        return score_text_rows(
            [("predictions", rows["predictions"]), ("targets", rows["targets"])],
            score_valid,
            max_chars=self.max_chars,
            extras=self._languages(rows),
        )

    def metadata(self) -> dict[str, Any]:
        return {
            **super().metadata(),
            "options": self.options._asdict(),
            "language": self.language,
            "signature": self.signature,
        }


def _require(module: str, feature: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ImportError(f"{feature} needs the '{module}' package: pip install {module}")


def rouge1(**options: Any) -> Rouge:
    """ROUGE-1, F-measure of unigram overlap (MLflow's ``rouge1``); options as :class:`Rouge`."""
    return Rouge("rouge1", **options)


def rouge2(**options: Any) -> Rouge:
    """ROUGE-2, F-measure of bigram overlap (MLflow's ``rouge2``); options as :class:`Rouge`."""
    return Rouge("rouge2", **options)


def rougeL(**options: Any) -> Rouge:  # noqa: N802 - MLflow's metric name
    """ROUGE-L, F-measure of the longest common subsequence (MLflow's ``rougeL``)."""
    return Rouge("rougeL", **options)


def rougeLsum(**options: Any) -> Rouge:  # noqa: N802 - MLflow's metric name
    """ROUGE-Lsum, summary-level LCS over sentences, one per line (MLflow's ``rougeLsum``)."""
    return Rouge("rougeLsum", **options)


METRICS = {"rouge1": rouge1, "rouge2": rouge2, "rougeL": rougeL, "rougeLsum": rougeLsum}
