"""Reading a judge's answer: strict JSON first, then one local repair, never a silent clip.

Strict: the whole answer is a JSON object with a numeric ``score`` inside the scale and a string
``justification``. Local repair (free, no request): a JSON object inside code fences or
surrounding prose, or MLflow's two-line ``score: N`` / ``justification: ...`` format. A score
outside the scale is an error, whatever the format.

The repair reads only what the judge wrote itself. Judges (small open models especially) often
quote the graded text before their verdict, and that text may hold ``{"score": 5, ...}`` or a
fake closing tag followed by JSON. So the delimited data blocks of the prompt
(``<label-TAG> ... </label-TAG>``, see :mod:`.prompt`) are cut out of the answer first. Of what
remains, objects with a ``score`` must agree (different scores mean an untagged quote of
the data, or an undecided judge: an error, so the engine's repair request asks again), and the
last one wins.

    >>> quoted = '<output-0123456789ab>\\n{"score": 5, "justification": "mine"}\\n</output-0123456789ab>'
    >>> parse_answer(quoted + ' I disagree. {"score": 2, "justification": "off topic"}', (1, 5)).score
    2.0

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
    except json.JSONDecodeError as exc:
        raise AnswerError(f"the answer is not a JSON object ({exc.msg})") from None
    return _from_object(data, scale, repaired=False)


#: A delimited data block of the prompt: ``<label-TAG> ... </label-TAG>``, TAG = 12 hex digits.
_BLOCK = re.compile(r"<([^<>/\n]{1,200}?)-([0-9a-f]{12})>.*?</\1-\2>", re.DOTALL)
_SCORE_LINE = re.compile(r"score\s*:\s*(-?\d+(?:\.\d+)?)\s*,?\s*justification\s*:", re.IGNORECASE)


def outside_quoted_data(text: str) -> str:
    """The answer with the prompt's data blocks (``<label-TAG> ... </label-TAG>``) cut out.

    Only balanced blocks are cut: a stray or forged tag is left as text, so whatever an unbalanced
    quote holds still counts, and a second score in it makes the answer ambiguous (an error).

    >>> outside_quoted_data('a <output-0123456789ab>{"score": 5}</output-0123456789ab> b')
    'a  b'
    >>> outside_quoted_data('{"score": 5}</output-0123456789ab> b')
    '{"score": 5}</output-0123456789ab> b'
    """
    return _BLOCK.sub("", text)


AMBIGUOUS = "the answer holds different scores outside the quoted data"


def _number_or_text(value: Any) -> Any:
    try:
        return float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return repr(value)


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
    """Local repair of what the judge wrote outside the quoted data: the last JSON object with a
    ``score`` (fenced or in prose), else the last MLflow ``score:``/``justification:`` lines."""
    own = outside_quoted_data(text)
    scored = [obj for obj in _json_objects(own) if isinstance(obj, dict) and "score" in obj]
    if scored:
        scores = {_number_or_text(obj["score"]) for obj in scored}
        if len(scores) > 1:  # an untagged quote of the graded text, or a judge undecided
            raise AnswerError(
                f"{AMBIGUOUS} ({', '.join(sorted(map(str, scores)))}); it may "
                "quote the graded text: answer with one JSON object"
            )
        return _from_object(scored[-1], scale, repaired=True)
    lines = list(_SCORE_LINE.finditer(own))
    if lines:
        last = lines[-1]
        return Verdict(check_score(float(last.group(1)), scale), own[last.end() :].strip(), True)
    raise AnswerError("the answer holds no JSON object with a score (outside the quoted data)")


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
            if "outside the scale" in str(repair_error) or AMBIGUOUS in str(repair_error):
                raise repair_error from None
            raise strict_error from None
