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

Tokenisation, ``tokenizer="default"`` (rouge_score's, identical numbers): the text is lower-cased
with ``str.lower``; tokens are the maximal runs of ``[a-z0-9]``; everything else separates tokens
and is dropped. Accents, CJK, Cyrillic, ... are therefore separators: ``"über"`` -> ``ber``,
``"café"`` -> ``caf``, Chinese, Japanese and Korean text has no tokens at all, and a row whose
text has no token scores 0.0 (as in rouge_score). ``use_stemmer=True`` applies nltk's Porter stemmer to tokens longer than
3 characters, as rouge_score does.

    >>> score = lambda metric, p, t: metric.score_batch({"predictions": [p], "targets": [t]}).scores[0]
    >>> score(rouge1(), "我爱北京", "我爱上海"), score(rouge1(), "über alles", "ber alles")
    (0.0, 1.0)

``tokenizer="unicode"`` (not rouge_score's; for non-English text): the text is NFKC-normalised and
case-folded; then, left to right, every letter or number of the Han script, or whose script
extensions include Hiragana or Katakana (kana, ``ー``, ``々``), is one token; otherwise a token is a
maximal run of letters, combining marks and numbers (``\\p{L}``, ``\\p{M}``, ``\\p{N}``) that
starts with a letter or number. So Chinese and Japanese are scored per character, Korean per
space-separated word (eojeol), accented Latin, Cyrillic, Greek, Devanagari per word with their
accents and vowel signs kept; Thai, Lao, Khmer and Burmese (written without spaces) become one
token per space-separated phrase. Punctuation, symbols and ``_`` separate tokens. The stemmer
(if on) is applied only to ASCII ``[a-z0-9]`` tokens longer than 3 characters. On ASCII text both
tokenizers give the same tokens.

    >>> uni = dict(tokenizer="unicode")
    >>> score(rouge1(**uni), "我爱北京", "我爱上海"), score(rouge1(**uni), "über alles", "ber alles")
    (0.5, 0.5)
    >>> score(rouge1(**uni), "コーヒーを飲む", "コーヒーを飲みます")  # 6 of 7 and of 9 tokens
    0.75

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
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

from rapidfuzz.distance import LCSseq

from mlflow_llm_eval.core.text import DEFAULT_MAX_CHARS, score_text_rows
from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch, RowScore

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
TOKENIZERS = ("default", "unicode")
SENTENCE_SPLITTERS = ("newline", "punkt")

_ASCII_TOKEN = re.compile(r"[a-z0-9]+")
#: For ASCII text, the same tokens faster: ``text.translate(_ASCII_SPACES).split()`` (keeps "\n").
_ASCII_SPACES = str.maketrans(
    {c: " " for c in map(chr, range(128)) if c != "\n" and not _ASCII_TOKEN.match(c)}
)
_VALID_TOKEN = re.compile(r"^[a-z0-9]+$")  # rouge_score's final check, after stemming
_CJK = r"[\p{L}\p{N}]&&[\p{Han}\p{scx=Hiragana}\p{scx=Katakana}]"
_UNICODE_TOKEN = rf"(?V1)[{_CJK}]|[[\p{{L}}\p{{N}}]--[{_CJK}]][[\p{{L}}\p{{M}}\p{{N}}]--[{_CJK}]]*"


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


@functools.cache
def _unicode_pattern() -> Any:
    import regex

    return regex.compile(_UNICODE_TOKEN)


def _line_words(text: str, options: _Options) -> list[list[str]]:
    """The tokens of each line of ``text`` (rouge_score's rule by default); lines without any
    token are left out (they change no score)."""
    if options.tokenizer == "default":
        text = text.lower()
        if text.isascii():  # same tokens as the regular expression, faster
            lines = [line.split() for line in text.translate(_ASCII_SPACES).split("\n")]
        else:
            lines = [_ASCII_TOKEN.findall(line) for line in text.split("\n")]
    else:
        text = unicodedata.normalize("NFKC", text).casefold()
        lines = [_unicode_pattern().findall(line) for line in text.split("\n")]
    if options.use_stemmer:
        lines = [_stemmed(words, options.tokenizer) for words in lines]
    return [words for words in lines if words]


def _stemmed(words: list[str], tokenizer: str) -> list[str]:
    """rouge_score's stemming: Porter on tokens longer than 3 characters (ASCII ones only under
    the unicode tokenizer), then its check that a token is still ``[a-z0-9]+``."""
    if tokenizer == "default":
        words = [_porter(w) if len(w) > 3 else w for w in words]
    else:
        words = [_porter(w) if len(w) > 3 and _VALID_TOKEN.match(w) else w for w in words]
    return [w for w in words if _VALID_TOKEN.match(w) or not w.isascii()]


def _sentence_words(text: str, options: _Options) -> list[list[str]]:
    """The tokens of each sentence: lines, each split further by Punkt if asked."""
    if options.sentence_splitter == "newline":
        return _line_words(text, options)
    punkt = _punkt()
    return [
        words for line in text.split("\n") for sentence in punkt.tokenize(line)
        for words in _line_words(sentence, options)
    ]


@functools.cache
def _punkt() -> Any:
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    return PunktSentenceTokenizer()  # untrained: needs no data file


@functools.lru_cache(maxsize=4)
def _tokenized(rows: tuple[tuple[str, str], ...], options: _Options) -> list[tuple[_Doc, _Doc]]:
    """Token ids of every (prediction, target) of a batch, with one vocabulary for the batch.

    Cached on the batch itself, so rouge1, rouge2, rougeL and rougeLsum scoring the same rows
    (separate metrics, called one after the other) tokenise them once.
    """
    ids = _Vocabulary().ids
    docs: dict[str, _Doc] = {}

    def doc(text: str) -> _Doc:
        found = docs.get(text)
        if found is None:
            # sentences never split a token, so the text's tokens are its sentences' tokens
            sentences = tuple(map(ids, _sentence_words(text, options)))
            found = docs[text] = _Doc(tuple(itertools.chain.from_iterable(sentences)), sentences)
        return found

    return [(doc(p), doc(t)) for p, t in rows]


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


def summary_lcs_hits(ref_sents: Sequence[Sequence[int]], can_sents: Sequence[Sequence[int]]) -> int:
    """rouge_score's ``_summary_level_lcs`` hit count, exactly, with bit-parallel LCS.

    For each reference sentence, the union of one LCS with each candidate sentence, where the
    LCS is the one rouge_score's backtracking picks (from the end: take a match, else go up
    while the row above has the same LCS value, else go left); hits are counted per token up
    to its count in the candidate (rouge_score's guard against double counting).

        >>> summary_lcs_hits([[1, 2, 3], [4, 2]], [[1, 2], [2, 4]])
        4

    Reference sentences are packed into one integer, one bit per token plus a guard bit after
    each sentence, so one pass of Hyyro's bit-vector LCS recurrence over a candidate sentence
    computes the DP column of every reference sentence at once. The backtrack needs one step
    per LCS match: within a column it moves up to the nearest row that matches or where the LCS
    value rises; from such a row without a match it can only move left along that row to the
    nearest earlier column holding the row's token.
    """
    match: dict[int, int] = {}  # token -> bits of its positions in the packed reference
    ref_token: list[int] = []  # packed bit position -> token (-1 for guard bits)
    spans: list[tuple[int, int]] = []  # per reference sentence: (first bit, one past its last)
    for sentence in ref_sents:
        start = len(ref_token)
        for k, token in enumerate(sentence):
            match[token] = match.get(token, 0) | 1 << (start + k)
        ref_token.extend(sentence)
        ref_token.append(-1)
        if sentence:
            spans.append((start, start + len(sentence)))
    rows = sum(((1 << (end - start)) - 1) << start for start, end in spans)
    union = 0
    for cand in can_sents:
        v = rows  # Hyyro's vector: a 0 bit marks a row where the LCS value rises
        columns = [0]  # per column j: rows where the LCS value rises, or the token matches
        column_match = [0]
        where: dict[int, int] = {}  # candidate token -> bits of its columns (bit j-1)
        for j, token in enumerate(cand):
            m = match.get(token, 0)
            if m:
                u = v & m
                v = ((v + u) | (v - u)) & rows
                where[token] = where.get(token, 0) | 1 << j
                columns.append((rows ^ v) | m)
            else:
                columns.append(rows ^ v)
            column_match.append(m)
        if v == rows:
            continue  # no common token
        for start, below in spans:
            j = len(cand)
            while j:
                row = (columns[j] & ((1 << below) - 1)).bit_length() - 1
                if row < start:
                    break
                if not column_match[j] >> row & 1:  # no match: go left along this row
                    left = where.get(ref_token[row], 0) & ((1 << (j - 1)) - 1)
                    if not left:
                        break
                    j = left.bit_length()
                union |= 1 << row
                below = row
                j -= 1
    cand_counts = Counter(itertools.chain.from_iterable(can_sents))
    hits = 0
    for token, positions in match.items():
        found = (union & positions).bit_count()
        if found:
            count = cand_counts[token]
            hits += found if found < count else count
    return hits


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
    (``"default"``: rouge_score's; ``"unicode"``: see the module docstring),
    ``sentence_splitter`` (rougeLsum only: ``"newline"`` as rouge_score, or ``"punkt"``),
    ``max_chars`` (longer texts are not scored: status ``too_long``).
    """

    version = "v1"
    greater_is_better = True
    value_kind = "bounded"  # an F-measure in [0, 1]
    requires = ("predictions", "targets")

    def __init__(
        self,
        rouge_type: str,
        *,
        use_stemmer: bool = False,
        tokenizer: Literal["default", "unicode"] = "default",
        sentence_splitter: Literal["newline", "punkt"] = "newline",
        max_chars: int | None = DEFAULT_MAX_CHARS,
    ) -> None:
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
        if tokenizer == "unicode":
            _require("regex", "tokenizer='unicode'")
        self.name = rouge_type
        self.options = _Options(tokenizer, use_stemmer, sentence_splitter)
        self.max_chars = max_chars
        self.description = _DESCRIPTIONS[rouge_type]

    def score_batch(self, rows: RowBatch) -> MetricResult:
        scorer = _SCORERS[self.name]
        return score_text_rows(
            [("predictions", rows["predictions"]), ("targets", rows["targets"])],
            lambda valid: [
                RowScore.ok(scorer(pred, target))
                for pred, target in _tokenized(tuple(valid), self.options)
            ],
            max_chars=self.max_chars,
        )

    def metadata(self) -> dict[str, Any]:
        return {**super().metadata(), "options": self.options._asdict()}


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
