"""Answer parsing: strict JSON, one local repair, scale violations are errors (never clipped)."""

from __future__ import annotations

import pytest

from mlflow_llm_eval.judge.parse import AnswerError, parse_answer

SCALE = (1, 5)


@pytest.mark.parametrize(
    ("text", "score", "justification", "repaired"),
    [
        ('{"score": 4, "justification": "close"}', 4.0, "close", False),
        ('  {"justification": "x", "score": 1}\n', 1.0, "x", False),
        ('{"score": 2.5, "justification": "half"}', 2.5, "half", False),
        ('```json\n{"score": 3, "justification": "fenced"}\n```', 3.0, "fenced", True),
        ('Here you go: {"score": 5, "justification": "prose"} Thanks.', 5.0, "prose", True),
        ('{"score": "4", "justification": "string score"}', 4.0, "string score", True),
        ("score: 2\njustification: MLflow's line format", 2.0, "MLflow's line format", True),
    ],
)
def test_accepted_answers(text: str, score: float, justification: str, repaired: bool):
    verdict = parse_answer(text, SCALE)
    assert (verdict.score, verdict.justification, verdict.repaired) == (score, justification, repaired)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"score": 7, "justification": "x"}', "outside the scale 1 to 5"),
        ('{"score": 0, "justification": "x"}', "outside the scale 1 to 5"),
        ("score: 9\njustification: too high", "outside the scale 1 to 5"),
        ('{"score": true, "justification": "x"}', "not a number"),
        ('{"score": NaN, "justification": "x"}', "not finite"),
        ('{"score": 3}', "no string 'justification'"),
        ('{"justification": "no score"}', "has no 'score'"),
        ("[3, 4]", "not an object"),
        ("I cannot grade this.", "not a JSON object"),
        ("", "empty"),
        (None, "empty"),
    ],
)
def test_rejected_answers(text: str | None, reason: str):
    with pytest.raises(AnswerError, match=reason):
        parse_answer(text, SCALE)
