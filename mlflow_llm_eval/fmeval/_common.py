"""Pieces FMEval's algorithms share: QuAC/SQuAD normalisation and multiple targets.

FMEval (``fmeval.eval_algorithms.util.normalize_text_quac_protocol``) lower-cases, drops every
character of ``string.punctuation``, splits on single spaces and drops the articles a/an/the:

    >>> normalize_quac("The  Eiffel-Tower, in Paris!")
    'eiffeltower in paris'

Several acceptable answers sit in one target string separated by a delimiter (``<OR>``):

    >>> split_targets("UK<OR>England", "<OR>")
    ['UK', 'England']
    >>> split_targets("UK<OR>", "<OR>")
    ['UK']
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

from mlflow_llm_eval.core.text import check_text
from mlflow_llm_eval.core.types import RowScore

ARTICLES = frozenset({"a", "an", "the"})
PUNCTUATION = frozenset(string.punctuation)
DEFAULT_DELIMITER = "<OR>"


def normalize_quac(text: str) -> str:
    """FMEval's ``normalize_text_quac_protocol``: lower case, no punctuation, no articles."""
    text = "".join(ch for ch in text.lower() if ch not in PUNCTUATION)
    return " ".join(w for w in text.split(" ") if w and w not in ARTICLES)


def validate_delimiter(delimiter: str | None) -> str | None:
    """A non-empty string or ``None`` (one target per row), as FMEval's configs require."""
    if delimiter is None:
        return None
    if not isinstance(delimiter, str) or delimiter == "":
        raise ValueError(
            f"target_output_delimiter must be a non-empty string or None, got {delimiter!r}"
        )
    return delimiter


def split_targets(target: str, delimiter: str | None) -> list[str]:
    """The acceptable answers in ``target``; empty pieces (e.g. a trailing delimiter) are dropped.

    Differs from FMEval in two corner cases, on purpose: FMEval keeps empty pieces (an empty
    target is contained in every output, so ``"UK<OR>"`` marks every answer correct) and with
    ``delimiter=None`` calls ``str.split(None)``, which splits on whitespace; here ``None``
    means the whole string is one target.
    """
    pieces = [target] if delimiter is None else target.split(delimiter)
    return [p for p in pieces if p.strip()]


def score_against_targets(
    predictions: Sequence[Any],
    targets: Sequence[Any],
    delimiter: str | None,
    score_pair: Callable[[str, list[str]], RowScore],
) -> list[RowScore]:
    """Check each row's prediction and target, split the target, and score the valid rows.

    Predictions may be empty strings (an empty answer is a wrong answer); targets may not.
    ``score_pair(prediction, targets)`` gets the non-empty target pieces.
    """
    rows: list[RowScore] = []
    for prediction, target in zip(predictions, targets, strict=True):
        checked_prediction = check_text(prediction, column="predictions", allow_empty=True)
        if checked_prediction.unscored is not None:
            rows.append(checked_prediction.unscored)
            continue
        checked_target = check_text(target, column="targets")
        if checked_target.unscored is not None:
            rows.append(checked_target.unscored)
            continue
        assert checked_target.text is not None  # check_text gives the text or why not
        pieces = split_targets(checked_target.text, delimiter)
        if not pieces:
            rows.append(
                RowScore.unscored(
                    "empty", f"targets holds only empty answers between {delimiter!r} delimiters"
                )
            )
            continue
        assert checked_prediction.text is not None  # likewise
        rows.append(score_pair(checked_prediction.text, pieces))
    return rows


def label_text(value: Any) -> str | None:
    """A class label as FMEval compares it (``str(target)``); integral floats lose their ``.0``.

    pandas stores an integer column with a missing value as floats, so ``1.0`` means label ``1``.

        >>> label_text(1), label_text(1.0), label_text("pos"), label_text(True), label_text(None)
        ('1', '1', 'pos', 'True', None)
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real) and float(value) == float(value) and float(value).is_integer():
        return str(math.trunc(value))  # int() of a Real: its __trunc__
    return None
