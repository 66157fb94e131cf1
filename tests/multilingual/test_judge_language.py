"""Judges in other languages: the prompt carries the text intact and asks for a justification in
the output's language; the budget and the request-size estimate are script-aware."""

from __future__ import annotations

import pytest

from multilingual.corpus import CORPUS
from mlflow_llm_eval.chat.send import _chars
from mlflow_llm_eval.judge.metric import DEFAULT_PARAMETERS, NON_ENGLISH_MAX_TOKENS
from mlflow_llm_eval.judge.make import make_genai_metric

RUBRIC = "- Score 1: wrong\n- Score 5: right"


def _judge(**options):
    return make_genai_metric(
        name="correct",
        definition="Is the answer right?",
        grading_prompt=RUBRIC,
        model="openai:/gpt-4o-mini",
        cache=False,
        progress=False,
        **options,
    )


@pytest.mark.parametrize("language,name", [("ko", "Korean"), ("ja", "Japanese"), ("zh", "Chinese")])
def test_cjk_text_reaches_the_judge_intact(judge_env, language: str, name: str) -> None:
    output, question = CORPUS[language][1]
    judge = _judge()
    result = judge.score_batch({"predictions": [output], "inputs": [question]})
    assert result.statuses == ["ok"]
    (request,) = judge_env.requests
    user = request.body["messages"][-1]["content"]
    assert output in user and question in user  # the exact text, not escaped or normalised
    assert f"Write the justification in {name}." in user
    assert request.body["max_tokens"] == NON_ENGLISH_MAX_TOKENS  # room for a CJK justification
    assert request.body["messages"] == judge.render(output, question)


def test_english_prompts_and_budget_are_unchanged(judge_env) -> None:
    judge = _judge()
    judge.score_batch({"predictions": ["Paris is the capital."], "inputs": ["Capital of France?"]})
    (request,) = judge_env.requests
    assert "justification in" not in request.body["messages"][-1]["content"]
    assert request.body["max_tokens"] == DEFAULT_PARAMETERS["max_tokens"]


def test_justification_language_option(judge_env) -> None:
    judge = _judge(justification_language="en-US")  # English: no sentence added
    assert "justification in" not in judge.render(CORPUS["ko"][0], "q")[-1]["content"]
    judge = _judge(justification_language="ja", parameters={"temperature": 0.0, "max_tokens": 50})
    judge.score_batch({"predictions": ["Paris"], "inputs": ["Capital of France?"]})
    (request,) = judge_env.requests
    assert "Write the justification in Japanese." in request.body["messages"][-1]["content"]
    assert request.body["max_tokens"] == 50  # the user's own budget is kept
    assert (
        "justification in"
        not in _judge(justification_language=None).render(CORPUS["zh"][0], "q")[-1]["content"]
    )


def test_request_size_estimate_is_script_aware() -> None:
    english, chinese = "a" * 40, "我" * 40
    assert _chars([{"role": "user", "content": english}]) == 40
    assert _chars([{"role": "user", "content": chinese}]) == 160  # ~40 tokens at 1/4 per char
    assert _chars([{"role": "user", "content": "Straße"}]) == 6
