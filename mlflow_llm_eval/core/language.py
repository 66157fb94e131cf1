"""Which language (or at least which script) each row is written in: deterministic, offline.

The script decides most of what a metric needs: how to cut the text into words (Korean
morphemes, Japanese and Chinese words, Thai words, or words between spaces) and whether a
formula applies at all. So detection is first a count of *letters* per Unicode script:

========================  ================  ============================================
dominant letters          language          script (ISO 15924)
========================  ================  ============================================
Hangul                    ``ko``            ``Hang``
kana (or Han with kana)   ``ja``            ``Jpan`` (kana >= 10 % of the Han + kana letters)
Han without kana          ``zh``            ``Hani``
Thai                      ``th``            ``Thai``
Arabic                    ``ar``            ``Arab``
Devanagari                ``hi``            ``Deva``
Cyrillic                  ``ru``            ``Cyrl``
Latin                     ``en`` (*)        ``Latn``
Greek, Hebrew, ...        ``el``, ``he``    their own
========================  ================  ============================================

A row mixing scripts (a Korean answer quoting ``API`` and ``JSON``) goes to the script with the
most letters; Han and kana count together (Japanese text is often more kanji than kana), so a
Korean sentence with two English terms is still Korean. Digits, punctuation and symbols are not
letters and never decide.

(*) Within the Latin script (and Cyrillic) the language matters only where a metric's formula
or model depends on it (readability, toxicity). :func:`detect` with ``refine=True`` then asks
`lingua-language-detector <https://pypi.org/project/lingua-language-detector/>`_ (offline,
deterministic, imported lazily, optional; high-accuracy models of :data:`REFINE_CANDIDATES`,
loaded once, a few seconds) about text holding a letter outside ASCII. Text whose letters are
all ASCII (whatever its punctuation: ``—``, ``“``, ``°``) reads as English: MLflow's metrics
assume English, their numbers stay bit for bit, and no model is loaded for an English
evaluation; an ASCII-only row in another Latin language (Dutch often is) needs an override. A
language lingua gives less than :data:`MIN_CONFIDENCE` (short texts) is not trusted: the
script's default stands. Without lingua, the Latin script reads as ``en`` and Cyrillic as
``ru`` (``Language.refined`` is False).

    >>> detect("한국어 문장에 API라는 영어가 섞여 있다")
    Language(code='ko', script='Hang', refined=False)
    >>> detect("東京は日本の首都です").code, detect("我爱北京天安门").code, detect("สวัสดีครับ").code
    ('ja', 'zh', 'th')
    >>> detect("Привет, мир").code, detect("नमस्ते दुनिया").code, detect("مرحبا بالعالم").code
    ('ru', 'hi', 'ar')
    >>> detect("12345 !!!")
    Language(code='und', script='Zyyy', refined=False)

Overrides (strongest first): a per-row language column, the metric's ``language=`` option, the
evaluation's ``evaluator_config={"language": ...}``; :func:`normalize_code` reads codes such as
``"ko"``, ``"ko-KR"``, ``"zh_Hans"``, ``"JA"``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

#: Script -> default language when only the script is known.
SCRIPT_LANGUAGE: dict[str, str] = {
    "Hang": "ko",
    "Jpan": "ja",
    "Hani": "zh",
    "Thai": "th",
    "Arab": "ar",
    "Deva": "hi",
    "Cyrl": "ru",
    "Latn": "en",
    "Grek": "el",
    "Hebr": "he",
    "Beng": "bn",
    "Taml": "ta",
    "Telu": "te",
    "Gujr": "gu",
    "Knda": "kn",
    "Mlym": "ml",
    "Guru": "pa",
    "Geor": "ka",
    "Armn": "hy",
    "Laoo": "lo",
    "Khmr": "km",
    "Mymr": "my",
    "Ethi": "am",
    "Sinh": "si",
    "Tibt": "bo",
    "Zyyy": "und",
}
#: Language -> its usual script (for an override given as a language code).
LANGUAGE_SCRIPT: dict[str, str] = {v: k for k, v in SCRIPT_LANGUAGE.items()}
LANGUAGE_SCRIPT.update(
    {
        lang: "Latn"
        for lang in (
            "de",
            "es",
            "fr",
            "it",
            "nl",
            "pl",
            "hu",
            "pt",
            "tr",
            "sv",
            "da",
            "no",
            "nb",
            "fi",
            "cs",
            "sk",
            "ro",
            "hr",
            "sl",
            "et",
            "lv",
            "lt",
            "id",
            "ms",
            "vi",
            "tl",
            "sw",
            "ca",
            "eu",
            "gl",
        )
    }
)
LANGUAGE_SCRIPT.update({lang: "Cyrl" for lang in ("uk", "bg", "sr", "mk", "be", "kk")})
LANGUAGE_SCRIPT.update({"fa": "Arab", "ur": "Arab", "mr": "Deva", "ne": "Deva", "yue": "Hani"})

# Letter ranges per script (start, end inclusive); letters outside them count as "other".
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x024F, "Latn"),
    (0x1E00, 0x1EFF, "Latn"),
    (0xFF21, 0xFF5A, "Latn"),
    (0x0370, 0x03FF, "Grek"),
    (0x1F00, 0x1FFF, "Grek"),
    (0x0400, 0x052F, "Cyrl"),
    (0x1C80, 0x1C8F, "Cyrl"),
    (0x2DE0, 0x2DFF, "Cyrl"),
    (0xA640, 0xA69F, "Cyrl"),
    (0x0530, 0x058F, "Armn"),
    (0x0590, 0x05FF, "Hebr"),
    (0x0600, 0x06FF, "Arab"),
    (0x0750, 0x077F, "Arab"),
    (0x08A0, 0x08FF, "Arab"),
    (0xFB50, 0xFDFF, "Arab"),
    (0xFE70, 0xFEFF, "Arab"),
    (0x0900, 0x097F, "Deva"),
    (0x0980, 0x09FF, "Beng"),
    (0x0A00, 0x0A7F, "Guru"),
    (0x0A80, 0x0AFF, "Gujr"),
    (0x0B80, 0x0BFF, "Taml"),
    (0x0C00, 0x0C7F, "Telu"),
    (0x0C80, 0x0CFF, "Knda"),
    (0x0D00, 0x0D7F, "Mlym"),
    (0x0D80, 0x0DFF, "Sinh"),
    (0x0E00, 0x0E7F, "Thai"),
    (0x0E80, 0x0EFF, "Laoo"),
    (0x0F00, 0x0FFF, "Tibt"),
    (0x1000, 0x109F, "Mymr"),
    (0x10A0, 0x10FF, "Geor"),
    (0x1200, 0x139F, "Ethi"),
    (0x1780, 0x17FF, "Khmr"),
    (0x1100, 0x11FF, "Hang"),
    (0x3130, 0x318F, "Hang"),
    (0xA960, 0xA97F, "Hang"),
    (0xAC00, 0xD7AF, "Hang"),
    (0xD7B0, 0xD7FF, "Hang"),
    (0xFFA0, 0xFFDC, "Hang"),
    (0x3040, 0x309F, "Kana"),
    (0x30A0, 0x30FF, "Kana"),
    (0x31F0, 0x31FF, "Kana"),
    (0xFF66, 0xFF9F, "Kana"),
    (0x2E80, 0x2FDF, "Hani"),
    (0x3005, 0x3007, "Hani"),
    (0x3021, 0x3029, "Hani"),
    (0x3400, 0x4DBF, "Hani"),
    (0x4E00, 0x9FFF, "Hani"),
    (0xF900, 0xFAFF, "Hani"),
    (0x20000, 0x3FFFF, "Hani"),
)
#: Languages lingua chooses among, per script (each adds ~0.6 s to lingua's one-time load).
REFINE_CANDIDATES: dict[str, tuple[str, ...]] = {
    "Latn": ("en", "de", "es", "fr", "it", "nl", "pl", "hu", "pt", "ro", "cs", "sv", "tr"),
    "Cyrl": ("ru", "uk", "bg", "sr", "mk", "be", "kk"),
}
#: lingua's confidence below which a refined language is not trusted (script default instead).
MIN_CONFIDENCE = 0.3
#: Kana share of Han + kana letters from which a text is Japanese.
KANA_SHARE = 0.1


class Language(NamedTuple):
    """A row's language: an ISO 639-1 code (``und`` if unknown), its ISO 15924 script, and
    whether the language within the script was identified (lingua or an override)."""

    code: str
    script: str
    refined: bool = False


def script_of(char: str) -> str | None:
    """The script of one letter (``None`` for a non-letter; ``"Zyyy"`` for other letters).

    >>> script_of("가"), script_of("カ"), script_of("中"), script_of("é"), script_of("1")
    ('Hang', 'Kana', 'Hani', 'Latn', None)
    """
    if not char.isalpha():
        return None
    return _script_of_code(ord(char))


@functools.lru_cache(maxsize=1 << 14)
def _script_of_code(code: int) -> str:
    if code < 0x80:
        return "Latn"
    for start, end, script in _RANGES:
        if start <= code <= end:
            return script
    return "Zyyy"


#: Script code -> Unicode script property(ies) of its letters (``regex`` syntax).
_SCRIPT_PROPERTIES = {
    "Latn": "Latin",
    "Hang": "Hangul",
    "Kana": "Hiragana}\\p{Katakana",
    "Hani": "Han",
    "Cyrl": "Cyrillic",
    "Arab": "Arabic",
    "Deva": "Devanagari",
    "Thai": "Thai",
    "Grek": "Greek",
    "Hebr": "Hebrew",
    "Beng": "Bengali",
    "Taml": "Tamil",
    "Telu": "Telugu",
    "Gujr": "Gujarati",
    "Knda": "Kannada",
    "Mlym": "Malayalam",
    "Guru": "Gurmukhi",
    "Geor": "Georgian",
    "Armn": "Armenian",
    "Laoo": "Lao",
    "Khmr": "Khmer",
    "Mymr": "Myanmar",
    "Ethi": "Ethiopic",
    "Sinh": "Sinhala",
    "Tibt": "Tibetan",
}


@functools.cache
def _script_patterns() -> tuple[tuple[str, Any], ...]:
    import regex

    return tuple(
        (code, regex.compile(rf"(?V1)[[\p{{{prop}}}]&&\p{{L}}]"))
        for code, prop in _SCRIPT_PROPERTIES.items()
    )


@functools.cache
def _letter_pattern() -> Any:
    import regex

    return regex.compile(r"\p{L}")


def script_counts(text: str) -> dict[str, int]:
    """Letters per script in ``text`` (non-letters are skipped; ``Zyyy``: other scripts).

    >>> script_counts("API를 써요!")
    {'Latn': 3, 'Hang': 3}
    """
    counts: dict[str, int] = {}
    remaining = len(_letter_pattern().findall(text))
    for code, pattern in _script_patterns():
        if not remaining:
            break
        found = len(pattern.findall(text))
        if found:
            counts[code] = found
            remaining -= found
    if remaining > 0:
        counts["Zyyy"] = remaining
    return counts


def dominant_script(counts: dict[str, int]) -> str:
    """The script with the most letters; Han and kana count together as ``Jpan``/``Hani``."""
    counts = dict(counts)
    kana, han = counts.pop("Kana", 0), counts.pop("Hani", 0)
    if kana + han:
        counts["Jpan" if kana >= KANA_SHARE * (kana + han) else "Hani"] = kana + han
    if len(counts) > 1:
        counts.pop("Zyyy", None)  # letters of unlisted scripts decide only when alone
    if not counts:
        return "Zyyy"
    return max(sorted(counts), key=counts.__getitem__)  # ties: alphabetical, deterministic


def detect(text: str, *, refine: bool = False, candidates: Sequence[str] | None = None) -> Language:
    """The language of ``text`` by its dominant script (see the module docstring).

    ``refine=True`` asks lingua (if installed) which language of the script a Latin text with
    a non-ASCII letter, or a Cyrillic text, is, among ``candidates`` (ISO 639-1 codes; default
    :data:`REFINE_CANDIDATES` of the script).
    """
    if text.isascii():  # fast path: the common English row
        script = "Latn" if any(c.isalpha() for c in text) else "Zyyy"
    else:
        script = dominant_script(script_counts(text))
    code = SCRIPT_LANGUAGE.get(script, "und")
    if refine and script in REFINE_CANDIDATES and _has_non_ascii_letter(text):
        wanted = tuple(candidates or REFINE_CANDIDATES[script])
        refined = _lingua_language(text, script, wanted)
        if refined is not None:
            return Language(refined, script, True)
    return Language(code, script, False)


def _has_non_ascii_letter(text: str) -> bool:
    return not text.isascii() and any(ord(c) > 127 and c.isalpha() for c in text)


def normalize_code(value: Any) -> str | None:
    """A language override as a lower-case ISO 639 code, or None when absent.

    >>> normalize_code("ko-KR"), normalize_code("zh_Hans"), normalize_code(" JA "), normalize_code(None)
    ('ko', 'zh', 'ja', None)
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    if not isinstance(value, str):
        raise ValueError(f"a language must be a code such as 'ko' or 'en-US', got {value!r}")
    code = value.strip().replace("_", "-").split("-")[0].lower()
    if not code:
        return None
    if not code.isalpha() or not 2 <= len(code) <= 3:
        raise ValueError(f"a language must be a code such as 'ko' or 'en-US', got {value!r}")
    return code


