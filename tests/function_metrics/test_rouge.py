"""ROUGE metrics: equal to rouge_score on a varied corpus, unicode option, bad rows, metadata.

Every reference value is computed here by ``rouge_score.rouge_scorer.RougeScorer`` on the same
texts: MLflow's rouge metrics call HF evaluate's ``rouge``, whose ``_compute`` builds
``RougeScorer(rouge_types, use_stemmer=False)`` and returns ``score(reference, prediction)
.fmeasure`` per row (``use_aggregator=False``), so that is the number to match.
"""

from __future__ import annotations

import math
import random

import pandas as pd
import pytest
from rouge_score import rouge_scorer
from rouge_score.rouge_scorer import _summary_level_lcs

from mlflow_llm_eval.core.engine import score_frame
from mlflow_llm_eval.core.registry import get_metric
from mlflow_llm_eval.function_metrics import rouge
from mlflow_llm_eval.function_metrics.rouge import (
    METRICS,
    ROUGE_TYPES,
    rouge1,
    rouge2,
    rougeL,
    rougeLsum,
    summary_lcs_hits,
)

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A quick brown dog jumps over the lazy fox!",
    "Running runners ran; they were running faster than the generously funded competitors.",
    "In 2021, revenue grew 12.5% to $3.4 billion, analysts said on Tuesday.",
    "It's a state-of-the-art model (v2.0) -- e-mail us at info@example.com.",
    "MLflow evaluates LLMs.\nIt logs metrics.\n\nAnd tables, too.",
    "First line\r\nsecond line\r\n   \nthird line with   extra   spaces",
    "the the the the cat cat the",
    "Café naïve résumé — accents drop out under the default tokenizer.",
    "İstanbul KELVIN sign K and ﬁ ligature",
    "Numbers 1 2 3 4 5 and words one two three",
    "!!! ??? ...",
    "我爱北京天安门",
    "Generalization, generalize, generalized, generally, generous, generation.",
    "Connected connecting connection connections connects\nhopping hopped hops hoped",
]


def _random_text(rng: random.Random) -> str:
    """Word sequences with many repeats, on several lines: ties between LCS are common."""
    words = rng.sample(
        "a b c d the cat dog sat on mat runs running ran 42 x1".split(), rng.randint(1, 8)
    )
    lines = []
    for _ in range(rng.randint(1, 4)):
        line = " ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))
        lines.append(line + rng.choice(["", ".", " !", ",", "  "]))
    return rng.choice(["\n", "\n", "\n\n", " "]).join(lines)


@pytest.fixture(scope="module")
def corpus() -> list[tuple[str, str]]:
    """(prediction, target) pairs: real sentences against each other, plus random repeats."""
    rng = random.Random(1234)
    pairs = [(p, t) for p in SENTENCES for t in SENTENCES]
    pairs += [(_random_text(rng), _random_text(rng)) for _ in range(1500)]
    pairs += [
        (" ".join(rng.sample(SENTENCES, 3)), "\n".join(rng.sample(SENTENCES, 4)))
        for _ in range(100)
    ]
    return [(p, t) for p, t in pairs if p.strip() and t.strip()]


def _reference(pairs: list[tuple[str, str]], use_stemmer: bool) -> dict[str, list[float]]:
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=use_stemmer)
    scores = [scorer.score(target, prediction) for prediction, target in pairs]
    return {name: [s[name].fmeasure for s in scores] for name in ROUGE_TYPES}


def _ours(pairs: list[tuple[str, str]], **options) -> dict[str, list[float]]:
    rows = {"predictions": [p for p, _ in pairs], "targets": [t for _, t in pairs]}
    results = {name: METRICS[name](**options).score_batch(rows) for name in ROUGE_TYPES}
    assert all(set(r.statuses) == {"ok"} for r in results.values())
    return {name: r.scores for name, r in results.items()}


@pytest.mark.parametrize("use_stemmer", [False, True])
def test_identical_to_rouge_score(corpus, use_stemmer: bool) -> None:
    expected = _reference(corpus, use_stemmer)
    got = _ours(corpus, use_stemmer=use_stemmer, tokenizer="rouge_score")
    for name in ROUGE_TYPES:
        mismatches = [
            (corpus[i], e, g)
            for i, (e, g) in enumerate(zip(expected[name], got[name]))
            if abs(e - g) > 1e-12
        ]
        assert not mismatches, f"{name}: {len(mismatches)} rows differ, first: {mismatches[:2]}"
    # the corpus exercises what it should: partial scores, and rougeLsum differing from rougeL
    assert 0 < sum(0 < v < 1 for v in expected["rouge2"])
    assert sum(a != b for a, b in zip(expected["rougeL"], expected["rougeLsum"])) > 100


@pytest.mark.parametrize("use_stemmer", [False, True])
def test_default_tokenizer_is_rouge_score_on_ascii_rows(corpus, use_stemmer: bool) -> None:
    """tokenizer="auto" (the default) keeps MLflow's numbers on every ASCII row, bit for bit."""
    ascii_pairs = [(p, t) for p, t in corpus if p.isascii() and t.isascii()]
    assert len(ascii_pairs) > 1000
    assert _ours(ascii_pairs, use_stemmer=use_stemmer) == _reference(ascii_pairs, use_stemmer)


