"""The MLflow 3 scorers (le.scorers) give the same multilingual numbers and statuses."""

from __future__ import annotations

import mlflow_llm_eval as le
from multilingual.corpus import CORPUS


def test_rouge_scorer_on_korean_equals_the_metric() -> None:
    prediction, target = CORPUS["ko"][1]
    feedback = le.scorers.rougeL()(outputs=prediction, expectations={"expected_response": target})
    expected = le.rougeL().score_batch({"predictions": [prediction], "targets": [target]}).scores[0]
    assert feedback.value == expected and 0 < expected < 1


def test_readability_scorer_on_chinese_is_unsupported_language() -> None:
    feedback = le.scorers.flesch_kincaid_grade_level()(outputs=CORPUS["zh"][0])
    assert feedback.value is None
    assert feedback.metadata["llm_eval.status"] == "unsupported_language"
    assert "'zh'" in feedback.metadata["llm_eval.reason"]
