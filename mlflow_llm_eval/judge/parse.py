"""Reading a judge's answer: strict JSON first, then one local repair, never a silent clip.

Strict: the whole answer is a JSON object with a numeric ``score`` inside the scale and a string
``justification``. Local repair (free, no request): a JSON object inside code fences or
surrounding prose, or MLflow's two-line ``score: N`` / ``justification: ...`` format. A score
outside the scale is an error, whatever the format.

    >>> parse_answer('{"score": 4, "justification": "close"}', (1, 5))
    Verdict(score=4.0, justification='close', repaired=False)
    >>> parse_answer('Sure! ```json\\n{"score": 2, "justification": "far"}\\n```', (1, 5)).repaired
    True
    >>> parse_answer('{"score": 7, "justification": "x"}', (1, 5))
    Traceback (most recent call last):
    ...
    mlflow_llm_eval.judge.parse.AnswerError: score 7 is outside the scale 1 to 5
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any


class AnswerError(ValueError):
    """The answer cannot be used; the message says why."""


@dataclass(frozen=True)
class Verdict:
    score: float
    justification: str
    repaired: bool = False


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def check_score(value: Any, scale: tuple[float, float]) -> float:
    """A finite number inside the scale, or :class:`AnswerError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AnswerError(f"score {value!r} is not a number")
    score = float(value)
    if not math.isfinite(score):
        raise AnswerError(f"score {value!r} is not finite")
    low, high = scale
    if not low <= score <= high:
        raise AnswerError(f"score {_fmt(score)} is outside the scale {_fmt(low)} to {_fmt(high)}")
    return score


def _from_object(data: Any, scale: tuple[float, float], repaired: bool) -> Verdict:
    if not isinstance(data, dict):
        raise AnswerError(f"the answer is JSON but not an object ({type(data).__name__})")
    if "score" not in data:
        raise AnswerError("the JSON object has no 'score'")
    score = data["score"]
    if repaired and isinstance(score, str):
        try:
            score = float(score.strip())
        except ValueError:
            pass
    justification = data.get("justification")
    if not isinstance(justification, str):
        raise AnswerError("the JSON object has no string 'justification'")
    return Verdict(check_score(score, scale), justification, repaired)


def parse_strict(text: str, scale: tuple[float, float]) -> Verdict:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise AnswerError(f"the answer is not a JSON object ({exc.msg})") from None
    return _from_object(data, scale, repaired=False)


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_LINES = re.compile(r"score\s*:\s*(-?\d+(?:\.\d+)?)\s*,?\s*justification\s*:\s*(.+)",
                    re.DOTALL | re.IGNORECASE)


def _json_objects(text: str) -> list[Any]:
    decoder, found, start = json.JSONDecoder(), [], text.find("{")
    while start != -1:
        try:
            obj, end = decoder.raw_decode(text, start)
            found.append(obj)
            start = text.find("{", end)
        except ValueError:
            start = text.find("{", start + 1)
    return found


def parse_repaired(text: str, scale: tuple[float, float]) -> Verdict:
    """Local repair: fenced or embedded JSON object, or MLflow's ``score:``/``justification:`` lines."""
    candidates = [m.strip() for m in _FENCE.findall(text)] + [text]
    for candidate in candidates:
        for obj in _json_objects(candidate):
            if isinstance(obj, dict) and "score" in obj:
                return _from_object(obj, scale, repaired=True)
    match = _LINES.search(text)
    if match:
        return Verdict(check_score(float(match.group(1)), scale), match.group(2).strip(), True)
    raise AnswerError("the answer holds no JSON object with a score")


def parse_answer(text: str | None, scale: tuple[float, float]) -> Verdict:
    """Strict parse, then one local repair; :class:`AnswerError` (with the first reason) if both fail."""
    if text is None or not text.strip():
        raise AnswerError("the answer is empty")
    try:
        return parse_strict(text.strip(), scale)
    except AnswerError as strict_error:
        try:
            return parse_repaired(text, scale)
        except AnswerError as repair_error:
            if "outside the scale" in str(repair_error):
                raise repair_error from None
            raise strict_error from None
