"""Two tiny question-answering "models" that run anywhere (no weights, no network).

Each is a plain function with MLflow's callable-model contract: it receives the inputs
DataFrame (here the ``question`` and ``context`` columns) and returns one answer per row.

    >>> import pandas as pd
    >>> rows = pd.DataFrame({"question": ["What is the capital of Canada?"],
    ...                      "context": ["Canada is large. The capital of Canada is Ottawa."]})
    >>> best_sentence(rows), first_sentence(rows)
    (['The capital of Canada is Ottawa.'], ['Canada is large.'])
"""

from __future__ import annotations

import re

import pandas as pd

_STOPWORDS = frozenset(
    "a an and are as at be by did do does for from has have how in is it its of on or the "
    "to was what when where which who whom why with".split()
)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", str(text)) if s.strip()]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", str(text).lower()) if w not in _STOPWORDS}


def best_sentence(inputs: pd.DataFrame) -> list[str]:
    """Extractive baseline: the context sentence sharing the most words with the question."""
    answers = []
    for question, context in zip(inputs["question"], inputs["context"]):
        wanted = _words(question)
        sentences = _sentences(context) or [""]
        answers.append(max(sentences, key=lambda s: len(wanted & _words(s))))
    return answers


def first_sentence(inputs: pd.DataFrame) -> list[str]:
    """Lead baseline: the first sentence of the context, whatever the question."""
    return [(_sentences(context) or [""])[0] for context in inputs["context"]]
