"""Scripted pairwise judges for the fake OpenAI server (``FakeOpenAI(responder=...)``).

Each reads the two answers from the tagged blocks of the request (``<answer_a-TAG>`` and
``<answer_b-TAG>``, as :class:`mlflow_llm_eval.judge.pairwise.PairwiseJudge` renders them) and
answers the JSON object the judge asks for: score 1 (Answer A better), 2 (equal), 3 (Answer B).

- :func:`prefer_first`: position-biased, always Answer A, whatever the answers;
- :func:`by_quality`: a fair judge, prefers the answer with the higher ``quality(text)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

_BLOCK = re.compile(r"<(answer_[ab])-([0-9a-f]{12})>\n(.*?)\n</\1-\2>", re.DOTALL)


def answers(prompt: str) -> tuple[str, str]:
    """(Answer A, Answer B) of a pairwise request's text (the last blocks found)."""
    found = {label: text for label, _, text in _BLOCK.findall(prompt)}
    return found["answer_a"], found["answer_b"]


def verdict(score: int, why: str) -> str:
    return json.dumps({"justification": why, "score": score})


def prefer_first(prompt: str) -> str:
    """A judge with pure position bias: Answer A is always better."""
    answers(prompt)  # fails loudly if the request is not a pairwise one
    return verdict(1, "Answer A is better.")


def by_quality(quality: Callable[[str], float]) -> Callable[[str], str]:
    """A position-fair judge: the answer with the higher ``quality`` wins; equal is a tie."""

    def respond(prompt: str) -> str:
        a, b = answers(prompt)
        qa, qb = quality(a), quality(b)
        if qa == qb:
            return verdict(2, "Both answers are equally good.")
        return verdict(1, "Answer A is better.") if qa > qb else verdict(3, "Answer B is better.")

    return respond
