"""Per-row checks of text cells: one place decides what a text metric can score.

>>> check_text("hello").text
'hello'
>>> check_text(None).unscored.status
'missing'
>>> check_text({"a": 1}).unscored.status
'not_text'
>>> check_text("\\ud800").unscored.status
'invalid_unicode'
>>> encodable_text("a\\ud800b")
'a\\\\ud800b'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.types import MetricResult, RowScore

#: Default ceiling on text length for metrics that do not truncate themselves (characters).
DEFAULT_MAX_CHARS = 1_000_000


@dataclass(frozen=True)
class CheckedText:
    """Either usable text or the reason it cannot be scored."""

    text: str | None
    unscored: RowScore | None = None


def encodable_text(text: str) -> str:
    """``text`` as UTF-8 can encode it (what Arrow and JSON writers need): lone surrogates
    become backslash escapes, everything else is kept as given."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def is_missing(value: Any) -> bool:
    """None, float NaN, pandas NA/NaT."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return value is pd.NA or value is pd.NaT


def check_text(
    value: Any,
    *,
    column: str = "predictions",
    allow_empty: bool = False,
    max_chars: int | None = DEFAULT_MAX_CHARS,
) -> CheckedText:
    """Validate one cell: a ``str`` that encodes as UTF-8, non-empty unless allowed, not too long."""
    if type(value) is not str and is_missing(value):
        return CheckedText(None, RowScore.unscored("missing", f"{column} is missing (None/NaN)"))
    if not isinstance(value, str):
        kind = type(value).__name__
        return CheckedText(
            None, RowScore.unscored("not_text", f"{column} is a {kind}, not a string")
        )
    if not allow_empty and not value.strip():
        return CheckedText(None, RowScore.unscored("empty", f"{column} is an empty string"))
    if max_chars is not None and len(value) > max_chars:
        return CheckedText(
            None,
            RowScore.unscored(
                "too_long", f"{column} has {len(value)} characters, above max_chars={max_chars}"
            ),
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return CheckedText(
            None,
            RowScore.unscored(
                "invalid_unicode", f"{column} holds an un-encodable code point at {exc.start}"
            ),
        )
    return CheckedText(value)


def score_text_rows(
    columns: Sequence[tuple[str, Sequence[Any]]],
    score_valid: Callable[[list[tuple[str, ...]]], list[RowScore]],
    *,
    allow_empty: bool = False,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    extras: Sequence[Any] | None = None,
) -> MetricResult:
    """Check every text cell of the given columns, score the valid rows in one batch call.

    ``columns`` is ``[(logical_name, values), ...]``; ``score_valid`` receives the valid rows as
    tuples of strings (same column order; with ``extras``, the row's ``extras[i]`` appended, e.g.
    its language) and returns one :class:`RowScore` per valid row. Rows
    with a bad cell get NaN with the first bad cell's status and reason; order is preserved.

        >>> r = score_text_rows([("predictions", ["a", None, "bbb"])],
        ...                     lambda rows: [RowScore.ok(len(t)) for (t,) in rows])
        >>> r.scores[0], r.statuses[1], r.scores[2]
        (1.0, 'missing', 3.0)
    """
    n = len(columns[0][1]) if columns else 0
    results: list[RowScore | None] = [None] * n
    valid_index: list[int] = []
    valid_rows: list[tuple[str, ...]] = []
    for i in range(n):
        texts: list[str] = []
        for name, values in columns:
            checked = check_text(
                values[i], column=name, allow_empty=allow_empty, max_chars=max_chars
            )
            if checked.unscored is not None:
                results[i] = checked.unscored
                break
            texts.append(checked.text or "")  # not unscored: the checked text
        else:
            valid_index.append(i)
            valid_rows.append(tuple(texts) if extras is None else (*texts, extras[i]))
    if valid_rows:
        scored = score_valid(valid_rows)
        if len(scored) != len(valid_rows):
            raise RuntimeError(f"scorer returned {len(scored)} results for {len(valid_rows)} rows")
        for i, row in zip(valid_index, scored):
            results[i] = row
    return MetricResult.from_rows([r for r in results if r is not None])