def from_code(code: str) -> Language:
    """The :class:`Language` of an override code (its usual script; ``Zyyy`` if unknown)."""
    return Language(code, LANGUAGE_SCRIPT.get(code, "Zyyy"), True)


def row_languages(
    texts: Iterable[Any],
    *,
    override: str | None = None,
    column: Sequence[Any] | None = None,
    refine: bool = False,
    candidates: Sequence[str] | None = None,
) -> list[Language]:
    """One :class:`Language` per row: the row's ``column`` value, else ``override``, else detected.

    Non-text cells (None, numbers) are detected as ``und``.

        >>> [l.code for l in row_languages(["안녕", "hello", None], column=[None, "de", None])]
        ['ko', 'de', 'und']
    """
    fixed = from_code(override) if override else None
    out = []
    for i, text in enumerate(texts):
        given = normalize_code(column[i]) if column is not None else None
        if given is not None:
            out.append(from_code(given))
        elif fixed is not None:
            out.append(fixed)
        elif isinstance(text, str):
            out.append(detect(text, refine=refine, candidates=candidates))
        else:
            out.append(Language("und", "Zyyy", False))
    return out


def lingua_available() -> bool:
    """Whether ``lingua-language-detector`` is installed (never imports it)."""
    import importlib.util

    return importlib.util.find_spec("lingua") is not None


@functools.cache
def _lingua_detector(script: str, candidates: tuple[str, ...]) -> Any:
    import lingua

    wanted = {c.lower() for c in candidates}
    languages = [
        language
        for language in lingua.Language.all()
        if language.iso_code_639_1.name.lower() in wanted
        and LANGUAGE_SCRIPT.get(language.iso_code_639_1.name.lower(), "Latn") == script
    ]
    if len(languages) < 2:
        return None
    return lingua.LanguageDetectorBuilder.from_languages(*languages).build()


def _lingua_language(text: str, script: str, candidates: tuple[str, ...]) -> str | None:
    if not lingua_available():
        return None
    detector = _lingua_detector(script, candidates)
    if detector is None:
        return candidates[0] if len(candidates) == 1 else None
    ranked = detector.compute_language_confidence_values(text)
    if not ranked or ranked[0].value < MIN_CONFIDENCE:
        return None
    return str(ranked[0].language.iso_code_639_1.name.lower())
