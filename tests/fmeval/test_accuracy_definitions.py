"""Hand-computable cases for factual knowledge, QA accuracy and classification accuracy."""

from __future__ import annotations

import math

import pytest

from mlflow_llm_eval.core.engine import score_frame
from mlflow_llm_eval.fmeval._common import normalize_quac, split_targets
from mlflow_llm_eval.fmeval.classification_accuracy import (
    classification_accuracy,
    convert_model_output_to_label,
)
from mlflow_llm_eval.fmeval.factual_knowledge import (
    factual_knowledge,
    factual_knowledge_quasi_exact,
)
from mlflow_llm_eval.fmeval.qa_accuracy import (
    qa_exact_match,
    qa_f1,
    qa_precision_over_words,
    qa_quasi_exact_match,
    qa_recall_over_words,
)

BAD_VALUES = [
    (None, "missing"),
    (float("nan"), "missing"),
    ({"a": 1}, "not_text"),
    (["x"], "not_text"),
    ("\ud800", "invalid_unicode"),
]


def score(metric, prediction, target):
    return metric.score_batch({"predictions": [prediction], "targets": [target]}).row(0)


def test_quac_normalisation():
    assert normalize_quac("The cat's   hat, an APPLE!") == "cats hat apple"
    assert normalize_quac("a an the") == ""
    assert normalize_quac("tab\tkept") == "tab\tkept"  # FMEval splits on single spaces only


def test_targets_split_and_empty_pieces_dropped():
    assert split_targets("a<OR>b<OR>c", "<OR>") == ["a", "b", "c"]
    assert split_targets("a<OR> <OR>", "<OR>") == ["a"]
    assert split_targets("a b", None) == ["a b"]


@pytest.mark.parametrize(
    ("prediction", "target", "exact", "quasi"),
    [
        ("Germany is the answer", "germany", 1.0, 1.0),
        ("The U.S.A.", "usa", 0.0, 1.0),
        ("France", "Germany<OR>Berlin", 0.0, 0.0),
        ("I live in Berlin", "Germany<OR>Berlin", 1.0, 1.0),
        ("", "Berlin", 0.0, 0.0),
    ],
)
def test_factual_knowledge_cases(prediction, target, exact, quasi):
    assert score(factual_knowledge(), prediction, target).value == exact
    assert score(factual_knowledge_quasi_exact(), prediction, target).value == quasi


def test_factual_knowledge_and_needs_every_target():
    m = factual_knowledge(target_output_delimiter="<AND>", logical_operator="AND")
    assert score(m, "red, yellow and blue", "red<AND>yellow<AND>blue").value == 1.0
    assert score(m, "red and blue", "red<AND>yellow<AND>blue").value == 0.0


def test_qa_scores_by_hand():
    # output words {tall, iron, tower}, target words {iron, tower, paris} after normalisation
    p, t = "The tall iron tower.", "iron tower, Paris"
    assert score(qa_precision_over_words(), p, t).value == pytest.approx(2 / 3)
    assert score(qa_recall_over_words(), p, t).value == pytest.approx(2 / 3)
    assert score(qa_f1(), p, t).value == pytest.approx(2 / 3)
    assert score(qa_f1(), "iron", "iron tower").value == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert score(qa_exact_match(), " Paris\n", "Paris").value == 1.0
    assert score(qa_exact_match(), "paris", "Paris").value == 0.0
    assert score(qa_quasi_exact_match(), "paris!", "The Paris").value == 1.0
    # best over targets
    assert score(qa_f1(), "iron", "gold<OR>iron").value == 1.0
    # an answer of only articles/punctuation has no words: 0, not an error
    assert score(qa_precision_over_words(), "the.", "iron").value == 0.0
    assert score(qa_f1(), "", "iron").value == 0.0


@pytest.mark.parametrize(
    "factory",
    [
        factual_knowledge,
        factual_knowledge_quasi_exact,
        qa_exact_match,
        qa_quasi_exact_match,
        qa_f1,
        qa_precision_over_words,
        qa_recall_over_words,
    ],
)
def test_bad_rows_are_nan_with_status(factory):
    metric = factory()
    for value, status in BAD_VALUES:
        for row in (
            {"predictions": [value], "targets": ["x"]},
            {"predictions": ["x"], "targets": [value]},
        ):
            result = metric.score_batch(row)
            assert math.isnan(result.scores[0]) and result.statuses[0] == status, (value, row)
            assert result.reasons[0]
    empty_target = score(metric, "x", "  ")
    assert empty_target.status == "empty" and math.isnan(empty_target.value)
    only_delimiters = score(metric, "x", "<OR><OR>")
    assert only_delimiters.status == "empty"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"target_output_delimiter": ""}, "non-empty"),
        ({"logical_operator": "XOR"}, "logical_operator"),
    ],
)
def test_factual_knowledge_validates_options(options, message):
    with pytest.raises(ValueError, match=message):
        factual_knowledge(**options)


