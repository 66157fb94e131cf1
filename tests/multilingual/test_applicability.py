"""No number where a formula has no meaning: readability, toxicity; exact_match, token_count,
language detection."""

from __future__ import annotations

import math
import unicodedata

import pytest

from multilingual.corpus import CORPUS, LANGUAGES
from mlflow_llm_eval.core.language import Language, detect, normalize_code, row_languages
from mlflow_llm_eval.core.types import STATUSES, Status
from mlflow_llm_eval.function_metrics.exact_match import exact_match
from mlflow_llm_eval.function_metrics.readability import (
    TEXTSTAT_LANGUAGES,
    ari_grade_level,
    flesch_kincaid_grade_level,
)
from mlflow_llm_eval.function_metrics.token_count import token_count
from mlflow_llm_eval.function_metrics.toxicity import toxicity

LOCALES = {"en": "en_US", "de": "de_DE", "es": "es_ES", "ru": "ru_RU"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_detection_of_the_corpus(language: str) -> None:
    same, (p, t), _ = CORPUS[language]
    for text in (same, p, t):
        assert detect(text, refine=True).code == language, text


def test_mixed_and_edge_rows() -> None:
    assert detect("이 함수는 JSON과 HTTP API를 사용합니다").code == "ko"  # Korean quoting English
    assert detect("日本語の文章です").code == "ja"  # more kanji than kana: still Japanese
    assert detect("我们使用API和JSON格式").code == "zh"
    assert detect("2024-01-01 12:00") == Language("und", "Zyyy", False)
    assert detect("Dr. Smith — 3 p.m. “ok”", refine=True) == Language("en", "Latn", False)
    assert [l.code for l in row_languages(["안녕", "hello"], override="ja")] == ["ja", "ja"]
    assert normalize_code("zh-Hant-TW") == "zh"
    with pytest.raises(ValueError, match="code"):
        normalize_code("Korean language")


def test_status_is_in_the_vocabulary() -> None:
    assert Status.UNSUPPORTED_LANGUAGE == "unsupported_language" in STATUSES


@pytest.mark.parametrize(
    "factory,method",
    [
        (flesch_kincaid_grade_level, "flesch_kincaid_grade"),
        (ari_grade_level, "automated_readability_index"),
    ],
)
def test_readability_only_for_textstat_languages(factory, method) -> None:
    from textstat.textstat import textstatistics

    texts = [CORPUS[lang][1][0] for lang in LANGUAGES]
    result = factory().score_batch({"predictions": texts})
    for language, text, score, status, reason in zip(
        LANGUAGES, texts, result.scores, result.statuses, result.reasons
    ):
        if language in TEXTSTAT_LANGUAGES:
            reference = textstatistics()
            reference.set_lang(LOCALES[language])
            assert (status, score) == ("ok", getattr(reference, method)(text)), language
        else:
            assert status == "unsupported_language" and math.isnan(score), language
            assert f"'{language}'" in reason


def test_readability_language_overrides() -> None:
    text = CORPUS["zh"][0]
    assert flesch_kincaid_grade_level(language="ko").score_batch(
        {"predictions": ["The cat sat."]}
    ).statuses == ["unsupported_language"]
    column = flesch_kincaid_grade_level().score_batch(
        {"predictions": [text, "The cat sat."], "language": ["zh", "en"]}
    )
    assert column.statuses == ["unsupported_language", "ok"]


def test_toxicity_rows_outside_the_models_languages(tiny_classifier_dir) -> None:
    metric = toxicity(model=str(tiny_classifier_dir), languages=["en", "de"])
    texts = [CORPUS[lang][0] for lang in LANGUAGES]
    result = metric.score_batch({"predictions": texts})
    for language, score, status, reason in zip(
        LANGUAGES, result.scores, result.statuses, result.reasons
    ):
        if language in ("en", "de"):
            assert status in ("ok", "truncated") and 0 <= score <= 1
        else:
            assert status == "unsupported_language" and math.isnan(score)
            assert f"'{language}'" in reason and "textdetox" in reason
    # a model we know nothing about, without languages=: every row is scored
    anything = toxicity(model=str(tiny_classifier_dir)).score_batch({"predictions": texts})
    assert set(anything.statuses) <= {"ok", "truncated"}  # the tiny model has a short maximum
    assert not any(math.isnan(s) for s in anything.scores)
    # the language column wins over detection
    told = metric.score_batch({"predictions": [CORPUS["ko"][0]], "language": ["en"]})
    assert told.statuses[0] in ("ok", "truncated")


def test_known_models_declare_their_languages() -> None:
    from mlflow_llm_eval.function_metrics.toxicity import MODEL_LANGUAGES

    assert toxicity().languages == ("en",)
    assert "zh" in MODEL_LANGUAGES["textdetox/xlmr-large-toxicity-classifier"]
    assert "ko" not in MODEL_LANGUAGES["unitary/multilingual-toxic-xlm-roberta"]


def test_exact_match_unicode_normalisation() -> None:
    nfd = unicodedata.normalize("NFD", "한국")
    assert nfd != "한국"
    rows = {
        "predictions": [nfd, "ＡＢＣ１２３", "Straße"],
        "targets": ["한국", "abc123", "STRASSE"],
    }
    assert exact_match().score_batch(rows).scores == [1.0, 0.0, 0.0]
    assert exact_match(ignore_case=True).score_batch(rows).scores == [1.0, 0.0, 1.0]
    assert exact_match(normalize="NFKC", ignore_case=True).score_batch(rows).scores == [1.0] * 3
    assert exact_match(normalize=None).score_batch(rows).scores == [0.0, 0.0, 0.0]  # MLflow's
    with pytest.raises(ValueError, match="normalize"):
        exact_match(normalize="NFX")


def test_token_count_regex_counts_cjk_characters() -> None:
    metric = token_count(encoding="regex-words")
    result = metric.score_batch({"predictions": ["我爱北京天安门", "서울 날씨", "Hello, world!"]})
    assert result.scores == [7.0, 4.0, 4.0]