def test_summary_level_lcs_matches_rouge_score_on_ties() -> None:
    """The union LCS depends on which LCS rouge_score's backtracking picks: tiny alphabets."""
    rng = random.Random(7)
    for _ in range(3000):

        def sentences() -> list[list[int]]:
            return [
                [rng.randrange(3) for _ in range(rng.randint(0, 9))]
                for _ in range(rng.randint(1, 4))
            ]

        ref, cand = sentences(), sentences()
        m, n = sum(map(len, ref)), sum(map(len, cand))
        if not m or not n:
            continue
        expected = _summary_level_lcs(ref, cand).recall * m
        assert summary_lcs_hits(ref, cand) == round(expected), (ref, cand)


def test_four_metrics_share_one_tokenisation_of_the_batch() -> None:
    rows = {"predictions": ["a b c", "d e"], "targets": ["a c", "e f"]}
    rouge._tokenized.cache_clear()
    for name in ROUGE_TYPES:
        METRICS[name]().score_batch(rows)
    info = rouge._tokenized.cache_info()
    assert (info.misses, info.hits) == (1, 3)


def test_text_without_tokens_scores_zero_like_rouge_score() -> None:
    rows = {"predictions": ["!!!", "我爱北京"], "targets": ["the cat", "我爱上海"]}
    for name in ROUGE_TYPES:
        assert METRICS[name](tokenizer="rouge_score").score_batch(rows).scores == [0.0, 0.0]
        assert METRICS[name](tokenizer="default").score_batch(rows).scores == [0.0, 0.0]  # old name
        assert METRICS[name]().score_batch(rows).scores[0] == 0.0


# ---- tokenizer="unicode" ---------------------------------------------------------------------


def _tokens(text: str, **options) -> list[list[str]]:
    opts = rouge._Options(
        options.get("tokenizer", "unicode"), options.get("use_stemmer", False), "newline"
    )
    return rouge._line_words(text, opts)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        (
            "我爱北京。",
            ["我", "爱", "北", "京"],
        ),  # Han: one token per character, punctuation dropped
        ("コーヒーを飲む", ["コ", "ー", "ヒ", "ー", "を", "飲", "む"]),  # kana and ー per character
        ("안녕하세요 세계", ["안녕하세요", "세계"]),  # Hangul: space-separated words
        ("Café NAÏVE", ["café", "naïve"]),  # accents kept, case-folded
        ("cafe\u0301", ["café"]),  # NFD and NFC give the same token
        ("ＡＢＣ　１２３", ["abc", "123"]),  # full-width forms (NFKC)
        ("Straße STRASSE", ["strasse", "strasse"]),  # case folding
        ("हिंदी भाषा", ["हिंदी", "भाषा"]),  # vowel signs (marks) stay inside the word
        ("Привет, мир!", ["привет", "мир"]),
        ("x_y 3.5 e-mail", ["x", "y", "3", "5", "e", "mail"]),
        ("漢字と English", ["漢", "字", "と", "english"]),
    ],
)
def test_unicode_tokens(text: str, tokens: list[str]) -> None:
    assert _tokens(text) == [tokens]


def test_unicode_stemming_only_touches_ascii_words() -> None:
    assert _tokens("Running runs café naïvetés", use_stemmer=True) == [
        ["run", "run", "café", "naïvetés"]
    ]


def test_unicode_scores_cjk_like_rouge_score_with_character_tokens() -> None:
    """Reference: rouge_score itself, given a tokenizer that splits Chinese into characters."""

    class Characters:
        def tokenize(self, text: str) -> list[str]:
            return [c for c in text if "\u4e00" <= c <= "\u9fff"]

    pairs = [
        ("我爱北京天安门", "我爱上海"),
        ("今天天气很好。", "今天天气不好"),
        ("北京\n上海", "上海\n北京"),
    ]
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=Characters())
    expected = _ours_from_scorer(scorer, pairs)
    got = _ours(pairs, tokenizer="unicode")
    assert got == expected
    assert all(v > 0 for v in got["rouge1"])


def _ours_from_scorer(scorer, pairs) -> dict[str, list[float]]:
    scores = [scorer.score(t, p) for p, t in pairs]
    return {name: [s[name].fmeasure for s in scores] for name in ROUGE_TYPES}


def test_unicode_equals_default_on_ascii_text(corpus) -> None:
    ascii_pairs = [(p, t) for p, t in corpus if p.isascii() and t.isascii()][:400]
    assert _ours(ascii_pairs, tokenizer="unicode") == _ours(ascii_pairs)