def test_qa_rejects_empty_delimiter():
    with pytest.raises(ValueError, match="non-empty"):
        qa_f1(target_output_delimiter="")


def test_names_do_not_clash_with_mlflow_exact_match():
    keys = {
        m().key
        for m in (
            qa_exact_match,
            qa_quasi_exact_match,
            qa_f1,
            qa_precision_over_words,
            qa_recall_over_words,
            factual_knowledge,
            factual_knowledge_quasi_exact,
        )
    }
    assert "exact_match/v1" not in keys and len(keys) == 7


def test_converter_is_fmevals():
    labels = ["Positive", "negative"]
    assert convert_model_output_to_label("It is POSITIVE overall", labels) == "positive"
    assert convert_model_output_to_label("positive, clearly", labels) == "unknown"  # comma kept
    assert convert_model_output_to_label("negative positive", labels) == "negative"  # first wins
    assert convert_model_output_to_label("", labels) == "unknown"


def test_classification_by_hand():
    rows = {
        "predictions": ["yes", "no", "yes", "maybe", "no"],
        "targets": ["yes", "yes", "yes", "no", "no"],
    }
    result = classification_accuracy().score_batch(rows)  # labels = the targets {no, yes}
    assert result.scores == [1.0, 0.0, 1.0, 0.0, 1.0]
    # recall: yes 2/3, no 1/2 -> balanced 7/12; micro precision = recall = accuracy 3/5
    assert result.extra_aggregates["balanced_accuracy"] == pytest.approx(7 / 12)
    assert result.extra_aggregates["precision"] == pytest.approx(3 / 5)
    assert result.extra_aggregates["recall"] == pytest.approx(3 / 5)
    macro = classification_accuracy(multiclass_average_strategy="macro").score_batch(rows)
    # predicted classes: yes (2 of 2 right), no (1 of 2 right), unknown (0 of 1) -> macro P = 1/2
    assert macro.extra_aggregates["precision"] == pytest.approx((1 + 0.5 + 0) / 3)
    binary = classification_accuracy(
        multiclass_average_strategy="binary", pos_label="yes", valid_labels=["yes", "no"]
    ).score_batch(rows)
    assert binary.extra_aggregates["precision"] == 1.0
    assert binary.extra_aggregates["recall"] == pytest.approx(2 / 3)


def test_classification_targets_case_and_numbers():
    rows = {"predictions": ["Positive", "label 1", "1"], "targets": ["Positive", 1, 1.0]}
    result = classification_accuracy().score_batch(rows)
    # FMEval lower-cases the extracted label but not the target: "positive" != "Positive"
    assert result.scores == [0.0, 1.0, 1.0]
    assert classification_accuracy(ignore_target_case=True).score_batch(rows).scores[0] == 1.0


def test_classification_bad_rows_and_aggregates_skip_them():
    rows = {
        "predictions": ["yes", None, "no", "yes"],
        "targets": ["yes", "yes", float("nan"), {"x": 1}],
    }
    result = classification_accuracy().score_batch(rows)
    assert result.scores[0] == 1.0 and all(math.isnan(s) for s in result.scores[1:])
    assert result.statuses == ["ok", "missing", "missing", "not_text"]
    assert result.extra_aggregates["balanced_accuracy"] == 1.0


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"multiclass_average_strategy": "samples"}, ValueError),
        ({"multiclass_average_strategy": "binary"}, ValueError),
        ({"valid_labels": []}, ValueError),
        ({"valid_labels": [{"a": 1}]}, ValueError),
        ({"converter_fn": "first"}, TypeError),
    ],
)
def test_classification_validates_options(options, error):
    with pytest.raises(error):
        classification_accuracy(**options)


def test_dataset_level_scores_become_run_metrics():
    import pandas as pd

    frame = pd.DataFrame({"predictions": ["yes", "no", "no"], "targets": ["yes", "yes", "no"]})
    out = score_frame(frame, [classification_accuracy(), qa_f1()])
    assert out.aggregates["classification_accuracy/v1/mean"] == pytest.approx(2 / 3)
    assert out.aggregates["classification_accuracy/v1/balanced_accuracy"] == pytest.approx(0.75)
    assert out.aggregates["classification_accuracy/v1/count"] == 3
    assert "classification_accuracy/v1/mean_ci_low" in out.aggregates
    assert (
        out.table["classification_accuracy/v1/justification"][1]
        == "predicted label 'no' (target 'yes')"
    )
