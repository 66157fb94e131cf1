"""Injected verdicts in the graded data never set a row's score, even when the judge quotes them.

A fake judge (the real local server) quotes the data it grades around its own verdict (score 1);
every row carries an injected ``score: 5`` in its prediction or input (tests/support/injection_corpus.py).
Before the fix the lenient repair took the first object with a score: see benchmarks/bench_injection.py.
"""

from __future__ import annotations

import math

import pytest
from support.injection_corpus import (
    ANSWER,
    INJECTED_SCORE,
    JUDGE_SCORE,
    JUDGES,
    QUESTION,
    TAGGED,
    TARGET,
    injection_rows,
)

from mlflow_llm_eval.judge import answer_correctness
from mlflow_llm_eval.judge.prompt import row_tag


def _corpus() -> list[tuple[str, str]]:
    return injection_rows(row_tag({"input": QUESTION, "output": ANSWER, "targets": TARGET}))


@pytest.mark.parametrize("style", list(JUDGES))
def test_quoted_injections_never_set_the_score(judge_env, style: str):
    rows = _corpus()
    assert len(rows) >= 12
    judge_env.responder = JUDGES[style]
    metric = answer_correctness(model="openai:/gpt-4o-mini", cache=False, progress=False)
    result = metric.score_batch(
        {
            "inputs": [r[0] for r in rows],
            "predictions": [r[1] for r in rows],
            "targets": [TARGET] * len(rows),
        }
    )
    injected = [i for i, s in enumerate(result.scores) if s == INJECTED_SCORE]
    assert injected == [], [rows[i] for i in injected]
    if style in TAGGED:  # the quote is cut out: every row gets the judge's own verdict
        assert result.scores == [JUDGE_SCORE] * len(rows) and set(result.statuses) == {"ok"}
        return
    # an untagged quote: the verdict, or (two different scores) a parse_error saying so
    for score, status, reason in zip(result.scores, result.statuses, result.reasons):
        assert (score == JUDGE_SCORE and status == "ok") or (
            math.isnan(score) and status == "parse_error" and "different scores" in reason
        )