def test_accented_text_scores_differ_between_tokenizers() -> None:
    pairs = [("le résumé est prêt", "le résumé n'est pas prêt")]
    default = _ours(pairs, tokenizer="rouge_score")["rouge1"][0]
    unicode = _ours(pairs, tokenizer="unicode")["rouge1"][0]
    # default splits "résumé" into "r", "sum" and "prêt" into "pr", "t"; unicode keeps the words
    assert _tokens("le résumé est prêt", tokenizer="default") == [
        ["le", "r", "sum", "est", "pr", "t"]
    ]
    assert unicode == pytest.approx(2 * 4 / 4 * 4 / 6 / (4 / 4 + 4 / 6))
    assert default != unicode


# ---- sentence splitting ------------------------------------------------------------------------


def test_rougelsum_splits_on_newlines_only() -> None:
    one_line = {
        "predictions": ["the cat sat. the dog ran."],
        "targets": ["the dog ran. the cat sat."],
    }
    two_lines = {
        "predictions": ["the cat sat.\nthe dog ran."],
        "targets": ["the dog ran.\nthe cat sat."],
    }
    assert rougeLsum().score_batch(one_line).scores == rougeL().score_batch(one_line).scores
    assert rougeLsum().score_batch(two_lines).scores == [1.0]


def test_punkt_splitter_equals_rouge_score_on_the_same_sentences() -> None:
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    punkt = PunktSentenceTokenizer()
    pairs = [
        (SENTENCES[i] + " " + SENTENCES[j], SENTENCES[j] + " " + SENTENCES[i])
        for i in range(5)
        for j in range(5)
        if "\n" not in SENTENCES[i] + SENTENCES[j]
    ]
    split = [("\n".join(punkt.tokenize(p)), "\n".join(punkt.tokenize(t))) for p, t in pairs]
    expected = _reference(split, use_stemmer=False)["rougeLsum"]
    rows = {"predictions": [p for p, _ in pairs], "targets": [t for _, t in pairs]}
    got = rougeLsum(sentence_splitter="punkt").score_batch(rows).scores
    assert got == expected
    assert got != rougeLsum().score_batch(rows).scores


# ---- bad rows, options, metadata ---------------------------------------------------------------


def test_bad_rows_are_nan_with_a_status_and_the_rest_scored() -> None:
    bad = [None, float("nan"), 3, {"a": 1}, ["x"], "", "   ", "bad \ud800 text"]
    statuses = [
        "missing",
        "missing",
        "not_text",
        "not_text",
        "not_text",
        "empty",
        "empty",
        "invalid_unicode",
    ]
    for name in ROUGE_TYPES:
        for column in ("predictions", "targets"):
            rows = {
                "predictions": ["the cat"] * (len(bad) + 1),
                "targets": ["the cat"] * (len(bad) + 1),
            }
            rows[column] = bad + ["the cat"]
            result = METRICS[name]().score_batch(rows)
            assert all(math.isnan(s) for s in result.scores[:-1])
            assert result.statuses == statuses + ["ok"]
            assert all(column in r for r in result.reasons[:-1])
            assert result.scores[-1] == 1.0


def test_max_chars() -> None:
    result = rouge1(max_chars=10).score_batch(
        {"predictions": ["short", "x" * 11], "targets": ["short"] * 2}
    )
    assert result.scores[0] == 1.0 and result.statuses[1] == "too_long"


@pytest.mark.parametrize(
    ("factory", "options", "error"),
    [
        (rouge1, {"tokenizer": "spacy"}, ValueError),
        (rouge2, {"use_stemmer": "yes"}, TypeError),
        (rougeL, {"sentence_splitter": "punkt"}, ValueError),
        (rougeLsum, {"sentence_splitter": "nltk"}, ValueError),
        (rouge1, {"max_chars": 0}, ValueError),
        (rouge1, {"stemmer": True}, TypeError),
    ],
)
def test_options_are_validated_at_construction(factory, options, error) -> None:
    with pytest.raises(error):
        factory(**options)


@pytest.mark.parametrize("name", ROUGE_TYPES)
def test_metadata_and_registry(name: str) -> None:
    metric = get_metric(name)
    assert (metric.name, metric.version, metric.key) == (name, "v1", f"{name}/v1")
    assert metric.requires == ("predictions", "targets") and metric.greater_is_better is True
    meta = metric.metadata()
    assert meta["options"] == {
        "tokenizer": "auto",
        "use_stemmer": False,
        "sentence_splitter": "newline",
    }
    assert meta["signature"].startswith(
        ("tok:ascii-rouge_score+ko-mecab-", "tok:ascii-rouge_score+ko-kiwi-")
    )
    assert get_metric(name, tokenizer="unicode").options.tokenizer == "unicode"


def test_in_the_engine_table() -> None:
    frame = pd.DataFrame(
        {"predictions": ["the cat sat", None], "targets": ["the cat sat down", "x"]}
    )
    outcome = score_frame(frame, [rouge1(), rouge2(), rougeL(), rougeLsum()])
    assert outcome.table["rouge1/v1/score"].iloc[0] == pytest.approx(2 * 3 / 4 / (1 + 3 / 4))
    assert outcome.table["rougeLsum/v1/status"].tolist() == ["ok", "missing"]
    assert outcome.aggregates["rouge2/v1/mean"] == pytest.approx(2 * 2 / 3 / (1 + 2 / 3))
