"""summarization_rouge, meteor/meteor_exact_stem and bertscore against the libraries FMEval calls.

References are computed here by those libraries on the same rows: ``rouge_score`` (what
``evaluate``'s rouge runs), ``nltk.translate.meteor_score`` (what FMEval's MeteorScore runs) and
``bert_score`` (what ``evaluate``'s bertscore runs), the latter on a tiny encoder built locally.
"""

from __future__ import annotations

import math

import pytest

from mlflow_llm_eval.fmeval import summarization_accuracy as sa
from mlflow_llm_eval.fmeval.bertscore import FMEVAL_MODEL_LAYERS, bertscore, qa_bertscore
from mlflow_llm_eval.fmeval.summarization_accuracy import (
    meteor,
    meteor_exact_stem,
    summarization_rouge,
)

PREDICTIONS = [
    "The cat sat on the mat.",
    "Officials said the bridge will reopen on Monday after repairs.",
    "Rain is expected tomorrow. Bring an umbrella!",
    "running runners ran quickly",
    "completely unrelated words here",
    "",
]
TARGETS = [
    "A cat was sitting on the mat.",
    "The bridge reopens Monday once repairs finish, officials said.",
    "Tomorrow it will rain; take an umbrella.",
    "the runner runs quick",
    "The weather is nice.",
    "Something was said.",
]
ROWS = {"predictions": PREDICTIONS, "targets": TARGETS}


def test_summarization_rouge_is_rouge2_with_stemmer():
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=True)
    result = summarization_rouge().score_batch(ROWS)
    expected = [
        scorer.score(t, p)["rouge2"].fmeasure for p, t in zip(PREDICTIONS[:-1], TARGETS[:-1])
    ]
    assert result.scores[:-1] == pytest.approx(expected, abs=1e-12)
    assert result.statuses[-1] == "empty"  # our ROUGE's rule for an empty prediction
    assert summarization_rouge().key == "summarization_rouge/v1"
    stemmed = (
        summarization_rouge(rouge_type="rouge1")
        .score_batch({"predictions": ["cats running"], "targets": ["cat runs"]})
        .scores[0]
    )
    plain = (
        summarization_rouge(rouge_type="rouge1", use_stemmer_for_rouge=False)
        .score_batch({"predictions": ["cats running"], "targets": ["cat runs"]})
        .scores[0]
    )
    assert (stemmed, plain) == (1.0, 0.0)
    with pytest.raises(ValueError, match="rouge_type"):
        summarization_rouge(rouge_type="rougeLsum")


def test_meteor_exact_stem_equals_nltk_without_synonyms():
    from nltk.translate.meteor_score import single_meteor_score

    class NoWordNet:
        def synsets(self, word):
            return []

    result = meteor_exact_stem().score_batch(ROWS)
    expected = [
        single_meteor_score(sa.word_tokenize(t), sa.word_tokenize(p), wordnet=NoWordNet())
        for p, t in zip(PREDICTIONS, TARGETS)
    ]
    assert result.scores == pytest.approx(expected, abs=1e-12)
    assert result.scores[-1] == 0.0 and result.statuses[-1] == "ok"  # empty answer: 0, as FMEval
    assert 0.0 < min(result.scores[:-2])


def test_meteor_by_hand():
    m = meteor_exact_stem()
    one = lambda p, t: m.score_batch({"predictions": [p], "targets": [t]}).scores[0]  # noqa: E731
    # 3 exact matches, one chunk: Fmean 1, penalty 0.5 * (1/3)^3
    assert one("the cat sat", "the cat sat") == pytest.approx(1 - 0.5 / 27)
    # stems match (cats~cat, running~runs); 2 matches in 1 chunk: 1 - 0.5 * (1/2)^3
    assert one("cats running", "cat runs") == pytest.approx(1 - 0.5 / 8)
    # "sat cat" vs "cat sat": 2 chunks -> penalty 0.5 * 1^3; P = R = 1
    assert one("sat cat", "cat sat") == pytest.approx(0.5)


def test_meteor_naming_follows_wordnet(monkeypatch):
    monkeypatch.setattr(sa, "wordnet_available", lambda: False)
    assert meteor().name == "meteor_exact_stem"
    with pytest.raises(ValueError, match="WordNet data is not installed"):
        meteor(wordnet=True)
    monkeypatch.setattr(sa, "wordnet_available", lambda: True)
    assert meteor().name == "meteor" and meteor(wordnet=False).name == "meteor_exact_stem"
    assert meteor().metadata()["options"]["wordnet"] is True


def test_meteor_word_tokenize_matches_nltk_treebank():
    assert sa.word_tokenize("Hello, world. It's done!") == [
        "Hello",
        ",",
        "world",
        ".",
        "It",
        "'s",
        "done",
        "!",
    ]


def test_meteor_bad_rows():
    result = meteor_exact_stem().score_batch(
        {"predictions": [None, "a", 3, "a"], "targets": ["a", "", "a", float("nan")]}
    )
    assert all(math.isnan(s) for s in result.scores)
    assert result.statuses == ["missing", "empty", "not_text", "missing"]


@pytest.fixture(scope="module")
def encoder(tiny_encoder_dir):
    return str(tiny_encoder_dir)


def _bert_score_f1(model_dir, predictions, targets, num_layers):
    import bert_score

    bert_score.utils.model2layers.setdefault(model_dir, num_layers)
    _, _, f1 = bert_score.score(
        predictions, targets, model_type=model_dir, num_layers=num_layers, batch_size=1
    )  # one pair per batch, as FMEval calls it
    return f1.tolist()


def test_bertscore_equals_bert_score(encoder):
    pytest.importorskip("bert_score")  # a test dependency; the metric itself does not need it
    predictions, targets = PREDICTIONS[:-1], TARGETS[:-1]
    for layers in (1, 2):
        result = bertscore(model=encoder, num_layers=layers, device="cpu").score_batch(
            {"predictions": predictions, "targets": targets}
        )
        expected = _bert_score_f1(encoder, predictions, targets, layers)
        assert result.scores == pytest.approx(expected, abs=1e-5)
        assert set(result.statuses) == {"ok"}
    assert len(set(round(s, 6) for s in result.scores)) == len(predictions)


def test_bertscore_default_is_fmevals():
    metric = bertscore()
    assert metric.model_source == "microsoft/deberta-xlarge-mnli"
    assert metric.num_layers == FMEVAL_MODEL_LAYERS["microsoft/deberta-xlarge-mnli"] == 40
    assert metric.metadata()["options"]["num_layers"] == 40


def test_bertscore_identical_texts_and_empty_prediction(encoder):
    result = bertscore(model=encoder).score_batch(
        {"predictions": ["same words here", "", None], "targets": ["same words here", "x", "x"]}
    )
    assert result.scores[0] == pytest.approx(1.0, abs=1e-6)
    assert result.scores[1] == 0.0  # bert_score: no token besides CLS/SEP -> 0
    assert math.isnan(result.scores[2]) and result.statuses[2] == "missing"


def test_qa_bertscore_is_best_over_targets(encoder):
    pytest.importorskip("bert_score")
    prediction, pieces = "Paris is the capital", ["Berlin", "the capital is Paris", "nothing"]
    result = qa_bertscore(model=encoder).score_batch(
        {"predictions": [prediction], "targets": ["<OR>".join(pieces)]}
    )
    expected = _bert_score_f1(encoder, [prediction] * 3, pieces, 2)
    assert result.scores[0] == pytest.approx(max(expected), abs=1e-5)
    assert qa_bertscore(model=encoder).key == "qa_bertscore/v1"


def test_bertscore_truncation_status(encoder):
    long = " ".join(["word"] * 500)
    result = bertscore(model=encoder).score_batch({"predictions": [long], "targets": ["word"]})
    assert result.statuses == ["truncated"] and "maximum" in result.reasons[0]
    assert 0.0 < result.scores[0] <= 1.0


def test_bertscore_validates_at_construction(tmp_path):
    from mlflow_llm_eval.hf import ModelUnavailableError

    with pytest.raises(ModelUnavailableError):
        bertscore(model=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="num_layers"):
        bertscore(num_layers=0)
    with pytest.raises(ValueError, match="device"):
        bertscore(device="tpu")


def test_default_model_offline_leaves_rows_unavailable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = bertscore().score_batch({"predictions": ["a", None], "targets": ["a", "b"]})
    assert result.statuses == ["unavailable", "unavailable"]
    assert "microsoft/deberta-xlarge-mnli" in result.reasons[0]
